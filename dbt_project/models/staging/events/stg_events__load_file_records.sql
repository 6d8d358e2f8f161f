-- load_file_record: a Concordance/Relativity DAT record that is not an email (docs/events.md)
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'load_file_record'

),

renamed as (

    select
        -- ids and pointers
        event_id,
        release_id,
        release_rank,
        document_id,
        source_path,
        source_row,
        source_offset,
        source_bates,
        try_cast(payload ->> 'index' as bigint) as item_index,

        -- production metadata
        payload ->> 'bates_begin' as bates_begin,
        payload ->> 'bates_end' as bates_end,
        payload ->> 'attach_begin' as attach_begin,
        payload ->> 'attach_end' as attach_end,
        payload ->> 'parent_bates' as parent_bates,
        payload ->> 'custodian' as custodian,
        payload ->> 'doctype' as doctype,
        payload ->> 'date_raw' as date_raw,
        occurred_at,

        -- text and linked files
        payload ->> 'text' as text,
        payload ->> 'text_path' as text_path,
        payload ->> 'native_path' as native_path,
        payload ->> 'text_encoding' as text_encoding,
        payload ->> 'encoding' as encoding,
        payload ->> 'delimiter_profile' as delimiter_profile,
        payload -> 'fields' as fields,
        coalesce(cast(payload -> 'defects' as varchar[]), []) as defects,
    from events

)

select * from renamed
