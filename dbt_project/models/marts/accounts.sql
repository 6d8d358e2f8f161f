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

-- statistics come from the vendor's search log only; email figures stay in searches, side by side
log_stats as (

    select
        account_id,
        min(searched_at) as first_search_at,
        max(searched_at) as last_search_at,
        cast(sum(search_count) as bigint) as total_searches,
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
    from accounts
    left join people as holder
        on holder.person_id = accounts.holder_person_id
    left join log_stats
        on accounts.account_id = log_stats.account_id
    left join reported_stats
        on accounts.account_id = reported_stats.account_id
    left join citations
        on citations.event_id = accounts.source_event_id

)

select * from final
