with

messages as (

    select * from {{ ref('int_messages_resolved') }}

),

senders as (

    select * from {{ ref('int_addresses_unnested') }}
    where is_current and field = 'from' and position = 0

),

citations as (

    select * from {{ ref('int_citations_formatted') }}

),

redactions as (

    select * from {{ ref('int_redactions_extracted') }}

),

current_redactions as (

    select event_id, count(*) as redaction_count
    from redactions
    group by event_id

),

final as (

    select
        messages.message_id,
        messages.header_message_id,
        messages.thread_id,
        messages.thread_method,
        messages.sent_at,
        senders.person_id as from_person_id,
        messages.from_email,
        messages.subject,
        messages.body_text,
        list_filter(list_transform(coalesce(messages.to_addresses, []), lambda a: lower(trim(a.email))), lambda e: e is not null and e <> '') as to_emails,
        list_filter(list_transform(coalesce(messages.cc_addresses, []), lambda a: lower(trim(a.email))), lambda e: e is not null and e <> '') as cc_emails,
        messages.appearances,
        messages.first_release_id,
        messages.current_release_id,
        messages.current_release_id as release_id,
        messages.document_id,
        messages.source_offset,
        coalesce(current_redactions.redaction_count, 0) > 0 as is_redacted,
        coalesce(current_redactions.redaction_count, 0) as redaction_count,
        messages.release_count,
        citations.source_bates,
        citations.page_first,
        citations.page_last,
        citations.source_row,
        citations.citation,
    from messages
    left join senders
        on senders.event_id = messages.current_event_id
    left join citations
        on citations.event_id = messages.current_event_id
    left join current_redactions
        on current_redactions.event_id = messages.current_event_id

)

select * from final
