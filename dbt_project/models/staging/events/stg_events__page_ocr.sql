-- page_ocr: one page without a text layer, read by OCR (readers/ocr.py): its text, the engine, the mean
-- word confidence and the redaction boxes found on its image. One row per document page: should two
-- OCR versions or engines have read the page in the same reader version, the newest is kept.
with

events as (

    select * from {{ ref('stg_events__events') }}
    where event_type = 'page_ocr'

),

parsed as (

    select
        *,
        json_transform(payload, '{
            "page": "BIGINT", "text": "VARCHAR", "engine": "VARCHAR", "engine_version": "VARCHAR",
            "ocr_version": "VARCHAR", "confidence": "DOUBLE", "words": "BIGINT", "low_confidence_words": "BIGINT",
            "width": "BIGINT", "height": "BIGINT", "dpi": "BIGINT", "source": "VARCHAR",
            "redactions": [{"box": "BIGINT", "left": "BIGINT", "top": "BIGINT", "right": "BIGINT", "bottom": "BIGINT",
                            "style": "VARCHAR", "code": "VARCHAR", "header_field": "VARCHAR", "marker": "VARCHAR"}]
        }') as p,
    from events

),

renamed as (

    select
        event_id,
        release_id,
        release_rank,
        document_id,
        source_path,
        p.page as page,
        source_bates as bates,
        p.source as image_source,
        p.text as text,
        p.engine as engine,
        p.engine_version as engine_version,
        p.ocr_version as ocr_version,
        p.confidence as confidence,
        p.words as words,
        p.low_confidence_words as low_confidence_words,
        p.width as width_px,
        p.height as height_px,
        p.dpi as dpi,
        coalesce(p.redactions, []) as redaction_boxes,
    from parsed
    qualify row_number() over (
        partition by document_id, p.page order by p.ocr_version desc, p.engine_version desc, event_id
    ) = 1

)

select * from renamed
