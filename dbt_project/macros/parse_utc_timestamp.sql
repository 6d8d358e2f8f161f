{#- ISO 8601 text -> timestamptz. Text without a zone means UTC (docs/releases.md); casting such text
    straight to timestamptz would use the session time zone instead. -#}
{% macro parse_utc_timestamp(text_expr) -%}
    case
        when regexp_matches(trim({{ text_expr }}), '(z|[+-][0-9]{2}(:?[0-9]{2})?)$', 'i')
            then try_cast(trim({{ text_expr }}) as timestamptz)
        else timezone('UTC', try_cast(trim({{ text_expr }}) as timestamp))
    end
{%- endmacro %}
