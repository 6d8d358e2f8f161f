-- Q1 (foil-facts.md §11.1). How many accounts were created after the trial ended (31 Mar 2019), and how
-- many searches did they run? (Tests the "trial" framing.)
--
-- Answers: one row per NYPD account created on or after 2019-04-01 00:00 New York time, with its logged
-- searches; the columns accounts_after_trial / searches_after_trial_accounts repeat the totals on every row.
--
-- Caveats:
-- * "After the trial" = created_at >= 2019-04-01 04:00 UTC (midnight EDT). accounts.created_phase uses the
--   UTC date against seeds/contract_periods.csv (trial 2018-12-01..2019-03-31) and is shown beside it;
--   the two agree on the sample.
-- * Searches are the vendor search log only (accounts.total_searches); usage figures stated in emails are
--   in `searches` with source_kind <> 'search_log' and are not added here.
-- * Agency accounts only (agency = 'nypd'): the ICE/HSI agents provisioned through referrals are left out.
-- * The trial window is the contract's (Dec 2018 - Mar 2019, MIT TR / BuzzFeed); NY Post's "complimentary
--   90-day trial" in early 2019 is a different account of it (ref_contract_periods holds the window used).
-- * citation: the roster row or provisioning email the account comes from (accounts.citation).
select
    vendor_account_ref,
    holder_email,
    unit,
    created_at,
    created_phase,
    device,
    total_searches,
    first_search_at,
    last_search_at,
    count(*) over () as accounts_after_trial,
    (sum(total_searches) over ())::bigint as searches_after_trial_accounts,
    citation,
from accounts
where agency = 'nypd'
    and created_at >= timestamptz '2019-04-01 04:00:00+00'
    -- a created_at flagged odd (after the release, before 1971) is not evidence of when; see accounts.date_quality
    and date_quality = 'ok'
order by created_at, vendor_account_ref
