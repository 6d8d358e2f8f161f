{#- How far an event date can be trusted, as a small enum kept on the row (never a gate: odd input is data).
      missing        no date was given (no text)
      unparseable    text was given but does not parse (the text is kept beside it, e.g. searched_at_text)
      before_1971    parsed, but earlier than 1971-01-01 UTC (epoch-0 and two-digit-year accidents)
      after_release  parsed, but later than the release date anywhere on Earth: after released_on + 1 day
                     12:00 UTC (a release date is a local date of unknown zone)
      ok             otherwise
    ts_expr: the parsed timestamptz; text_expr: the value as written (pass none when the source has no text,
    then a null timestamp is 'missing'); released_on_expr: the date of the release the row belongs to. -#}
{% macro date_quality(ts_expr, text_expr, released_on_expr) -%}
    case
        {%- if text_expr is not none %}
        when {{ ts_expr }} is null and nullif(trim({{ text_expr }}), '') is not null then 'unparseable'
        {%- endif %}
        when {{ ts_expr }} is null then 'missing'
        when {{ ts_expr }} < timestamptz '1971-01-01 00:00:00+00' then 'before_1971'
        when {{ ts_expr }} >= timezone('UTC', cast({{ released_on_expr }} as timestamp) + interval 36 hours) then 'after_release'
        else 'ok'
    end
{%- endmacro %}

{#- The values date_quality can take, for accepted_values tests and docs. -#}
{% macro date_quality_values() -%}
    {{ return(['ok', 'missing', 'unparseable', 'before_1971', 'after_release']) }}
{%- endmacro %}
