{#- One row per message appearance, with the stable message key and normalized threading headers. The
    sender's own text and signature are computed where read (macros/message_text.sql). A copy without a
    Message-ID that int_message_copies_matched recognises as another copy of a message (a printed PDF and
    the load-file record or native email of the same message) takes that message's key. -#}
with

emails as (

    select * from {{ ref('stg_events__emails') }}

),

rereleased as (

    select * from {{ ref('int_messages_rereleased') }}

),

matched_copies as (

    select * from {{ ref('int_message_copies_matched') }}

),

normalized as (

    select
        *,
        {{ normalized_message_id('header_message_id') }} as normalized_message_id,
        nullif(lower(trim(in_reply_to, '<> ')), '') as normalized_in_reply_to,
        nullif(lower(trim("references"[1], '<> ')), '') as normalized_first_reference,
        nullif(lower(trim("references"[-1], '<> ')), '') as normalized_last_reference,
        nullif(lower(trim(from_addresses[1].email)), '') as from_email,
        from_addresses[1].name as from_name,
        case
            when {{ normalized_message_id('header_message_id') }} is null then {{ message_content_key() }}
        end as content_key,
    from emails

),

keyed as (

    select
        normalized.* exclude (content_key),
        -- no Message-ID: the key of the message this copy was matched to (printed PDF / load file /
        -- native), else for a copy a superseding release re-produced the first production's key, else
        -- the content key
        coalesce(normalized_message_id, matched_copies.message_key, rereleased.message_key, normalized.content_key) as message_key,
        -- how the key was found
        case
            when normalized_message_id is not null then 'message_id'
            when matched_copies.message_key is not null then 'copy_match'
            when rereleased.message_key is not null then 'rerelease'
            else 'content'
        end as identity_method,
        -- what kind of copy this appearance is
        case parser
            when 'printed_pdf' then 'printed_pdf'
            when 'image' then 'scanned_image'
            when 'concordance_dat' then 'load_file'
            else 'native'
        end as source_kind,
        -- one appearance = one item of one document; stable across re-reads by a newer parser
        {{ make_id('app', ['document_id', 'source_offset', 'item_index', 'header_message_id', 'sent_at']) }} as appearance_key,
        coalesce(normalized_in_reply_to, normalized_last_reference) as parent_message_id,
        coalesce(normalized_first_reference, normalized_in_reply_to) as thread_hint,
    from normalized
    left join rereleased
        on rereleased.content_key = normalized.content_key
    left join matched_copies
        on matched_copies.content_key = normalized.content_key

)

select * from keyed
