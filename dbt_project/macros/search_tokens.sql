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

{#- The postings of tokenized units: one row per (term, unit) with the term's frequency and its 1-based
    positions (phrase search), and the unit's length in terms (BM25 normalises by it). `tokenized` is a
    relation with the unit key and `tokens` (a list from search_tokens). -#}
{% macro term_postings(tokenized, unit_key) -%}
    select
        term,
        {{ unit_key }},
        cast(count(*) as integer) as term_frequency,
        cast(any_value(unit_length) as integer) as unit_length,
        -- sorting each small list is cheaper than an ordered aggregate over all tokens
        list_sort(list(cast(position as integer))) as positions,
    from (
        select
            {{ unit_key }},
            len(tokens) as unit_length,
            unnest(tokens) as term,
            unnest(generate_series(1, len(tokens))) as position,
        from {{ tokenized }}
    ) as tokens
    group by {{ unit_key }}, term
{%- endmacro %}
