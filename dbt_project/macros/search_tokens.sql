{#- The search tokenizer, the one definition of what a searchable term is: the text lower-cased, accents
    removed (strip_accents: 'Café' and 'cafe' match), then every run of Unicode letters and digits. So an
    e-mail address or a domain is its parts in a row ('jane.doe@nypd.example' -> jane doe nypd example),
    and searching for it is a phrase search over those parts. The search models call it, and publish
    stores it in the analyst file as the DuckDB macro search_tokens(text) (the text of
    search_settings.tokenizer_sql), which `foil search` and plain SQL use to tokenize a query. -#}
{% macro search_tokens(text) -%}
    regexp_extract_all(strip_accents(lower({{ text }})), '{{ search_token_pattern() }}')
{%- endmacro %}

{#- One term (RE2): letters, combining marks, digits. -#}
{% macro search_token_pattern() -%}
    [\p{L}\p{M}\p{N}]+
{%- endmacro %}
