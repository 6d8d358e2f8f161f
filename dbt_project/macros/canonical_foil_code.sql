{#- Canonical NY POL §87(2) code from free mark text: '[REDACTED §87 (2)(e)(iv)]' -> '87(2)(e)(iv)'.
    Null when the mark carries no recognisable citation. -#}
{% macro canonical_foil_code(text_expr) -%}
    case
        when regexp_matches({{ text_expr }}, '87\s*\(\s*2\s*\)\s*\(\s*[a-j]\s*\)', 'i')
            then '87(2)(' || lower(regexp_extract({{ text_expr }}, '87\s*\(\s*2\s*\)\s*\(\s*([a-j])\s*\)', 1, 'i')) || ')'
                || coalesce(
                    '(' || nullif(lower(regexp_extract({{ text_expr }}, '87\s*\(\s*2\s*\)\s*\(\s*e\s*\)\s*\(\s*(iv|iii|ii|i)\s*\)', 1, 'i')), '') || ')',
                    ''
                )
    end
{%- endmacro %}
