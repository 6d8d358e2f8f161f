{#- Base model of the events: the event log within the scope stg_events__file_readings decides (complete,
    not withdrawn releases within --as-of; the newest reading of each file; items only of finished files).
    Every other staging model reads this one. -#}

with

source as (

    select * from {{ source('raw', 'events') }}

),

readings as (

    select * from {{ ref('stg_events__file_readings') }}

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
        readings.released_on,
        readings.release_rank,
        {{ make_id('doc', ['source.release_id', 'source.source_path']) }} as document_id,
    from source
    inner join readings
        on source.release_id = readings.release_id
        and source.source_path = readings.source_path
        and source.parser = readings.parser
        and source.parser_version = readings.parser_version
    where source.event_type in ('release_registered', 'file_observed', 'file_quarantined')
        or readings.is_complete

)

select * from final
