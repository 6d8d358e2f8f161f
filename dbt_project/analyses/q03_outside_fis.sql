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
with

units as (

    select
        unit,
        unit = 'FIS' as is_fis,
        count(*) as accounts,
        sum(total_searches)::bigint as searches,
    from accounts
    where agency = 'nypd'
        and unit is not null
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
from units
order by is_fis desc, searches desc, unit
