-- item_quarantined: an item inside a container that could not be parsed
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'item_quarantined'

),

renamed as (

    select
        event_id,
        release_id,
        document_id,
        source_path,
        source_sha256 as sha256,
        source_offset,
        payload ->> 'reason' as reason,
        try_cast(payload ->> 'index' as bigint) as item_index,
    from events

)

select * from renamed
