with

file_quarantines as (

    select * from {{ ref('stg_events__file_quarantines') }}

),

item_quarantines as (

    select * from {{ ref('stg_events__item_quarantines') }}

),

unioned as (

    select
        release_id,
        source_path,
        sha256,
        'file' as kind,
        reason,
        null::bigint as item_index,
        null::bigint as source_offset,
    from file_quarantines

    union all

    select
        release_id,
        source_path,
        sha256,
        'item' as kind,
        reason,
        item_index,
        source_offset,
    from item_quarantines

),

final as (

    select
        {{ make_id('q', ['release_id', 'source_path', 'kind', 'item_index', 'source_offset']) }} as quarantine_id,
        *,
    from unioned
    -- the same file quarantined twice in one release (e.g. reader re-run) is one quarantine entry
    qualify row_number() over (partition by quarantine_id order by reason) = 1

)

select * from final
