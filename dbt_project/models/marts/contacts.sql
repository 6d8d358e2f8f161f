{#- One row per (message, recipient) of the current version of each message. -#}
with

messages as (

    select * from {{ ref('int_messages_resolved') }}

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

citations as (

    select * from {{ ref('int_citations_formatted') }}

),

meetings as (

    select distinct message_id from signals where signal = 'meeting'

),

senders as (

    select * from addresses where field = 'from' and position = 0

),

recipients as (

    select * from addresses where field in ('to', 'cc', 'bcc')

),

joined as (

    select
        recipients.address_id,
        messages.sent_at as occurred_at,
        messages.date_quality,
        case when meetings.message_id is not null then 'meeting' else 'email' end as channel,
        senders.person_id as from_person_id,
        sender.primary_org_id as from_org,
        from_org.kind as from_kind,
        recipients.person_id as to_person_id,
        recipient.primary_org_id as to_org,
        to_org.kind as to_kind,
        recipients.field as recipient_field,
        recipients.position as recipient_position,
        messages.message_id,
        messages.thread_id,
        messages.subject,
        messages.current_release_id as release_id,
        messages.document_id,
        citations.source_bates,
        citations.page_first,
        citations.page_last,
        citations.source_row,
        citations.source_offset,
        citations.citation,
    from recipients
    inner join messages
        on recipients.event_id = messages.current_event_id
    left join senders
        on senders.event_id = messages.current_event_id
    left join people as sender
        on sender.person_id = senders.person_id
    left join people as recipient
        on recipient.person_id = recipients.person_id
    left join organizations as from_org
        on from_org.org_id = sender.primary_org_id
    left join organizations as to_org
        on to_org.org_id = recipient.primary_org_id
    left join meetings
        on meetings.message_id = messages.message_id
    left join citations
        on citations.event_id = messages.current_event_id

),

final as (

    select
        {{ make_id('contact', ['message_id', 'recipient_field', 'recipient_position']) }} as contact_id,
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
    from joined

)

select * from final
