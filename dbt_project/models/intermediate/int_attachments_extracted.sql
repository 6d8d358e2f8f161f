{#- One row per attachment listed by an email appearance (payload `attachments`), as a child document of
    the file the message was read from. Only the listed metadata is in the warehouse (filename, media type,
    size, sha256); the attachment bytes are not. The id is deterministic from (carrying document, message
    appearance, attachment position), so it survives a re-read by a newer parser version. -#}
with

appearances as (

    select * from {{ ref('int_messages_keyed') }}

),

listed as (

    select
        document_id as parent_document_id,
        appearance_key,
        message_key,
        event_id,
        release_id,
        source_path,
        item_index,
        attachments,
        unnest(generate_series(0, cast(json_array_length(attachments) as bigint) - 1)) as attachment_position,
    from appearances
    where json_array_length(attachments) > 0

),

final as (

    select
        {{ make_id('doc', ['parent_document_id', 'appearance_key', 'attachment_position']) }} as document_id,
        parent_document_id,
        message_key as message_id,
        event_id,
        release_id,
        -- a pointer, not a file path: the attachment is not a file of the release
        source_path || '#message[' || coalesce(cast(item_index as varchar), '?')
            || ']/attachment[' || attachment_position || ']' as source_path,
        attachment_position,
        nullif(trim(attachments -> cast(attachment_position as integer) ->> 'filename'), '') as filename,
        nullif(trim(attachments -> cast(attachment_position as integer) ->> 'media_type'), '') as media_type,
        try_cast(attachments -> cast(attachment_position as integer) ->> 'size_bytes' as bigint) as size_bytes,
        nullif(lower(trim(attachments -> cast(attachment_position as integer) ->> 'sha256')), '') as sha256,
        -- the decoded text of a small text attachment (searchable: search_documents), else null
        attachments -> cast(attachment_position as integer) ->> 'text' as text,
    from listed

)

select * from final
