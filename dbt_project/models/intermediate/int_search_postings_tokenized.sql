{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_gone_fingerprints('int_search_units_numbered', 'unit_fingerprint') }}",
) }}
{#- The inverted index (search_postings shows it without the fingerprint): one row per (term, unit) with
    how often and where (1-based term positions, for phrase search) the term occurs, and the unit's length
    (BM25 normalises by it; kept here so that scoring reads one table). A message unit's postings are its
    current appearance's, tokenized once when its release was read (int_message_terms); the other units
    are tokenized here. Incremental by unit: a build derives the postings of the units whose fingerprint
    (int_search_units_numbered) the table does not hold, after the pre-hook deleted those whose
    fingerprint is gone, so a new release costs its own units. -#}
with

units_to_index as materialized (

    select unit_id, kind, source_id, current_event_id, unit_fingerprint
    from {{ ref('int_search_units_numbered') }}
    {%- if is_incremental() %}
    where unit_fingerprint not in (select distinct unit_fingerprint from {{ this }})
    {%- endif %}

),

message_postings as (

    select
        terms.term,
        units_to_index.unit_id,
        terms.term_frequency,
        terms.unit_length,
        terms.positions,
        units_to_index.unit_fingerprint,
    from units_to_index
    inner join {{ ref('int_message_terms') }} as terms
        on terms.event_id = units_to_index.current_event_id
    where units_to_index.kind = 'message'

),

tokenized as (

    select
        units_to_index.unit_id,
        {{ search_tokens('texts.text') }} as tokens,
    from units_to_index
    inner join {{ ref('search_units') }} as texts
        on texts.kind = units_to_index.kind
        and texts.source_id = units_to_index.source_id
    where units_to_index.kind <> 'message'

),

other_postings as (

    {{ term_postings('tokenized', 'unit_id') }}

),

final as (

    select * from message_postings

    union all

    select
        other_postings.*,
        units_to_index.unit_fingerprint,
    from other_postings
    inner join units_to_index
        on units_to_index.unit_id = other_postings.unit_id

)

select * from final
