-- search_log_row: one search-log CSV row (docs/releases.md); values arrive as strings
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'search_log_row'

),

renamed as (

    select
        event_id,
        release_id,
        release_rank,
        released_on,
        document_id,
        source_path,
        source_row,
        nullif(trim(payload ->> 'search_ref'), '') as search_ref,
        nullif(trim(payload ->> 'account_ref'), '') as account_ref,
        nullif(lower(trim(payload ->> 'user_email')), '') as user_email,
        -- null when the text does not parse (e.g. "yesterday"); the text is kept as written beside it
        coalesce(occurred_at, {{ parse_utc_timestamp("payload ->> 'searched_at'") }}) as searched_at,
        payload ->> 'searched_at' as searched_at_text,
        nullif(lower(trim(payload ->> 'client')), '') as client,
        nullif(trim(payload ->> 'ip'), '') as ip,
        try_cast(nullif(trim(payload ->> 'results_returned'), '') as boolean) as results_returned,
    from events

)

select * from renamed
