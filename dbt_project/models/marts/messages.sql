{{ config(
    materialized='incremental',
    incremental_strategy='row_hash',
    unique_key='message_id',
    post_hook="{{ index_row_hashes() }}",
) }}
with

-- read twice (event ids in message_extras, the wide columns in final): inlined, so each read takes only
-- its own columns and the bodies are never held
messages as not materialized (

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

-- What the other models add to each message, one row per current event. Grouped from the sides stacked
-- on the event id instead of joined: a join holds a hash table per side keyed by 64-character event ids,
-- and with final's own table on top that ran out of memory at 1M messages; an aggregate can spill.
-- Same result as left joins: senders and citations have at most one row per event (event_id is unique
-- in citations; one From position 0 per appearance), redactions are counted.
message_extras as (

    select
        event_id as current_event_id,
        any_value(person_id) as from_person_id,
        any_value(resolved_email) as from_resolved_email,
        count(*) filter (where side = 'redaction') as redaction_count,
        any_value(source_bates) as source_bates,
        any_value(page_first) as page_first,
        any_value(page_last) as page_last,
        any_value(source_row) as source_row,
        any_value(citation) as citation,
    from (
        select current_event_id as event_id, 'message' as side from messages
        union all by name
        select event_id, 'sender' as side, person_id, resolved_email from senders
        union all by name
        select event_id, 'citation' as side, source_bates, page_first, page_last, source_row, citation from citations
        union all by name
        select event_id, 'redaction' as side from redactions
    )
    group by event_id
    having bool_or(side = 'message')

),

final as (

    select
        messages.message_id,
        messages.header_message_id,
        messages.thread_id,
        messages.thread_method,
        messages.sent_at,
        message_extras.from_person_id,
        -- a name-only From (printed PDF) takes the one address its name links to (int_person_names)
        coalesce(messages.from_email, message_extras.from_resolved_email) as from_email,
        messages.subject,
        messages.body_text,
        list_filter(list_transform(coalesce(messages.to_addresses, []), lambda a: lower(trim(a.email))), lambda e: e is not null and e <> '') as to_emails,
        list_filter(list_transform(coalesce(messages.cc_addresses, []), lambda a: lower(trim(a.email))), lambda e: e is not null and e <> '') as cc_emails,
        messages.appearances,
        messages.source_kinds,
        messages.first_release_id,
        messages.current_release_id,
        messages.current_release_id as release_id,
        messages.document_id,
        messages.source_offset,
        coalesce(message_extras.redaction_count, 0) > 0 as is_redacted,
        coalesce(message_extras.redaction_count, 0) as redaction_count,
        messages.release_count,
        message_extras.source_bates,
        message_extras.page_first,
        message_extras.page_last,
        message_extras.source_row,
        message_extras.citation,
        messages.text_source,
        messages.ocr_confidence,
        messages.date_quality,
        messages.sent_at_text,
        list_concat(
            messages.reader_defects,
            case when messages.date_quality <> 'ok' then ['sent_at:' || messages.date_quality] else [] end
        )::varchar[] as defects,
    from messages
    left join message_extras
        on message_extras.current_event_id = messages.current_event_id

)

select * from final
