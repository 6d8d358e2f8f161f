{#- The inverted index: one row per (term, unit) with how often and where (1-based term positions, for
    phrase search) the term occurs, and the unit's length (BM25 normalises by it; kept here so that
    scoring reads one table). Sorted by term so that DuckDB's zone maps skip every row group that cannot
    hold the query's terms. -#}
with

units as (

    select unit_id, text from {{ ref('search_units') }}

),

tokenized as (

    select
        unit_id,
        {{ search_tokens('text') }} as tokens,
    from units

),

tokens as (

    select
        unit_id,
        len(tokens) as unit_length,
        unnest(tokens) as term,
        unnest(generate_series(1, len(tokens))) as position,
    from tokenized

),

final as (

    select
        term,
        unit_id,
        cast(count(*) as integer) as term_frequency,
        cast(any_value(unit_length) as integer) as unit_length,
        -- sorting each small list is cheaper than an ordered aggregate over all tokens
        list_sort(list(cast(position as integer))) as positions,
    from tokens
    group by term, unit_id

)

select * from final
order by term, unit_id
