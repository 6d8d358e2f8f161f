{{ config(materialized='ephemeral') }}
{#- Every searchable text, one row per unit: a message (subject, then body), an OCR page, a plain-text
    document (file name, then text) and an attachment whose text the email carries (file name, then text;
    an attachment without text is searchable by its file name). Units are numbered apart, by
    int_search_units_numbered (numbers that stay when a release is added, so the postings can too).
    Ephemeral: the texts are read where needed and never stored twice (messages and ocr_pages hold theirs;
    search_documents keeps only the texts no other table holds). -#}
with

messages as (

    select * from {{ ref('messages') }}

),

ocr_pages as (

    select * from {{ ref('ocr_pages') }}

),

text_documents as (

    select * from {{ ref('stg_events__text_documents') }}

),

attachments as (

    select * from {{ ref('int_attachments_extracted') }}

),

-- the texts tokenized in the index, other than messages' (whose postings are their current appearance's)
others as (

    select
        'ocr_page' as kind,
        page_id as source_id,
        release_id,
        release_id as first_release_id,
        document_id,
        null as message_id,
        page,
        null as sent_at,
        regexp_extract(source_path, '([^/]*)$', 1) || ' p.' || page as title,
        text,
        null as kept_text,
        citation,
    from ocr_pages

    union all

    select
        'document_text',
        document_id,
        release_id,
        release_id,
        document_id,
        null,
        null,
        null,
        regexp_extract(source_path, '([^/]*)$', 1),
        concat_ws(chr(10), regexp_extract(source_path, '([^/]*)$', 1), text),
        concat_ws(chr(10), regexp_extract(source_path, '([^/]*)$', 1), text),
        release_id || ' / ' || source_path,
    from text_documents

    union all

    select
        'attachment',
        attachments.document_id,
        attachments.release_id,
        attachments.release_id,
        attachments.document_id,
        attachments.message_id,
        null,
        messages.sent_at,
        attachments.filename,
        concat_ws(chr(10), attachments.filename, attachments.text),
        concat_ws(chr(10), attachments.filename, attachments.text),
        attachments.release_id || ' / ' || attachments.source_path,
    from attachments
    left join messages
        on attachments.message_id = messages.message_id

),

unioned as (

    select
        'message' as kind,
        message_id as source_id,
        release_id,
        first_release_id,
        document_id,
        message_id,
        page_first as page,
        sent_at,
        subject as title,
        concat_ws(chr(10), subject, body_text) as text,
        null::varchar as kept_text,
        citation,
        -- a message's text is not hashed: its bodies stay unread where only keys are needed
        null::ubigint as text_hash,
    from messages

    union all

    select
        *,
        hash(text) as text_hash,
    from others

)

select * from unioned
