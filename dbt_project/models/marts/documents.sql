with

files as (

    select * from {{ ref('stg_events__files') }}

),

superseded as (

    select * from {{ ref('int_documents_superseded') }}

),

final as (

    select
        files.document_id,
        files.release_id,
        files.source_path,
        files.sha256,
        files.size_bytes,
        files.media_type,
        files.reader,
        files.expected_items,
        files.extracted_items,
        files.quarantined_items,
        superseded.superseded_by_release_id,
        files.parser_version,
    from files
    left join superseded
        on files.document_id = superseded.document_id

)

select * from final
