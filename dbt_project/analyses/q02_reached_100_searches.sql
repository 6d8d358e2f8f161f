-- Q2 (foil-facts.md §11.2). Which users reached the 100-search onboarding target ("See if you can reach
-- 100 searches."), and how soon after account creation?
--
-- Answers: one row per account with at least 100 logged searches: when its 100th search was logged and
-- the days from account creation to it.
--
-- Caveats:
-- * Counts the vendor search log only (source_kind = 'search_log'); an email's "You have run N searches"
--   is a separate figure (see q05).
-- * days_to_100 = (time of the 100th logged search - accounts.created_at) in days, rounded to 2 places.
-- * The log is what the vendor produced; searches it does not contain cannot be counted.
-- * citation: the account's source row, then the search-log row of its 100th search.
-- * Only searches whose time can be trusted (date_quality = 'ok') are put in order; a logged search with an
--   unparseable or implausible time is in searches (flagged) but cannot be the 100th.
with

logged as (

    select
        account_id,
        searched_at,
        citation,
        row_number() over (partition by account_id order by searched_at, search_id) as nth_search,
    from searches
    where source_kind = 'search_log'
        and account_id is not null
        and date_quality = 'ok'

),

hundredth as (

    select account_id, searched_at as reached_100_at, citation
    from logged
    where nth_search = 100

)

select
    accounts.vendor_account_ref,
    accounts.holder_email,
    accounts.unit,
    accounts.total_searches,
    accounts.created_at,
    hundredth.reached_100_at,
    round(date_diff('second', accounts.created_at, hundredth.reached_100_at) / 86400.0, 2) as days_to_100,
    concat_ws('; ', accounts.citation, '100th search: ' || hundredth.citation) as citation,
from accounts
inner join hundredth
    on accounts.account_id = hundredth.account_id
order by accounts.total_searches desc, accounts.vendor_account_ref
