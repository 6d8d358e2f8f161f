-- file_quarantined: a file no reader could take
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'file_quarantined'

),

renamed as (

    select
        event_id,
        release_id,
        source_path,
        source_sha256 as sha256,
        try_cast(payload ->> 'size_bytes' as bigint) as size_bytes,
        payload ->> 'reason' as reason,
        -- what the bytes are (readers/sniff.py), the name's extension, and defects such as a mismatch of the two
        payload ->> 'detected_type' as detected_type,
        payload ->> 'extension' as extension,
        coalesce(payload ->> '$.defects[*]', []::varchar[]) as defects,
    from events

)

select * from renamed
