{#- One row per page read by OCR: how well it read (mean word confidence, a low-confidence flag against
    var ocr_low_confidence), the redaction boxes on it, its text and its citation. Low-confidence pages
    are kept like any other: the flag tells the analyst to check the page image. -#}
with

pages as (

    select * from {{ ref('stg_events__page_ocr') }}

),

final as (

    select
        {{ make_id('pg', ['document_id', 'page']) }} as page_id,
        release_id,
        document_id,
        source_path,
        page,
        bates,
        image_source,
        engine,
        engine_version,
        ocr_version,
        confidence,
        words,
        low_confidence_words,
        coalesce(confidence < {{ var('ocr_low_confidence') }}, true) as is_low_confidence,
        cast(len(redaction_boxes) as bigint) as redaction_box_count,
        width_px,
        height_px,
        dpi,
        text,
        release_id || ' / ' || source_path || ' p.' || page
            || case when bates is not null then ' (' || bates || ')' else '' end
            || ' [OCR ' || coalesce(cast(round(confidence) as integer) || '%', 'no words') || ']' as citation,
    from pages

)

select * from final
