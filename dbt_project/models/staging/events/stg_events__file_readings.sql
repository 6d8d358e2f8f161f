{#- Which reading of each file counts, one row per (release, file, reader, reader version) kept, with
    its release's order. Kept apart from stg_events__events and materialized: the events are joined to
    these keys, and a table's exact size lets DuckDB hash the keys rather than the events (as views, the
    join's estimates put the event log on the build side, which ran out of memory at 1M messages).
    The scoping rules every model downstream of stg_events__events follows:
    0. a release is in scope once complete (release_ingested: every file has a committed outcome; an
       interrupted ingest is finished by the next build) and while not withdrawn (`foil withdraw`; the
       latest of release_withdrawn / release_reinstated decides);
    1. time travel: with var as_of_release, keep releases ordered (released_on, release_id) <= it;
    2. re-reads: when several parser versions observed one file, keep only the newest version's readings;
    3. completeness: a file's items count only once its reader finished it (a file_observed event,
       `is_complete`); a file that failed half-way (file_quarantined) or an ingest that died keeps its
       partial items in the log, unused. -#}
{{ config(materialized='table') }}
{%- set as_of_release = var('as_of_release', none) -%}

with

-- inlined where used, so each use reads only its columns and rows (materialized, it held all payloads)
source as not materialized (

    select * from {{ source('raw', 'events') }}

),

registered_releases as (

    -- a release without a release_registered event has no manifest, so it cannot be ordered
    select
        release_id,
        max(try_cast(payload ->> 'released_on' as date)) as released_on,
    from source
    where event_type = 'release_registered'
    group by release_id

),

complete_releases as (

    -- every file has a committed outcome (release_ingested); logs written by ingest 1 had no such
    -- marker, so a release registered only by ingest 1 counts as complete (its folder may be gone)
    select release_id
    from source
    where event_type in ('release_registered', 'release_ingested')
    group by release_id
    having bool_or(event_type = 'release_ingested')
        or max(parser_version) filter (where event_type = 'release_registered') = '1'

),

withdrawn_releases as (

    select release_id
    from source
    where event_type in ('release_withdrawn', 'release_reinstated')
    qualify row_number() over (
        partition by release_id order by payload ->> 'at' desc, ingested_at desc, event_type
    ) = 1 and event_type = 'release_withdrawn'

),

live_releases as (

    select registered_releases.*
    from registered_releases
    inner join complete_releases
        on registered_releases.release_id = complete_releases.release_id
    anti join withdrawn_releases
        on registered_releases.release_id = withdrawn_releases.release_id

),

releases_in_scope as (

    select
        registered_releases.release_id,
        registered_releases.released_on,
    from live_releases as registered_releases
    {%- if as_of_release %}
    inner join registered_releases as cutoff
        on cutoff.release_id = '{{ as_of_release }}'
    where registered_releases.released_on < cutoff.released_on
        or (registered_releases.released_on = cutoff.released_on
            and registered_releases.release_id <= cutoff.release_id)
    {%- endif %}

),

-- ranked on the small set of releases: no window ever carries the events
ranked_releases as (

    select
        release_id,
        released_on,
        -- 1 = oldest release in scope; "latest release" logic downstream orders by this
        dense_rank() over (order by released_on, release_id) as release_rank,
    from releases_in_scope

),

readings as (

    select
        release_id,
        source_path,
        parser,
        parser_version,
        bool_or(event_type = 'file_observed') as is_complete,
    from source
    group by release_id, source_path, parser, parser_version

),

newest_versions as (

    -- string compare of versions is good enough while versions are like '1', '2', '1.1'
    select
        release_id,
        source_path,
        max(parser_version) as parser_version,
    from readings
    group by release_id, source_path

),

final as (

    select
        readings.release_id,
        ranked_releases.released_on,
        ranked_releases.release_rank,
        readings.source_path,
        readings.parser,
        readings.parser_version,
        readings.is_complete,
    from readings
    inner join newest_versions
        on readings.release_id = newest_versions.release_id
        and readings.source_path = newest_versions.source_path
        and readings.parser_version = newest_versions.parser_version
    inner join ranked_releases
        on readings.release_id = ranked_releases.release_id

)

select * from final
