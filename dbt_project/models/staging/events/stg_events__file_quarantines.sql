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
    from events

)

select * from renamed
