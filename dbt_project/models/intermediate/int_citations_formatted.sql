{#- One row per citable event (message appearance, roster / search-log / usage-report row): where the item
    sits in its document, and a human-readable citation
    '<release_id> / <source_path>[ p.F–L][ sheet S][ row N][ @ byte B][ attached message #I][ (BATES[–BATES])]'.
    A message read by OCR ends with '[OCR NN%]' (its pages' mean word confidence).
    Pages and Bates come from printed PDFs and load files; byte offsets are cited for mbox items only
    (an .eml/.msg is one item, its offset says nothing); rows for CSV/JSONL/XLSX records and load-file records.
    Marts join this on the event they cite, so a citation always names the row's own release and document. -#}
with

-- the email appearances as already parsed into int_messages_keyed (same rows and columns as
-- stg_events__emails): reading that view would parse every message's JSON payload once more
emails as (

    select * from {{ ref('int_messages_keyed') }}

),

roster_rows as (

    select * from {{ ref('stg_events__roster_rows') }}

),

search_log_rows as (

    select * from {{ ref('stg_events__search_log_rows') }}

),

usage_report_rows as (

    select * from {{ ref('stg_events__usage_report_rows') }}

),

files as (

    select * from {{ ref('stg_events__files') }}

),

located as (

    select
        event_id,
        'email_message' as event_type,
        release_id,
        document_id,
        source_path,
        source_bates,
        bates_end,
        page_first,
        page_last,
        source_row,
        source_offset,
        parser = 'mbox' as is_offset_cited,
        null::varchar as sheet,
        attached_to_index,
        item_index,
        ocr_confidence,
    from emails

    union all

    select
        roster_rows.event_id,
        'roster_row',
        roster_rows.release_id,
        roster_rows.document_id,
        files.source_path,
        null,
        null,
        null,
        null,
        roster_rows.source_row,
        null,
        false,
        null,
        null,
        null,
        null,
    from roster_rows
    left join files
        on roster_rows.document_id = files.document_id

    union all

    select
        event_id,
        'search_log_row',
        release_id,
        document_id,
        source_path,
        null,
        null,
        null,
        null,
        source_row,
        null,
        false,
        null,
        null,
        null,
        null,
    from search_log_rows

    union all

    select
        event_id,
        'usage_report_row',
        release_id,
        document_id,
        source_path,
        null,
        null,
        null,
        null,
        source_row,
        null,
        false,
        sheet,
        null,
        null,
        null,
    from usage_report_rows

),

final as (

    select
        event_id,
        event_type,
        release_id,
        document_id,
        source_path,
        source_bates,
        page_first,
        page_last,
        source_row,
        source_offset,
        release_id || ' / ' || coalesce(source_path, document_id)
            || case
                when page_first is null then ''
                when page_last is null or page_last = page_first then ' p.' || page_first
                else ' p.' || page_first || '–' || page_last
            end
            || case when sheet is not null then ' sheet ' || sheet else '' end
            || case when source_row is not null then ' row ' || source_row else '' end
            || case when is_offset_cited and source_offset is not null then ' @ byte ' || source_offset else '' end
            || case when attached_to_index is not null then ' attached message #' || item_index else '' end
            || case
                when source_bates is null then ''
                when bates_end is null or bates_end = source_bates then ' (' || source_bates || ')'
                else ' (' || source_bates || '–' || bates_end || ')'
            end
            -- text read by OCR says so, with its mean word confidence: a reader checks the page image
            || case
                when ocr_confidence is not null then ' [OCR ' || cast(round(ocr_confidence) as integer) || '%]'
                else ''
            end as citation,
    from located

)

select * from final
