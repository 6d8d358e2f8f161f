{#- Search evidence from every source, side by side (never merged):
    - search_log: one row per logged search (count 1), deduplicated across releases that re-produce a log;
    - usage_report: a row of a vendor usage report (per-period total for one account);
    - email: a figure stated in an email — by the vendor to each To recipient ("you have run N
      searches", reported_by = vendor) or by someone about their own account (reported_by = sender). -#}
with

search_log_rows as (

    select * from {{ ref('stg_events__search_log_rows') }}

),

usage_report_rows as (

    select * from {{ ref('stg_events__usage_report_rows') }}

),

roster_rows as (

    select * from {{ ref('stg_events__roster_rows') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

signals as (

    select * from {{ ref('int_message_signals_matched') }}

),

-- plain reads, inlined where used (each use reads only its columns): materialized, a CTE used more than
-- once held a copy of its whole table
messages as not materialized (

    select * from {{ ref('int_messages_resolved') }}

),

addresses as (

    select * from {{ ref('int_addresses_unnested') }}
    where is_current

),

-- the account a vendor ref belongs to, via the latest roster row naming it
roster_refs as (

    select
        account_ref,
        holder_email,
    from roster_rows
    where account_ref is not null
    qualify row_number() over (partition by account_ref order by release_rank desc, source_row) = 1

),

log_identified as (

    select
        search_log_rows.*,
        -- identity survives re-production of the same log in a later release; a time that does not parse
        -- is told apart by its text, so such rows are kept one by one, never merged
        coalesce(
            search_ref,
            coalesce(cast(searched_at as varchar), 'text:' || coalesce(searched_at_text, '')) || '#' || row_number() over (
                partition by release_id, document_id, account_ref, searched_at,
                    case when searched_at is null then coalesce(searched_at_text, '') end
                order by source_row
            )
        ) as search_identity,
    from search_log_rows

),

log_current as (

    select *
    from log_identified
    qualify row_number() over (
        partition by account_ref, search_identity
        order by release_rank desc, document_id, source_row
    ) = 1

),

-- a vendor usage report: one per-period total per account, kept beside the log it may contradict
report_current as (

    select *
    from usage_report_rows
    where searches is not null
    qualify row_number() over (
        partition by account_ref, user_email, period_start, period_end, report_source
        order by release_rank desc, document_id, source_row
    ) = 1

),

-- a vendor account ref (with the login email the log or report gives) -> our account: through the roster's
-- holder address, else the email itself, else an account known only from the log
vendor_refs as (

    select distinct account_ref, user_email from log_current
    union
    select distinct account_ref, user_email from report_current

),

ref_accounts as (

    select
        vendor_refs.account_ref,
        vendor_refs.user_email,
        coalesce(by_ref.account_id, by_email.account_id, log_only.account_id) as account_id,
    from vendor_refs
    left join roster_refs
        on vendor_refs.account_ref = roster_refs.account_ref
    -- a roster ref resolves through its holder address (roster accounts are keyed by vendor + holder)
    left join accounts as by_ref
        on by_ref.source_kind = 'roster'
        and (by_ref.holder_email = roster_refs.holder_email or by_ref.vendor_account_ref = vendor_refs.account_ref)
    left join (
        select holder_email, min(account_id) as account_id
        from accounts
        where holder_email is not null
        group by holder_email
    ) as by_email
        on by_email.holder_email = vendor_refs.user_email
    left join accounts as log_only
        on log_only.source_kind = 'search_log'
        and log_only.holder_email is null
        and log_only.vendor_account_ref = vendor_refs.account_ref
    qualify row_number() over (
        partition by vendor_refs.account_ref, vendor_refs.user_email
        order by by_ref.account_id nulls last, by_email.account_id nulls last, log_only.account_id nulls last
    ) = 1

),

log_searches as (

    select
        {{ make_id('srch', ["'log'", 'log_current.account_ref', 'log_current.search_identity']) }} as search_id,
        ref_accounts.account_id,
        log_current.searched_at,
        1::bigint as search_count,
        'search_log' as source_kind,
        'vendor_log' as reported_by,
        null::timestamptz as period_end,
        log_current.client,
        log_current.results_returned,
        log_current.search_ref,
        null::varchar as message_id,
        log_current.release_id,
        log_current.document_id,
        log_current.source_row,
        log_current.event_id as source_event_id,
        log_current.searched_at_text,
        {{ date_quality('log_current.searched_at', 'log_current.searched_at_text', 'log_current.released_on') }} as date_quality,
        []::varchar[] as extra_defects,
    from log_current
    left join ref_accounts
        on ref_accounts.account_ref is not distinct from log_current.account_ref
        and ref_accounts.user_email is not distinct from log_current.user_email

),

usage_mentions as (

    select * from signals
    where signal = 'usage_mention'
        and mentioned_count is not null

),

-- the vendor tells each recipient how many searches they ran
vendor_usage_emails as (

    select
        {{ make_id('srch', ["'usage'", 'usage_mentions.message_id', 'usage_mentions.rule_id', 'addresses.position']) }} as search_id,
        accounts.account_id,
        usage_mentions.sent_at as searched_at,
        usage_mentions.mentioned_count as search_count,
        'email' as source_kind,
        'vendor' as reported_by,
        null::timestamptz as period_end,
        null::varchar as client,
        null::boolean as results_returned,
        null::varchar as search_ref,
        usage_mentions.message_id,
        messages.current_release_id as release_id,
        messages.document_id,
        null::bigint as source_row,
        messages.current_event_id as source_event_id,
        null::varchar as searched_at_text,  -- the message's sent_at_text
        messages.date_quality,
        []::varchar[] as extra_defects,
    from usage_mentions
    inner join messages
        on usage_mentions.message_id = messages.message_id
    inner join addresses
        on addresses.event_id = messages.current_event_id
        and addresses.field = 'to'
    left join accounts
        on accounts.vendor = usage_mentions.vendor_org_id
        and accounts.holder_person_id = addresses.person_id
    where usage_mentions.is_from_vendor

),

-- someone else states a figure in their own words: attribute it to the sender's account
email_mentions as (

    select
        {{ make_id('srch', ["'email'", 'usage_mentions.message_id', 'usage_mentions.rule_id']) }} as search_id,
        accounts.account_id,
        usage_mentions.sent_at as searched_at,
        usage_mentions.mentioned_count as search_count,
        'email' as source_kind,
        'sender' as reported_by,
        null::timestamptz as period_end,
        null::varchar as client,
        null::boolean as results_returned,
        null::varchar as search_ref,
        usage_mentions.message_id,
        messages.current_release_id as release_id,
        messages.document_id,
        null::bigint as source_row,
        messages.current_event_id as source_event_id,
        null::varchar as searched_at_text,  -- the message's sent_at_text
        messages.date_quality,
        []::varchar[] as extra_defects,
    from usage_mentions
    inner join messages
        on usage_mentions.message_id = messages.message_id
    left join accounts
        on accounts.vendor = usage_mentions.vendor_org_id
        and accounts.holder_person_id = usage_mentions.from_person_id
    where not usage_mentions.is_from_vendor

),

usage_reports as (

    select
        {{ make_id('srch', ["'report'", 'report_current.account_ref', 'report_current.user_email',
                            'cast(report_current.period_start as varchar)', 'cast(report_current.period_end as varchar)',
                            'report_current.report_source']) }} as search_id,
        ref_accounts.account_id,
        report_current.period_start as searched_at,
        report_current.searches as search_count,
        'usage_report' as source_kind,
        'vendor_report' as reported_by,
        report_current.period_end,
        null::varchar as client,
        null::boolean as results_returned,
        null::varchar as search_ref,
        null::varchar as message_id,
        report_current.release_id,
        report_current.document_id,
        report_current.source_row,
        report_current.event_id as source_event_id,
        report_current.period_start_text as searched_at_text,
        {{ date_quality('report_current.period_start', 'report_current.period_start_text', 'report_current.released_on') }} as date_quality,
        case
            when report_current.period_end is null and nullif(trim(report_current.period_end_text), '') is not null
                then ['period_end:unparseable']
            else []
        end::varchar[] as extra_defects,
    from report_current
    left join ref_accounts
        on ref_accounts.account_ref is not distinct from report_current.account_ref
        and ref_accounts.user_email is not distinct from report_current.user_email

),

unioned as (

    select * from log_searches
    union all
    select * from vendor_usage_emails
    union all
    select * from usage_reports
    union all
    select * from email_mentions

),

-- odd values are kept and named on the row, never dropped: defects lists what is odd
final as (

    select
        * exclude (extra_defects),
        list_concat(
            case when date_quality <> 'ok' then ['searched_at:' || date_quality] else [] end,
            case when search_count < 1 then ['search_count:below_1'] else [] end,
            extra_defects
        )::varchar[] as defects,
    from unioned

)

select * from final
