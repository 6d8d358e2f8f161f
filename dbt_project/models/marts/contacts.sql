{{ config(
    materialized='incremental',
    incremental_strategy='row_hash',
    unique_key='contact_id',
    post_hook="{{ index_row_hashes() }}",
) }}
{#- One row per (message, recipient) of the current version of each message, plus one row per (meeting,
    attendee) of the current version of each calendar invitation (channel 'meeting', from the organizer
    to each attendee, recipient_field 'attendee'; occurred_at = the start in UTC, subject = SUMMARY,
    message_id / thread_id null, cited at the VEVENT). Organizer and attendees are people through
    int_addresses_unnested (source 'calendar'), exactly as email addresses are; an attendee who is the
    organizer is no contact, and an invitation without an organizer gives none. -#}
with

-- one row per message with its current appearance's sender and citation: recipients join it once, on
-- the message key (a current address row carries its message's key), instead of joining the message,
-- its sender and its citation one by one on 64-character event ids
messages as (

    select * from {{ ref('messages') }}

),

-- plain reads, inlined where used (each use reads only its columns): materialized, a CTE used more than
-- once held a copy of its whole table
addresses as not materialized (

    select * from {{ ref('int_addresses_unnested') }}
    where is_current

),

people as (

    select * from {{ ref('int_people_identified') }}

),

organizations as (

    select * from {{ ref('organizations') }}

),

signals as (

    select * from {{ ref('int_message_signals_matched') }}

),

meetings as (

    select distinct message_id from signals where signal = 'meeting'

),

calendar_events as (

    select * from {{ ref('stg_events__calendar_events') }}

),

calendar_addresses as (

    select * from addresses where source = 'calendar'

),

recipients as (

    select * from addresses where source is distinct from 'calendar' and field in ('to', 'cc', 'bcc')

),

joined as (

    select
        {{ make_id('contact', ['messages.message_id', 'recipients.field', 'recipients.position']) }} as contact_id,
        recipients.address_id,
        messages.sent_at as occurred_at,
        messages.date_quality,
        case when meetings.message_id is not null then 'meeting' else 'email' end as channel,
        messages.from_person_id,
        recipients.person_id as to_person_id,
        recipients.field as recipient_field,
        recipients.position as recipient_position,
        messages.message_id,
        messages.thread_id,
        messages.subject,
        messages.release_id,
        messages.document_id,
        messages.source_bates,
        messages.page_first,
        messages.page_last,
        messages.source_row,
        messages.source_offset,
        messages.citation,
    from recipients
    inner join messages
        on messages.message_id = recipients.message_key
    left join meetings
        on meetings.message_id = messages.message_id

),

meeting_pairs as (

    select
        -- stable across parser versions (an event id is not): the VEVENT's document and position
        {{ make_id('contact', ["'meeting'", 'calendar_events.document_id', 'calendar_events.item_index', 'attendees.field', 'attendees.position']) }} as contact_id,
        attendees.address_id,
        calendar_events.starts_at as occurred_at,
        {{ date_quality('calendar_events.starts_at', 'calendar_events.start_raw', 'calendar_events.released_on') }} as date_quality,
        'meeting' as channel,
        organizers.person_id as from_person_id,
        attendees.person_id as to_person_id,
        attendees.field as recipient_field,
        attendees.position as recipient_position,
        null::varchar as message_id,
        null::varchar as thread_id,
        calendar_events.summary as subject,
        calendar_events.release_id,
        calendar_events.document_id,
        null::varchar as source_bates,
        null::bigint as page_first,
        null::bigint as page_last,
        calendar_events.source_row,
        null::bigint as source_offset,
        calendar_events.citation,
    from calendar_addresses as attendees
    inner join calendar_events
        on calendar_events.event_id = attendees.event_id
    inner join calendar_addresses as organizers
        on organizers.event_id = attendees.event_id
        and organizers.field = 'organizer'
    where attendees.field = 'attendee'
        and attendees.person_id <> organizers.person_id

),

all_contacts as (

    select * from joined
    union all by name
    select * from meeting_pairs

),

-- each end's primary organisation and its kind, for emails and meetings alike
with_orgs as (

    select
        all_contacts.*,
        sender.primary_org_id as from_org,
        from_org.kind as from_kind,
        recipient.primary_org_id as to_org,
        to_org.kind as to_kind,
    from all_contacts
    left join people as sender
        on sender.person_id = all_contacts.from_person_id
    left join people as recipient
        on recipient.person_id = all_contacts.to_person_id
    left join organizations as from_org
        on from_org.org_id = sender.primary_org_id
    left join organizations as to_org
        on to_org.org_id = recipient.primary_org_id

),

final as (

    select
        contact_id,
        occurred_at,
        channel,
        from_person_id,
        from_org,
        to_person_id,
        to_org,
        case
            when from_org is not null and from_org = to_org then 'internal'
            when from_kind = 'vendor' and to_kind in ('local_police', 'federal_immigration', 'federal_other') then 'vendor_to_agency'
            when from_kind in ('local_police', 'federal_immigration', 'federal_other') and to_kind = 'vendor' then 'agency_to_vendor'
            when from_kind in ('local_police', 'federal_immigration', 'federal_other')
                and to_kind in ('local_police', 'federal_immigration', 'federal_other') then 'agency_to_agency'
            else 'other'
        end as direction,
        recipient_field,
        message_id,
        thread_id,
        subject,
        release_id,
        document_id,
        recipient_position,
        source_bates,
        page_first,
        page_last,
        source_row,
        source_offset,
        citation,
        date_quality,
    from with_orgs

)

select * from final
