{#- Base model: the only reader of raw.events. Every other staging model reads this one, so the two
    scoping rules below apply everywhere downstream:
    0. a release is in scope once complete (release_ingested: every file has a committed outcome; an
       interrupted ingest is finished by the next build) and while not withdrawn (`foil withdraw`; the
       latest of release_withdrawn / release_reinstated decides);
    1. time travel: with var as_of_release, keep releases ordered (released_on, release_id) <= it;
    2. re-reads: when several parser versions observed one file, keep only the newest version's events;
    3. completeness: a file's items count only once its reader finished it (a file_observed event); a file
       that failed half-way (file_quarantined) or an ingest that died keeps its partial items in the log,
       unused. -#}
{%- set as_of_release = var('as_of_release', none) -%}

with

-- inlined where used, so each use reads only its columns and rows: materialized (it is used four times),
-- it made every model reading this view hold a copy of all payloads
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

-- ranks and versions are computed on small key sets and joined back, so no window ever has to carry
-- the payloads (which made this model run out of memory on large releases)
ranked_releases as (

    select
        release_id,
        released_on,
        -- 1 = oldest release in scope; "latest release" logic downstream orders by this
        dense_rank() over (order by released_on, release_id) as release_rank,
    from releases_in_scope

),

newest_parser as (

    -- string compare of versions is good enough while versions are like '1', '2', '1.1'
    select
        release_id,
        source_path,
        max(parser_version) as parser_version,
    from source
    group by release_id, source_path

),

completed_files as (

    select distinct
        release_id,
        source_path,
        parser,
        parser_version,
    from source
    where event_type = 'file_observed'

),

final as (

    select
        source.event_id,
        source.release_id,
        source.event_type,
        source.occurred_at,
        source.recorded_at,
        source.source_path,
        source.source_sha256,
        source.source_offset,
        source.source_row,
        source.source_bates,
        source.parser,
        source.parser_version,
        source.payload,
        ranked_releases.released_on,
        ranked_releases.release_rank,
        {{ make_id('doc', ['source.release_id', 'source.source_path']) }} as document_id,
    from source
    inner join ranked_releases
        on source.release_id = ranked_releases.release_id
    inner join newest_parser
        on source.release_id = newest_parser.release_id
        and source.source_path = newest_parser.source_path
        and source.parser_version = newest_parser.parser_version
    left join completed_files
        on source.release_id = completed_files.release_id
        and source.source_path = completed_files.source_path
        and source.parser = completed_files.parser
        and source.parser_version = completed_files.parser_version
    where source.event_type in ('release_registered', 'file_observed', 'file_quarantined')
        or completed_files.release_id is not null

)

select * from final
