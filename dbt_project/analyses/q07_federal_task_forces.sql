-- Q7 (foil-facts.md §11.7). Which searches or emails involve federal task forces (JTTF) and referrals to
-- ICE/HSI, and how do they fall relative to NYPD's Jan/Feb 2020 statements and Local Law 228?
--
-- Answers: rows of three kinds (row_kind), in time order:
--   'statement'           - emails carrying NYPD's "no institutional relationship" line (the reference dates);
--   'referral'            - agency emails to the vendor that pass on a third law-enforcement person's
--                           address (referrals mart), whether the vendor then provisioned that person;
--   'task_force_account'  - NYPD people with a federal affiliation in their signature
--                           (people.is_dual_affiliated: HSI task force, JTTF) or accounts of the
--                           'JTTF-assigned' roster unit, with their logged searches before/after the statement.
-- occurred_at is the email time (statement, referral) or the account's first logged search; other_org is
-- the referred person's org, or the org(s) a signature affiliates the officer with.
-- days_from_statement < 0 means before the first statement email.
--
-- Caveats:
-- * Referrals and dual affiliations are documented patterns, but every detail in the sample is invented
--   (provenance synthetic_modeled, foil-facts.md §13.4).
-- * The statement date is taken from the released emails (first email containing "no institutional
--   relationship"); the Feb 2020 statement ("does not have any contract ... formally or informally") is
--   not in the sample's emails.
-- * Local Law 228 (NYPD-ICE cooperation) is not in the warehouse: no date or text of it is stored, so
--   the query can only place events relative to the statements. Whether a referral was "immigration
--   enforcement" cannot be told from the records.
-- * Searches carry no case or purpose, so "searches involving task forces" means searches by those accounts.
-- * citation: the statement email or referral email (current version); for a task-force account its source
--   row and the message whose signature names the federal affiliation (people_evidence), '; '-separated.
with

statement as (

    select min(sent_at) as statement_at
    from messages
    where body_text ilike '%no institutional relationship%'
        and date_quality = 'ok'

),

statements as (

    select
        'statement' as row_kind,
        sent_at as occurred_at,
        from_email as nypd_email,
        null::varchar as other_party_email,
        null::varchar as other_org,
        null::varchar as unit,
        null::boolean as confirmed_by_provisioning,
        null::bigint as searches_total,
        null::bigint as searches_on_or_after_statement,
        message_id as evidence,
        subject as detail,
        citation,
    from messages
    where body_text ilike '%no institutional relationship%'

),

referral_rows as (

    select
        'referral',
        referrals.referred_at,
        referrer.emails[1],
        referrals.referred_email,
        referrals.referred_org || ' (' || referrals.referred_org_kind || ')',
        null::varchar,
        referrals.is_confirmed_by_provisioning,
        null::bigint,
        null::bigint,
        referrals.evidence_message_id,
        referrals.rule || '; ' || referrals.provenance,
        referrals.citation,
    from referrals
    left join people as referrer
        on referrals.referrer_person_id = referrer.person_id

),

task_force_accounts as (

    select
        people.person_id,
        accounts.account_id,
        coalesce(accounts.holder_email, people.emails[1]) as nypd_email,
        people.affiliated_org_ids,
        accounts.unit,
        concat_ws('; ', accounts.citation, (
            select string_agg(distinct people_evidence.citation, '; ' order by people_evidence.citation)
            from people_evidence
            where people_evidence.person_id = people.person_id
                and people_evidence.evidence_for = 'organization'
                and people_evidence.seen_in = 'signature'
        )) as citation,
    from people
    full outer join (select * from accounts where agency = 'nypd') as accounts
        on accounts.holder_person_id = people.person_id
    where people.is_dual_affiliated or accounts.unit = 'JTTF-assigned'

),

task_force_rows as (

    select
        'task_force_account',
        min(log.searched_at) filter (where log.date_quality = 'ok'),
        task_force_accounts.nypd_email,
        null::varchar,
        nullif(array_to_string(task_force_accounts.affiliated_org_ids, ', '), ''),
        task_force_accounts.unit,
        null::boolean,
        count(log.search_id),
        count(log.search_id) filter (where log.searched_at >= (select statement_at from statement)),
        task_force_accounts.account_id,
        'last logged search ' || coalesce(strftime(max(log.searched_at) filter (where log.date_quality = 'ok'), '%Y-%m-%d'), 'none'),
        task_force_accounts.citation,
    from task_force_accounts
    left join searches as log
        on log.account_id = task_force_accounts.account_id
        and log.source_kind = 'search_log'
    group by all

)

select
    *,
    round(date_diff('second', (select statement_at from statement), occurred_at) / 86400.0, 1) as days_from_statement,
from (
    select * from statements
    union all
    select * from referral_rows
    union all
    select * from task_force_rows
)
order by
    case row_kind when 'referral' then 1 when 'task_force_account' then 2 else 3 end,
    occurred_at,
    nypd_email
