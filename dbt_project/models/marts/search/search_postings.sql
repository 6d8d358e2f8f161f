{#- The inverted index: one row per (term, unit) with how often and where (1-based term positions, for
    phrase search) the term occurs, and the unit's length (BM25 normalises by it; kept here so that
    scoring reads one table). Publish writes it sorted by term (pipelines/lib/search.py TABLE_ORDER), so
    that DuckDB's zone maps skip every row group that cannot hold the query's terms; it is not sorted
    here too (a second sort of every posting). A message unit's postings are its current appearance's,
    tokenized once when its release was read (int_message_terms); the other units are tokenized here. -#}
with

units as (

    select unit_id, kind, source_id, text from {{ ref('search_units') }}

),

current_appearances as (

    select message_id, current_event_id from {{ ref('int_messages_resolved') }}

),

message_postings as (

    select
        terms.term,
        units.unit_id,
        terms.term_frequency,
        terms.unit_length,
        terms.positions,
    from units
    inner join current_appearances
        on current_appearances.message_id = units.source_id
    inner join {{ ref('int_message_terms') }} as terms
        on terms.event_id = current_appearances.current_event_id
    where units.kind = 'message'

),

tokenized as (

    select
        unit_id,
        {{ search_tokens('text') }} as tokens,
    from units
    where kind <> 'message'

),

other_postings as (

    {{ term_postings('tokenized', 'unit_id') }}

),

final as (

    select * from message_postings
    union all
    select * from other_postings

)

select * from final
