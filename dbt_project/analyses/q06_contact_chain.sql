-- Q6 (foil-facts.md §11.6). Trace the contact chain (intermediary -> Deputy Inspector -> CEO meetings ->
-- onboarding) and measure the time from first contact to first search.
--
-- Answers: one row per step of the chain, in time order (step numbers follow the chain's logic: the
-- first account can be created minutes before its provisioning email), with the evidence message (or account/search),
-- and days_since_introduction; days_intro_to_first_search repeats the headline figure on every row.
--
-- Steps and how they are found:
--   1 introduction            - earliest email sent by an intermediary (organizations.kind = 'other') to an
--                               agency (local_police) person with a vendor person copied;
--   2 agency_reply            - first agency-sent email in the introduction's thread;
--   3 first_meeting           - first contact with channel = 'meeting' (seeds/signal_rules.csv, meeting rule);
--   4 first_provisioning_email- first vendor "Your Clearview account is ready" email;
--   5 first_account_created   - earliest accounts.created_at of an agency account;
--   6 first_search            - earliest logged search (searches.source_kind = 'search_log').
--
-- Caveats:
-- * Contacts describe current message versions; a redacted sender/recipient has no org, so a chain link
--   through a redacted party is not found.
-- * Meetings are recognised by subject wording (signal rule); the meeting itself is not in the records,
--   only emails about it. Whether the vendor sender is the CEO is not recorded (roles are not a mart).
-- * days are (step time - introduction time) / 86400 s, rounded to 2 places.
-- * citation: the evidence's own row - the message's current version, the account's source row, the
--   search-log row.
with

orgs as (

    select org_id, kind from organizations

),

introduction as (

    select
        contacts.message_id,
        contacts.thread_id,
        min(contacts.occurred_at) as occurred_at,
        min(contacts.subject) as subject,
        min(contacts.citation) as citation,
    from contacts
    inner join orgs as from_org
        on contacts.from_org = from_org.org_id
    where from_org.kind = 'other'
        and contacts.date_quality = 'ok'
    group by contacts.message_id, contacts.thread_id
    having bool_or(contacts.to_org in (select org_id from orgs where kind = 'local_police'))
        and bool_or(contacts.to_org in (select org_id from orgs where kind = 'vendor'))
    order by occurred_at, message_id
    limit 1

),

steps as (

    select 1 as step, 'introduction' as step_name, occurred_at, message_id as evidence, subject as detail, citation
    from introduction

    union all

    select * from (
        select 2, 'agency_reply', contacts.occurred_at, contacts.message_id, contacts.subject, contacts.citation
        from contacts
        inner join orgs on contacts.from_org = orgs.org_id
        where orgs.kind = 'local_police'
            and contacts.thread_id = (select thread_id from introduction)
            and contacts.message_id <> (select message_id from introduction)
            and contacts.date_quality = 'ok'
        order by contacts.occurred_at, contacts.message_id
        limit 1
    )

    union all

    select * from (
        select 3, 'first_meeting', occurred_at, message_id, subject, citation
        from contacts
        where channel = 'meeting'
            and date_quality = 'ok'
        order by occurred_at, message_id
        limit 1
    )

    union all

    select * from (
        select 4, 'first_provisioning_email', messages.sent_at, messages.message_id, messages.subject, messages.citation
        from messages
        inner join organizations
            on list_contains(organizations.domains, lower(split_part(messages.from_email, '@', 2)))
        where organizations.kind = 'vendor'
            and regexp_matches(messages.subject, '^(re: |fwd?: )*your clearview account is ready', 'i')
            and messages.date_quality = 'ok'
        order by messages.sent_at, messages.message_id
        limit 1
    )

    union all

    select * from (
        select 5, 'first_account_created', accounts.created_at, accounts.vendor_account_ref,
            accounts.holder_email || ' (' || coalesce(accounts.unit, 'no unit') || ')', accounts.citation
        from accounts
        inner join orgs on accounts.agency = orgs.org_id
        where orgs.kind = 'local_police' and accounts.date_quality = 'ok'
        order by accounts.created_at, accounts.account_id
        limit 1
    )

    union all

    select * from (
        select 6, 'first_search', searches.searched_at, searches.search_ref,
            coalesce(accounts.holder_email, searches.account_id), searches.citation
        from searches
        left join accounts on searches.account_id = accounts.account_id
        where searches.source_kind = 'search_log'
            and searches.date_quality = 'ok'
        order by searches.searched_at, searches.search_id
        limit 1
    )

)

select
    step,
    step_name,
    occurred_at,
    evidence,
    detail,
    round(date_diff('second', (select occurred_at from introduction), occurred_at) / 86400.0, 2) as days_since_introduction,
    round(date_diff('second', (select occurred_at from introduction),
        (select occurred_at from steps where step_name = 'first_search')) / 86400.0, 2) as days_intro_to_first_search,
    citation,
from steps
order by occurred_at, step
