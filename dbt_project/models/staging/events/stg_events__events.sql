{#- Base model: the only reader of raw.events. Every other staging model reads this one, so the two
    scoping rules below apply everywhere downstream:
    1. time travel: with var as_of_release, keep releases ordered (released_on, release_id) <= it;
    2. re-reads: when several parser versions observed one file, keep only the newest version's events. -#}
{%- set as_of_release = var('as_of_release', none) -%}

with

source as (

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

releases_in_scope as (

    select
        registered_releases.release_id,
        registered_releases.released_on,
    from registered_releases
    {%- if as_of_release %}
    inner join registered_releases as cutoff
        on cutoff.release_id = '{{ as_of_release }}'
    where registered_releases.released_on < cutoff.released_on
        or (registered_releases.released_on = cutoff.released_on
            and registered_releases.release_id <= cutoff.release_id)
    {%- endif %}

),

newest_parser as (

    select
        source.*,
        releases_in_scope.released_on,
    from source
    inner join releases_in_scope
        on source.release_id = releases_in_scope.release_id
    -- string compare of versions is good enough while versions are like '1', '2', '1.1'
    qualify source.parser_version = max(source.parser_version) over (
        partition by source.release_id, source.source_path
    )

),

final as (

    select
        event_id,
        release_id,
        event_type,
        occurred_at,
        recorded_at,
        source_path,
        source_sha256,
        source_offset,
        source_row,
        source_bates,
        parser,
        parser_version,
        payload,
        released_on,
        -- 1 = oldest release in scope; "latest release" logic downstream orders by this
        dense_rank() over (order by released_on, release_id) as release_rank,
        {{ make_id('doc', ['release_id', 'source_path']) }} as document_id,
    from newest_parser

)

select * from final
