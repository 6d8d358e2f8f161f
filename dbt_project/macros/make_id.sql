{#- Deterministic surrogate key: '<prefix>_' + first 16 hex chars of sha256 over the '|'-joined parts.
    Nulls become a marker so that null and '' do not collide. -#}
{% macro make_id(prefix, parts) -%}
    ('{{ prefix }}_' || left(sha256(concat_ws('|', {%- for p in parts %} coalesce(cast({{ p }} as varchar), '<null>'){% if not loop.last %},{% endif %}{% endfor %})), 16))
{%- endmacro %}
