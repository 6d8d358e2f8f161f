-- email_message: one row per message appearance (a message re-released later appears again)
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'email_message'

),

renamed as (

    select
        -- ids and pointers
        event_id,
        release_id,
        release_rank,
        document_id,
        source_path,
        source_offset,
        source_bates,

        -- headers
        payload ->> 'message_id' as header_message_id,
        payload ->> 'in_reply_to' as in_reply_to,
        coalesce(cast(payload -> 'references' as varchar[]), []) as "references",
        json_transform(payload -> 'from', '[{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}]') as from_addresses,
        json_transform(payload -> 'to', '[{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}]') as to_addresses,
        json_transform(payload -> 'cc', '[{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}]') as cc_addresses,
        json_transform(payload -> 'bcc', '[{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}]') as bcc_addresses,
        json_transform(payload -> 'reply_to', '[{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}]') as reply_to_addresses,
        payload ->> 'subject' as subject,
        payload ->> 'date_raw' as date_raw,
        occurred_at as sent_at,

        -- content
        payload ->> 'body_text' as body_text,
        payload -> 'attachments' as attachments,
        coalesce(cast(payload -> 'defects' as varchar[]), []) as defects,
        try_cast(payload ->> 'index' as bigint) as item_index,
    from events

)

select * from renamed
