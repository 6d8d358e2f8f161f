-- text_document: the whole text of a plain-text file (e.g. a load file's TEXTPATH file)
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'text_document'

),

renamed as (

    select
        event_id,
        release_id,
        release_rank,
        document_id,
        source_path,
        payload ->> 'text' as text,
        payload ->> 'encoding' as encoding,
        try_cast(payload ->> 'chars' as bigint) as chars,
    from events

)

select * from renamed
