{#- The search index's number for every unit (search_units), and a fingerprint of what its postings hold.
    Units are numbered in the order their release was first read (a message: the first release read that
    holds it), then by (kind, source_id): a new release's units come after every unit already numbered, so
    adding a release keeps every other unit's number, and its postings (int_search_postings_tokenized)
    stay as they are. The numbers are still a function of the event log alone, so an incremental build
    numbers as a full rebuild does; a withdrawn release renumbers the units read after it.
    The fingerprint changes when the unit's number, text or (a message) current appearance does. -#}
with

units as (

    select kind, source_id, release_id, text from {{ ref('search_units') }}

),

-- when each release was first read: its registration, which a re-read by a newer reader does not move
releases_read as (

    select
        release_id,
        min(ingested_at) as first_read_at,
    from {{ source('raw', 'events') }}
    where event_type = 'release_registered'
    group by release_id

),

messages_read as (

    select
        appearances.message_id,
        min(releases_read.first_read_at) as first_read_at,
    from {{ ref('message_appearances') }} as appearances
    inner join releases_read
        on releases_read.release_id = appearances.release_id
    group by appearances.message_id

),

current_appearances as (

    select message_id, current_event_id from {{ ref('int_messages_resolved') }}

),

numbered as (

    select
        cast(row_number() over (
            order by coalesce(messages_read.first_read_at, releases_read.first_read_at), units.kind, units.source_id
        ) as integer) as unit_id,
        units.kind,
        units.source_id,
        current_appearances.current_event_id,
        units.text,
    from units
    left join releases_read
        on releases_read.release_id = units.release_id
    left join messages_read
        on units.kind = 'message'
        and messages_read.message_id = units.source_id
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
        hash(unit_id, current_event_id, text) as unit_fingerprint,
    from numbered

)

select * from final
