-- roster_row: one account-roster CSV row (docs/releases.md); values arrive as strings
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'roster_row'

),

renamed as (

    select
        event_id,
        release_id,
        release_rank,
        released_on,
        document_id,
        source_row,
        nullif(trim(payload ->> 'account_ref'), '') as account_ref,
        nullif(trim(payload ->> 'vendor'), '') as vendor,
        nullif(trim(payload ->> 'agency'), '') as agency,
        nullif(trim(payload ->> 'unit'), '') as unit,
        nullif(trim(payload ->> 'holder_name'), '') as holder_name,
        nullif(lower(trim(payload ->> 'holder_email')), '') as holder_email,
        nullif(trim(payload ->> 'role'), '') as role,
        -- a timestamp without zone means UTC (docs/releases.md)
        coalesce(occurred_at, {{ parse_utc_timestamp("payload ->> 'created_at'") }}) as created_at,
        payload ->> 'created_at' as created_at_text,
        nullif(lower(trim(payload ->> 'status')), '') as status,
        nullif(lower(trim(payload ->> 'device')), '') as device,
    from events

)

select * from renamed
