{#- Files a reader took (document_kind file, or archive_member for a file read out of a zip, source_path
    '<zip path>!/<member>'), plus one child document per attachment an email lists (document_kind
    attachment; metadata only, the bytes are not in the warehouse). -#}
with

files as (

    select * from {{ ref('stg_events__files') }}

),

superseded as (

    select * from {{ ref('int_documents_superseded') }}

),

attachments as (

    select * from {{ ref('int_attachments_extracted') }}

),

file_documents as (

    select
        files.document_id,
        files.release_id,
        files.source_path,
        case when contains(files.source_path, '!/') then 'archive_member' else 'file' end as document_kind,
        -- the innermost zip holding the member: the path before the last '!/'
        case
            when contains(files.source_path, '!/')
                then {{ make_id('doc', ['files.release_id', "regexp_extract(files.source_path, '^(.*)!/', 1)"]) }}
        end as parent_document_id,
        null::varchar as message_id,
        -- a member's own name; a top-level file's name
        regexp_extract(files.source_path, '([^/]*)$', 1) as filename,
        files.sha256,
        files.size_bytes,
        files.media_type,
        files.reader,
        files.detected_type,
        files.extension,
        files.type_mismatch,
        files.expected_items,
        files.extracted_items,
        files.quarantined_items,
        superseded.superseded_by_release_id,
        files.parser_version,
    from files
    left join superseded
        on files.document_id = superseded.document_id

),

attachment_documents as (

    select
        attachments.document_id,
        attachments.release_id,
        attachments.source_path,
        'attachment' as document_kind,
        attachments.parent_document_id,
        attachments.message_id,
        attachments.filename,
        attachments.sha256,
        attachments.size_bytes,
        attachments.media_type,
        null::varchar as reader,
        -- the attachment's bytes were not read: its content type is unknown; the extension is its filename's
        null::varchar as detected_type,
        nullif(lower(regexp_extract(attachments.filename, '[^./\\](\.[^./\\ ]+)$', 1)), '') as extension,
        null::boolean as type_mismatch,
        null::bigint as expected_items,
        null::bigint as extracted_items,
        null::bigint as quarantined_items,
        -- an attachment is superseded with the document carrying it
        parent.superseded_by_release_id,
        parent.parser_version,
    from attachments
    left join file_documents as parent
        on attachments.parent_document_id = parent.document_id

),

unioned as (

    select * from file_documents
    union all
    select * from attachment_documents

),

final as (

    select
        unioned.document_id,
        unioned.release_id,
        unioned.source_path,
        unioned.sha256,
        unioned.size_bytes,
        unioned.media_type,
        unioned.reader,
        unioned.detected_type,
        unioned.extension,
        unioned.type_mismatch,
        unioned.expected_items,
        unioned.extracted_items,
        unioned.quarantined_items,
        unioned.superseded_by_release_id,
        unioned.parser_version,
        unioned.document_kind,
        -- null when the carrying zip is not a document itself (the zip was quarantined after members were read)
        case when parent.document_id is not null then unioned.parent_document_id end as parent_document_id,
        unioned.message_id,
        unioned.filename,
    from unioned
    left join file_documents as parent
        on unioned.parent_document_id = parent.document_id

)

select * from final
