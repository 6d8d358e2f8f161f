{#- Normalized written form of one exemption code, looked up in redaction_codes.forms:
    lower-case, everything but letters and digits removed. '(b) (7)(C)' -> 'b7c', '§87 (2)(e)(iv)' -> '872eiv',
    'Be' -> 'be' (a State Department stamp's OCR of B6). -#}
{% macro redaction_form_key(text_expr) -%}
    lower(regexp_replace({{ text_expr }}, '[^0-9A-Za-z]', '', 'g'))
{%- endmacro %}
