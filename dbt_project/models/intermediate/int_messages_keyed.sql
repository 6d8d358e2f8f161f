{#- One row per message appearance, with the stable message key, normalized threading headers and the
    author's own text (quoted history cut off) used by affiliation and signal rules. -#}
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
        -- text written by the sender: everything before the first quoted / forwarded block
        regexp_split_to_array(
            coalesce(body_text, ''),
            '\n\s*(-{2,}\s*original message\s*-{2,}|-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:|on [^\n]{0,200} wrote:|>)',
            'i'
        )[1] as own_text,
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
        -- signature block: after a '-- ' delimiter if any, else the last 6 non-empty lines
        -- (ltrim, not trim: the same space characters, but trim made this most of the model's compute)
        case
            when regexp_matches(own_text, '\n-- ?\n')
                then regexp_extract(own_text, '\n-- ?\n((?s).*)$', 1)
            else array_to_string(
                list_filter(string_split(own_text, chr(10)), lambda line: ltrim(line) <> '')[-6:],
                chr(10)
            )
        end as signature_text,
    from normalized
    left join rereleased
        on rereleased.content_key = normalized.content_key

)

select * from keyed
