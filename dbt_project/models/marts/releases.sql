with

releases as (

    select * from {{ ref('stg_events__releases') }}

),

files as (

    select * from {{ ref('stg_events__files') }}

),

file_quarantines as (

    select * from {{ ref('stg_events__file_quarantines') }}

),

document_counts as (

    select release_id, count(*) as documents
    from files
    group by release_id

),

quarantine_counts as (

    select release_id, count(distinct source_path) as quarantined_files
    from file_quarantines
    group by release_id

),

final as (

    select
        releases.release_id,
        releases.agency,
        releases.request_id,
        releases.released_on,
        releases.title,
        releases.requester,
        releases.supersedes,
        -- supersession is read from the later manifest; invert it so each release knows its successors
        coalesce((
            select list(later.release_id order by later.release_rank)
            from releases as later
            where list_contains(later.supersedes, releases.release_id)
        ), []) as superseded_by,
        releases.is_synthetic,
        releases.notes,
        coalesce(document_counts.documents, 0) + coalesce(quarantine_counts.quarantined_files, 0) as files,
        coalesce(document_counts.documents, 0) as documents,
        coalesce(quarantine_counts.quarantined_files, 0) as quarantined_files,
        releases.release_rank,
    from releases
    left join document_counts
        on releases.release_id = document_counts.release_id
    left join quarantine_counts
        on releases.release_id = quarantine_counts.release_id

)

select * from final
