-- Q10 (foil-facts.md §11.10). Where does NYPD rank against the national table (search range, response
-- category)?
--
-- Answers (partly): NYPD's search counts - the warehouse's logged searches and the published figures -
-- beside the documented national aggregates, with NYPD's share of the national search totals and the one
-- documented rank (BuzzFeed, Feb 2020: NYPD ran "the most of any entity"). One row per figure.
--
-- What is MISSING, so the question cannot be fully answered here:
-- * No national table: the warehouse holds no row of BuzzFeed's "Surveillance Nation" table (1,803
--   agencies). That table is BuzzFeed editorial content with no export endpoint; the sample must not copy
--   it, and no synthetic national table has been released. So NYPD cannot be ranked against other
--   agencies from data, only via the documented statement.
-- * No search-range bin: BuzzFeed published counts as ranges, but the bin edges are [UNVERIFIED]
--   (foil-facts.md §9), so no range seed was added and the bin NYPD falls in is not computed.
-- * No response category: NYPD's answer to BuzzFeed's survey (confirmed / denied / no response) is not
--   documented in the sources; the statements in the emails are not that survey response.
--
-- Caveats: the shares divide figures with different windows (national leak up to Feb 2020; "Surveillance
-- Nation" summer 2019 to Feb 2020; the sample's log Dec 2018 to Feb 2020) and the sample's log is
-- synthetic - treat them as orders of magnitude, not findings.
--
-- citation: the search logs counted ('<release_id> / <path>', '; '-separated) for the warehouse row; the
-- publication (published_figures.source) for a published figure, which is in no release.
with

log_searches as (

    select
        count(*) as searches,
        (
            select string_agg(distinct documents.release_id || ' / ' || documents.source_path, '; ')
            from documents
            where documents.document_id in (select document_id from searches where source_kind = 'search_log')
        ) as citation,
    from searches
    where source_kind = 'search_log'

),

national as (

    select * from published_figures where figure like 'national_%'

),

nypd_counts as (

    select
        'warehouse' as evidence,
        'nypd_searches_in_search_log' as figure,
        searches as value,
        'as_stated' as qualifier,
        'searches' as unit,
        'NYPD accounts, vendor search log in the releases (synthetic sample)' as scope,
        'searches mart, source_kind = search_log' as source,
        citation,
    from log_searches

    union all

    select 'published', figure, value, qualifier, unit, scope, source || ', published ' || published,
        'published: ' || source || ', ' || published
    from published_figures
    where figure in ('nypd_searches_buzzfeed_2020', 'nypd_searches_mit_tr_2021', 'nypd_rank_buzzfeed_2020')

)

select
    nypd_counts.*,
    round(nypd_counts.value / leak.value, 4) as share_of_national_leak_searches,
    round(nypd_counts.value / surveillance_nation.value, 4) as share_of_surveillance_nation_searches,
    null::varchar as search_range_bin,
    null::varchar as response_category,
from nypd_counts
left join national as leak
    on leak.figure = 'national_searches_leak_2020' and nypd_counts.unit = 'searches'
left join national as surveillance_nation
    on surveillance_nation.figure = 'national_searches_surveillance_nation_2021' and nypd_counts.unit = 'searches'

union all

select
    'published', figure, value, qualifier, unit, scope, source || ', published ' || published,
    'published: ' || source || ', ' || published, null, null, null, null,
from national

order by evidence desc, unit, value desc
