-- Q5 (foil-facts.md §11.5). Reconcile NYPD's search totals (5,100 vs 11,000) and account counts (>30, ~36,
-- ~50) by source and time window.
--
-- Answers: every figure side by side, one row each, with its evidence kind, scope/window and source:
--   'search_log'     - counts from the vendor search log and roster in the releases (warehouse);
--   'email_mention'  - each "You have run N searches" the vendor wrote to a user, next to the same
--                      account's logged searches before that email (log_count_same_scope);
--   'published'      - documented public aggregates from the published_figures mart (seeds/documented_figures.csv).
-- Nothing is reconciled into a single "true" figure: the sources count different things over different
-- windows (foil-facts.md §4, §13.6).
--
-- Caveats:
-- * The published figures are NOT in any release; they come from news reports and the vendor (see each
--   row's source). ">" figures are lower bounds (qualifier = more_than), "about" figures are rounded.
-- * The sample's search log is modelled on the ~5,100 figure (raw/README.md); BuzzFeed's >11,000 is not
--   modelled, so the gap between them here says nothing about the real gap.
-- * A usage mention is a point-in-time figure for one account, not a total; summing them is meaningless.
-- * citation: for warehouse counts the documents counted ('<release_id> / <path>', '; '-separated: the search
--   logs, the rosters and emails the accounts come from); for an email mention the email (searches.citation);
--   for a published figure its publication (published_figures.source) - it is in no release.
-- * The office release's vendor usage reports (usage_report_row events) are not yet in a mart and are
--   not shown.
with

log_searches as (

    select * from searches where source_kind = 'search_log'

),

nypd_accounts as (

    select * from accounts where agency = 'nypd'

),

documents_cited as (

    select document_id, release_id || ' / ' || source_path as citation from documents

),

log_documents as (

    select string_agg(distinct documents_cited.citation, '; ' order by documents_cited.citation) as citation
    from documents_cited
    where document_id in (select document_id from log_searches)

),

log_window as (

    select
        -- the span of the times that can be trusted; every logged search still counts below
        coalesce(strftime(min(searched_at) filter (where date_quality = 'ok'), '%Y-%m-%d'), '?') || ' to '
            || coalesce(strftime(max(searched_at) filter (where date_quality = 'ok'), '%Y-%m-%d'), '?') as span,
    from log_searches

),

warehouse_figures as (

    select
        'search_log' as evidence,
        'searches_in_search_log' as figure,
        (select count(*) from log_searches) as value,
        'as_stated' as qualifier,
        'searches' as unit,
        'NYPD accounts, every logged search, ' || (select span from log_window) as scope,
        'vendor search log in the releases (searches.source_kind = search_log)' as source,
        null::bigint as log_count_same_scope,
        (select citation from log_documents) as citation,

    union all

    select
        'search_log', 'accounts_in_roster', count(*), 'as_stated', 'accounts',
        'NYPD accounts in the vendor roster or provisioning emails, created '
            || coalesce(strftime(min(created_at) filter (where date_quality = 'ok'), '%Y-%m-%d'), '?') || ' to '
            || coalesce(strftime(max(created_at) filter (where date_quality = 'ok'), '%Y-%m-%d'), '?'),
        'accounts mart, agency = nypd', null,
        (select string_agg(distinct documents_cited.citation, '; ' order by documents_cited.citation)
         from documents_cited where document_id in (select document_id from nypd_accounts)),
    from nypd_accounts

    union all

    select
        'search_log', 'accounts_with_a_logged_search', count(*), 'as_stated', 'accounts',
        'NYPD accounts with at least one logged search, ' || (select span from log_window),
        'accounts mart, total_searches > 0', null,
        (select citation from log_documents),
    from nypd_accounts
    where total_searches > 0

    union all

    select
        'search_log', 'accounts_searching_in_jan_2020', count(distinct log_searches.account_id), 'as_stated', 'accounts',
        'NYPD accounts with a logged search in January 2020 (UTC), the month of the vendor''s "about 36 active accounts"',
        'searches mart, source_kind = search_log', null,
        (select citation from log_documents),
    from log_searches
    inner join nypd_accounts
        on log_searches.account_id = nypd_accounts.account_id
    where log_searches.searched_at >= timestamptz '2020-01-01 00:00:00+00'
        and log_searches.searched_at < timestamptz '2020-02-01 00:00:00+00'

),

email_mentions as (

    select
        'email_mention' as evidence,
        'searches_stated_to_' || coalesce(accounts.holder_email, 'unknown account') as figure,
        mentions.search_count as value,
        'as_stated' as qualifier,
        'searches' as unit,
        'one account, as of ' || coalesce(strftime(mentions.searched_at, '%Y-%m-%d %H:%M UTC'), 'an unknown time (' || mentions.date_quality || ')') as scope,
        'email ' || mentions.message_id || ' (' || mentions.release_id || ')' as source,
        (
            select count(*) from log_searches
            where log_searches.account_id = mentions.account_id
                and log_searches.searched_at < mentions.searched_at
        ) as log_count_same_scope,
        mentions.citation,
    from searches as mentions
    left join accounts
        on mentions.account_id = accounts.account_id
    where mentions.source_kind in ('usage_report', 'email')

),

published as (

    select
        'published' as evidence,
        figure,
        value,
        qualifier,
        unit,
        scope,
        source || ', published ' || published as source,
        null::bigint as log_count_same_scope,
        'published: ' || source || ', ' || published as citation,
    from published_figures
    where figure like 'nypd_%'

)

select * from warehouse_figures
union all
select * from email_mentions
union all
select * from published
order by
    case evidence when 'search_log' then 1 when 'email_mention' then 2 else 3 end,
    unit,
    value desc,
    figure
