-- Q8 (foil-facts.md §11.8). How much search activity followed NYPD's "no institutional relationship"
-- statements?
--
-- Answers: one row per account that ran logged searches on or after the statement day (00:00 New York
-- time on the day of the first released email carrying "no institutional relationship" - 2020-01-20 in
-- the sample), with its searches since then and, for comparison, in the same number of days before it.
-- The *_all_accounts columns repeat the totals; statement_day_start is the cut used.
--
-- Caveats:
-- * Vendor search log only (searches.source_kind = 'search_log'); the log ends 2020-02-29, so "after" is
--   at most ~6 weeks long and says nothing about later use.
-- * New York midnight is computed with a fixed -05:00 offset (EST applies in January); no time-zone
--   database is needed.
-- * citation: the account's source row, then the search logs its counted searches are in ('; '-separated).
-- * The statement's date is the email's, not the date BuzzFeed published it; the Feb 2020 statement is
--   not in the sample's emails.
with

statement as (

    select min(sent_at) as statement_at
    from messages
    where body_text ilike '%no institutional relationship%'
        and date_quality = 'ok'

),

cut as (

    select
        statement_at,
        to_timestamp(floor((epoch(statement_at) - 5 * 3600) / 86400) * 86400 + 5 * 3600) as statement_day_start,
        -- an implausible time (e.g. after the release) must not stretch the log's end
        (select max(searched_at) from searches where source_kind = 'search_log' and date_quality = 'ok') as log_ends_at,
    from statement

),

windowed as (

    select
        searches.account_id,
        searches.searched_at,
        searches.document_id,
        searches.searched_at >= cut.statement_day_start as is_after,
        -- the comparison window: as many seconds before the cut as the log runs after it
        searches.searched_at >= cut.statement_day_start - (cut.log_ends_at - cut.statement_day_start)
            and searches.searched_at < cut.statement_day_start as is_same_span_before,
    from searches
    cross join cut
    where searches.source_kind = 'search_log'
        and searches.date_quality = 'ok'

),

per_account as (

    select
        account_id,
        count(*) filter (where is_after) as searches_on_or_after_statement,
        count(*) filter (where is_same_span_before) as searches_same_span_before,
        min(searched_at) filter (where is_after) as first_after,
        max(searched_at) filter (where is_after) as last_after,
        list(distinct document_id) filter (where is_after or is_same_span_before) as document_ids,
    from windowed
    group by account_id

)

select
    accounts.vendor_account_ref,
    accounts.holder_email,
    accounts.unit,
    accounts.created_phase,
    per_account.searches_on_or_after_statement,
    per_account.searches_same_span_before,
    per_account.first_after,
    per_account.last_after,
    (sum(per_account.searches_on_or_after_statement) over ())::bigint as searches_on_or_after_statement_all_accounts,
    (sum(per_account.searches_same_span_before) over ())::bigint as searches_same_span_before_all_accounts,
    count(*) over () as accounts_searching_after_statement,
    (select statement_day_start from cut) as statement_day_start,
    (select log_ends_at from cut) as log_ends_at,
    concat_ws('; ', accounts.citation, (
        select string_agg(distinct documents.release_id || ' / ' || documents.source_path, '; ')
        from documents
        where list_contains(per_account.document_ids, documents.document_id)
    )) as citation,
from per_account
left join accounts
    on per_account.account_id = accounts.account_id
where per_account.searches_on_or_after_statement > 0
order by per_account.searches_on_or_after_statement desc, accounts.vendor_account_ref
