{#- One row per message appearance, with the stable message key and normalized threading headers. The
    sender's own text and signature are computed where read (macros/message_text.sql). -#}
with

emails as (

    select * from {{ ref('stg_events__emails') }}

),

rereleased as (

    select * from {{ ref('int_messages_rereleased') }}

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
        -- no Message-ID: the content key, or for a copy a superseding release re-produced, the first
        -- production's key
        coalesce(normalized_message_id, rereleased.message_key, normalized.content_key) as message_key,
        -- one appearance = one item of one document; stable across re-reads by a newer parser
        {{ make_id('app', ['document_id', 'source_offset', 'item_index', 'header_message_id', 'sent_at']) }} as appearance_key,
        coalesce(normalized_in_reply_to, normalized_last_reference) as parent_message_id,
        coalesce(normalized_first_reference, normalized_in_reply_to) as thread_hint,
    from normalized
    left join rereleased
        on rereleased.content_key = normalized.content_key

)

select * from keyed
