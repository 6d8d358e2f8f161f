-- usage_report_row: a vendor's per-period search total for one account (CSV, JSONL or XLSX dumps)
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'usage_report_row'

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
        nullif(trim(payload ->> 'account_ref'), '') as account_ref,
        nullif(lower(trim(payload ->> 'user_email')), '') as user_email,
        coalesce(occurred_at, {{ parse_utc_timestamp("payload ->> 'period_start'") }}) as period_start,
        {{ parse_utc_timestamp("payload ->> 'period_end'") }} as period_end,
        payload ->> 'period_start' as period_start_text,
        payload ->> 'period_end' as period_end_text,
        try_cast(replace(trim(payload ->> 'searches'), ',', '') as bigint) as searches,
        nullif(trim(payload ->> 'source'), '') as report_source,
        nullif(trim(payload ->> 'sheet'), '') as sheet,
    from events

)

select * from renamed
