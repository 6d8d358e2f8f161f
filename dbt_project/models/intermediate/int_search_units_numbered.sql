{#- The search index's number for every unit (search_units), and a fingerprint of what its postings hold.
    Units are numbered in the order of their first release (released_on, then release_id; a message's
    earliest), then by (kind, source_id). Releases mostly arrive in the order they were released, so a
    new release's units come after every unit already numbered, every other unit keeps its number, and
    its postings (int_search_postings_tokenized) stay as they are. A release dated before others already
    built, or one withdrawn, renumbers the units after it: more postings to derive again, no other
    difference. The numbers depend on the releases alone, not on when they were read, so an incremental
    build numbers as a full rebuild does. The fingerprint changes when the unit's number, its current
    appearance (a message) or its text (other kinds) does. -#}
with

-- keys only (search_units is ephemeral: read once here, so no text is read but the hashes)
units as (

    select kind, source_id, first_release_id, text_hash from {{ ref('search_units') }}

),

releases as (

    select release_id, released_on from {{ ref('stg_events__releases') }}

),

current_appearances as (

    select message_id, current_event_id from {{ ref('int_messages_resolved') }}

),

numbered as (

    select
        cast(row_number() over (
            order by releases.released_on nulls last, units.first_release_id, units.kind, units.source_id
        ) as integer) as unit_id,
        units.kind,
        units.source_id,
        current_appearances.current_event_id,
        units.text_hash,
    from units
    left join releases
        on releases.release_id = units.first_release_id
    left join current_appearances
        on units.kind = 'message'
        and current_appearances.message_id = units.source_id

),

final as (

    select
        unit_id,
        kind,
        source_id,
        current_event_id,
        hash(unit_id, current_event_id, text_hash) as unit_fingerprint,
    from numbered

)

select * from final
