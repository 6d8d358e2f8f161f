-- Q3 (foil-facts.md §11.3). What share of accounts and searches came from outside FIS (the Facial
-- Identification Section)? (Tests NYPD's one-team policy.)
--
-- Answers: one row per roster unit with its accounts and logged searches; the outside_fis_* and share_*
-- columns repeat the outside-FIS totals and shares (of all NYPD roster accounts / logged searches).
--
-- Caveats:
-- * Unit comes from the vendor roster (accounts.unit); accounts known only from emails (the ICE/HSI agents)
--   have no unit and are excluded, as are accounts of other agencies.
-- * Searches are the vendor search log only; shares are rounded to 4 places.
-- * The two Feb-2020 FIS test accounts (fis.test01/02) count as FIS.
-- * citation: the documents behind the unit's figures - the roster (or emails) its accounts come from and
--   the search logs of their searches ('<release_id> / <path>', '; '-separated); row-level citations are in
--   accounts.citation and searches.citation.
with

documents_cited as (

    select document_id, release_id || ' / ' || source_path as citation from documents

),

unit_accounts as (

    select account_id, unit, total_searches, document_id
    from accounts
    where agency = 'nypd'
        and unit is not null

),

unit_sources as (

    select unit_accounts.unit, documents_cited.citation
    from unit_accounts
    inner join documents_cited on unit_accounts.document_id = documents_cited.document_id

    union

    select unit_accounts.unit, documents_cited.citation
    from unit_accounts
    inner join searches
        on searches.account_id = unit_accounts.account_id
        and searches.source_kind = 'search_log'
    inner join documents_cited on searches.document_id = documents_cited.document_id

),

units as (

    select
        unit,
        unit = 'FIS' as is_fis,
        count(*) as accounts,
        sum(total_searches)::bigint as searches,
        (select string_agg(distinct unit_sources.citation, '; ' order by unit_sources.citation)
         from unit_sources where unit_sources.unit = unit_accounts.unit) as citation,
    from unit_accounts
    group by unit

)

select
    unit,
    is_fis,
    accounts,
    searches,
    (sum(accounts) filter (where not is_fis) over ())::bigint as outside_fis_accounts,
    (sum(searches) filter (where not is_fis) over ())::bigint as outside_fis_searches,
    (sum(accounts) over ())::bigint as all_accounts,
    (sum(searches) over ())::bigint as all_searches,
    round(outside_fis_accounts / all_accounts, 4) as share_of_accounts_outside_fis,
    round(outside_fis_searches / all_searches, 4) as share_of_searches_outside_fis,
    citation,
from units
order by is_fis desc, searches desc, unit
