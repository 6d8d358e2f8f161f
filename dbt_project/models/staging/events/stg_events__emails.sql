-- email_message: one row per message appearance (a message re-released later appears again)
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'email_message'

),

-- The payload is parsed ONCE into a typed struct: one `->>` per field re-parses the whole JSON
-- document per expression, which multiplied memory by the number of fields on large releases.
parsed as (

    select
        *,
        json_transform(payload, '{
            "pages": "BIGINT[]", "bates_begin": "VARCHAR", "bates_end": "VARCHAR", "attached_to_index": "BIGINT",
            "message_id": "VARCHAR", "in_reply_to": "VARCHAR", "references": "VARCHAR[]",
            "from": [{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}],
            "to": [{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}],
            "cc": [{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}],
            "bcc": [{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}],
            "reply_to": [{"name": "VARCHAR", "email": "VARCHAR", "redacted": "BOOLEAN"}],
            "subject": "VARCHAR", "date_raw": "VARCHAR", "body_text": "VARCHAR", "attachments": "JSON",
            "defects": "VARCHAR[]", "index": "BIGINT", "depth": "BIGINT", "quoted_in_index": "BIGINT",
            "text_path": "VARCHAR", "text_source": "VARCHAR", "ocr_confidence": "DOUBLE"
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
        source_offset,
        source_row,
        source_bates,
        parser,

        -- citation locators (printed PDFs: pages + Bates range; load files: Bates range)
        p.pages[1] as page_first,
        p.pages[2] as page_last,
        coalesce(p.bates_begin, source_bates) as bates_begin,
        p.bates_end as bates_end,
        p.attached_to_index as attached_to_index,

        -- headers
        p.message_id as header_message_id,
        p.in_reply_to as in_reply_to,
        coalesce(p."references", []) as "references",
        p."from" as from_addresses,
        p."to" as to_addresses,
        p.cc as cc_addresses,
        p.bcc as bcc_addresses,
        p.reply_to as reply_to_addresses,
        p.subject as subject,
        p.date_raw as date_raw,
        occurred_at as sent_at,

        -- content
        p.body_text as body_text,
        p.attachments as attachments,
        coalesce(p.defects, []) as defects,
        p."index" as item_index,

        -- printed-email PDFs: quotation depth and the printed message quoting this one
        p.depth as quote_depth,
        p.quoted_in_index as quoted_in_index,

        -- load-file emails: the TEXTPATH file their body was read from
        p.text_path as text_path,

        -- printed emails: read from the PDF's text layer, by OCR from page images, or both (mixed);
        -- every other reader reads the message itself (native)
        coalesce(p.text_source, 'native') as text_source,
        p.ocr_confidence as ocr_confidence,
    from parsed

)

select * from renamed
