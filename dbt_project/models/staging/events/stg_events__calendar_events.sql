-- calendar_event: one VEVENT of an iCalendar file (reader calendar_ics; docs/events.md)
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'calendar_event'

),

-- parsed once into a typed struct (see stg_events__emails)
parsed as (

    select
        *,
        json_transform(payload, '{
            "uid": "VARCHAR", "summary": "VARCHAR", "description": "VARCHAR", "location": "VARCHAR",
            "start_raw": "VARCHAR", "start_tzid": "VARCHAR", "end_raw": "VARCHAR", "end_tzid": "VARCHAR",
            "all_day": "BOOLEAN",
            "organizer": {"name": "VARCHAR", "email": "VARCHAR"},
            "attendees": [{"name": "VARCHAR", "email": "VARCHAR", "role": "VARCHAR", "partstat": "VARCHAR"}],
            "method": "VARCHAR", "sequence": "BIGINT", "status": "VARCHAR", "recurrence_id": "VARCHAR",
            "rrule": "VARCHAR", "defects": "VARCHAR[]", "index": "BIGINT"
        }') as p,
    from events

),

renamed as (

    select
        -- ids and pointers
        event_id,
        release_id,
        release_rank,
        released_on,
        document_id,
        source_path,
        source_row,
        p."index" as item_index,
        -- int_citations_formatted does not know calendar events yet: cited here by the BEGIN:VEVENT line
        release_id || ' / ' || coalesce(source_path, document_id)
            || case when source_row is not null then ' line ' || source_row else '' end as citation,

        -- the event
        nullif(trim(p.uid), '') as uid,
        p.summary as summary,
        p.description as description,
        p.location as location,
        p.start_raw as start_raw,
        p.start_tzid as start_tzid,
        p.end_raw as end_raw,
        p.end_tzid as end_tzid,
        coalesce(p.all_day, false) as is_all_day,
        occurred_at as starts_at,
        upper(nullif(trim(p.method), '')) as method,
        p.sequence as sequence,
        upper(nullif(trim(p.status), '')) as status,
        nullif(trim(p.recurrence_id), '') as recurrence_id,
        nullif(trim(p.rrule), '') as rrule,

        -- people
        p.organizer as organizer,
        coalesce(p.attendees, []) as attendees,

        coalesce(p.defects, []) as defects,
    from parsed

)

select * from renamed
