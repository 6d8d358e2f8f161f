{#- One row: how the index was built and how to score against it. tokenizer_sql is the search tokenizer
    (macro search_tokens) as a SQL expression over `text`; publish turns it into the DuckDB macro
    search_tokens(text) in the analyst file, so a query is split into terms exactly as the texts were. -#}
with

units as (

    select count(*) as unit_count, avg(unit_length) as average_length from {{ ref('search_documents') }}

),

final as (

    select
        cast({{ var('search_bm25_k1', 1.2) }} as double) as k1,
        cast({{ var('search_bm25_b', 0.75) }} as double) as b,
        units.unit_count,
        coalesce(units.average_length, 0) as average_length,
        '{{ search_tokens('text') | replace("'", "''") }}' as tokenizer_sql,
        '{{ search_token_pattern() | replace("'", "''") }}' as token_pattern,
    from units

)

select * from final
