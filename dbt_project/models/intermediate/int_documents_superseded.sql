{#- A document of release A is superseded by release B when B's manifest lists A under `supersedes`
    and B re-releases any of the document's messages (or a file at the same path). The earliest such B
    is reported. -#}
with

files as (

    select * from {{ ref('stg_events__files') }}

),

releases as (

    select * from {{ ref('stg_events__releases') }}

),

appearances as (

    select * from {{ ref('int_messages_keyed') }}

),

supersessions as (

    select
        releases.release_id as superseding_release_id,
        releases.release_rank as superseding_release_rank,
        unnest(releases.supersedes) as superseded_release_id,
    from releases

),

by_message as (

    select distinct
        old.document_id,
        supersessions.superseding_release_id,
        supersessions.superseding_release_rank,
    from appearances as old
    inner join supersessions
        on old.release_id = supersessions.superseded_release_id
    inner join appearances as new
        on new.message_key = old.message_key
        and new.release_id = supersessions.superseding_release_id

),

by_path as (

    select distinct
        old.document_id,
        supersessions.superseding_release_id,
        supersessions.superseding_release_rank,
    from files as old
    inner join supersessions
        on old.release_id = supersessions.superseded_release_id
    inner join files as new
        on new.source_path = old.source_path
        and new.release_id = supersessions.superseding_release_id

),

final as (

    select
        document_id,
        arg_min(superseding_release_id, superseding_release_rank) as superseded_by_release_id,
    from (select * from by_message union all select * from by_path)
    group by document_id

)

select * from final
