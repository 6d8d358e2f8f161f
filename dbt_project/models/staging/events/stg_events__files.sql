-- file_observed: a file a reader took, i.e. a document
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'file_observed'

),

renamed as (

    select
        document_id,
        release_id,
        source_path,
        source_sha256 as sha256,
        try_cast(payload ->> 'size_bytes' as bigint) as size_bytes,
        payload ->> 'media_type' as media_type,
        coalesce(payload ->> 'reader', parser) as reader,
        try_cast(payload ->> 'expected_items' as bigint) as expected_items,
        try_cast(payload ->> 'extracted_items' as bigint) as extracted_items,
        try_cast(payload ->> 'quarantined_items' as bigint) as quarantined_items,
        -- what the bytes are (readers/sniff.py) and the name's extension; null in payloads recorded before them
        payload ->> 'detected_type' as detected_type,
        payload ->> 'extension' as extension,
        case
            when payload ->> 'detected_type' is not null
                then len(list_filter(payload ->> '$.defects[*]', lambda d: starts_with(d, 'extension '))) > 0
        end as type_mismatch,
        parser,
        parser_version,
    from events
    qualify row_number() over (partition by document_id order by event_id) = 1

)

select * from renamed
