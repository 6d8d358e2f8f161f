with

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

searches as (

    select * from {{ ref('int_searches_unioned') }}

),

people as (

    select * from {{ ref('int_people_identified') }}

),

citations as (

    select * from {{ ref('int_citations_formatted') }}

),

releases as (

    select * from {{ ref('stg_events__releases') }}

),

roster_rows as (

    select * from {{ ref('stg_events__roster_rows') }}

),

-- statistics come from the vendor's search log only; email figures stay in searches, side by side.
-- Every logged search counts; first/last take only times whose date_quality is ok, so one unparseable,
-- 1969 or after-release time cannot stand in for the account's first or last search (defects says so).
log_stats as (

    select
        account_id,
        min(searched_at) filter (where date_quality = 'ok') as first_search_at,
        max(searched_at) filter (where date_quality = 'ok') as last_search_at,
        cast(sum(search_count) as bigint) as total_searches,
        count(*) filter (where date_quality <> 'ok') as searches_with_odd_dates,
    from searches
    where source_kind = 'search_log'
    group by account_id

),

reported_stats as (

    select
        account_id,
        max(search_count) as max_reported_searches,
    from searches
    where source_kind in ('usage_report', 'email')
    group by account_id

),

final as (

    select
        accounts.account_id,
        accounts.vendor,
        accounts.agency,
        accounts.unit,
        accounts.holder_person_id,
        accounts.holder_email,
        coalesce(holder.is_personal_email, false) as is_personal_email,
        accounts.created_at,
        accounts.created_phase,
        log_stats.first_search_at,
        log_stats.last_search_at,
        coalesce(log_stats.total_searches, 0) as total_searches,
        accounts.vendor_account_ref,
        accounts.device,
        accounts.source_kind,
        accounts.release_id,
        accounts.document_id,
        accounts.source_row,
        accounts.provisioning_message_id,
        reported_stats.max_reported_searches,
        citations.source_bates,
        citations.page_first,
        citations.page_last,
        citations.source_offset,
        citations.citation,
        {{ date_quality('accounts.created_at', 'created_text.created_at_text', 'releases.released_on') }} as date_quality,
        -- the roster's text when it did not parse (the row has no other copy of it)
        case when accounts.created_at is null then created_text.created_at_text end as created_at_text,
        coalesce(log_stats.searches_with_odd_dates, 0) as searches_with_odd_dates,
    from accounts
    left join people as holder
        on holder.person_id = accounts.holder_person_id
    left join log_stats
        on accounts.account_id = log_stats.account_id
    left join reported_stats
        on accounts.account_id = reported_stats.account_id
    left join citations
        on citations.event_id = accounts.source_event_id
    left join releases
        on releases.release_id = accounts.release_id
    -- the roster row the account cites (source_kind roster)
    left join roster_rows as created_text
        on created_text.event_id = accounts.source_event_id

),

-- what is odd about the row; a missing created_at is not (search-log-only accounts have none by design)
flagged as (

    select
        * exclude (searches_with_odd_dates),
        list_concat(
            case when date_quality not in ('ok', 'missing') then ['created_at:' || date_quality] else [] end,
            case when searches_with_odd_dates > 0 then ['searches_with_odd_dates:' || searches_with_odd_dates] else [] end
        )::varchar[] as defects,
    from final

)

select * from flagged
