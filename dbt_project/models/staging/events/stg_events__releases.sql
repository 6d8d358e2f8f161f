with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'release_registered'

),

renamed as (

    select
        release_id,
        release_rank,
        payload ->> 'agency' as agency,
        payload ->> 'request_id' as request_id,
        try_cast(payload ->> 'released_on' as date) as released_on,
        payload ->> 'title' as title,
        payload ->> 'requester' as requester,
        coalesce(cast(payload -> 'supersedes' as varchar[]), []) as supersedes,
        coalesce(try_cast(payload ->> 'synthetic' as boolean), false) as is_synthetic,
        payload ->> 'notes' as notes,
        payload as manifest,
    from events
    -- one manifest per release; if it was read twice by the same parser version keep one
    qualify row_number() over (partition by release_id order by event_id) = 1

)

select * from renamed
