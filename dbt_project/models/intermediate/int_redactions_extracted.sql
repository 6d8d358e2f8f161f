{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_releases() }}",
) }}
{#- One row per (redaction mark, cited code) in every message appearance (so a lifted redaction shows up
    as a mark present in one release and absent in the next), in load-file record text and in plain-text
    documents no load-file record points at (their text is scanned through that record already).
    Rules are data: seeds/redaction_patterns.csv finds marks and the codes in them, seeds/redaction_code_forms.csv
    maps written forms (OCR confusions included) to the canonical codes of seeds/redaction_codes.csv. Detections:
    - redaction_token: '[REDACTED 87(2)(b)]', '[REDACTED (b)(6), (b)(7)(C)]', '[REDACTED b7c]';
    - inline_citation: a citation in running text, '(b)(6)', 'FOIA b6', '§87(2)(b)', 'POL 87(2)(e)(iv)';
    - release_stamp: a State Department 'RELEASE IN PART B5,B6' stamp (OCR-tolerant codes; RELEASE IN FULL
      marks nothing and yields no row);
    - redaction_box: a box on a scanned page (readers/redaction_boxes.py), through the marker OCR put in its
      place, with page and bounding box; a box whose marker is in no text read is a row of its own (field
      'page').
    position is the 0-based character offset of the mark (redacted address entries: their list index). A mark
    citing several codes gives one row per code at the same position; a mark citing none gives one row with
    a null code.
    Every mark comes from one release's own events (its texts, address entries, pages and load-file records),
    so the model is incremental by release (macros/incremental_releases.sql). The message key is left out:
    copy matching across releases can change it, so the redactions mart joins it by appearance_key. -#}
{#- The combined mark pattern is read from the seed when the model compiles and inlined as a constant:
    a pattern taken from a joined column is recompiled for every row, which made this model the slowest
    of the build (40 s on 100k messages). -#}
{%- set rows = seed_rows('redaction_patterns',
    "select string_agg('(?:' || pattern || ')', '|' order by priority, pattern_id) from {seed} where role = 'mark'") -%}
{%- set mark_regex = (rows[0][0] if rows else none) or '(?!)' -%}
{%- set mark_regex_sql = sql_literal(mark_regex) %}
with

releases_to_build as (

    {{ releases_to_build() }}

),

-- inlined where used (each use reads its own columns): materialized, the bodies would be held at 1M messages
appearances as not materialized (

    select
        event_id,
        appearance_key,
        release_id,
        document_id,
        subject,
        body_text,
        text_path,
    from {{ ref('int_messages_normalized') }}
    where {{ in_releases_to_build('release_id') }}

),

addresses as (

    select * from {{ ref('int_addresses_unnested') }}
    where is_redacted
        and {{ in_releases_to_build('release_id') }}

),

load_file_records as (

    select * from {{ ref('stg_events__load_file_records') }}
    where {{ in_releases_to_build('release_id') }}

),

text_documents as (

    select * from {{ ref('stg_events__text_documents') }}
    where {{ in_releases_to_build('release_id') }}

),

redaction_patterns as (

    select * from {{ ref('redaction_patterns') }}

),

code_forms as (

    select * from {{ ref('redaction_code_forms') }}

),

-- redaction boxes found on OCRed page images; OCR put a '[REDACTED BOX p<page>-<n> <code>]' marker
-- where each sits, so a box is matched to the mark that cites it and adds its page and bounding box
boxes as (

    select
        page_ocr.event_id,
        page_ocr.release_id,
        page_ocr.document_id,
        page_ocr.page,
        unnest(page_ocr.redaction_boxes, recursive := true),
    from {{ ref('stg_events__page_ocr') }} as page_ocr
    where {{ in_releases_to_build('page_ocr.release_id') }}

),

mark_patterns as (

    select * from redaction_patterns
    where role = 'mark'

),

code_patterns as (

    select * from redaction_patterns
    where role = 'code'

),

-- a TEXTPATH file read by a load-file record (email or not) is scanned through that record
linked_text_paths as (

    select release_id, text_path from load_file_records where text_path is not null
    union
    select release_id, text_path from appearances where text_path is not null

),

text_fields as (

    select event_id, appearance_key, release_id, document_id, 'body' as field, body_text as text_value
    from appearances

    union all

    select event_id, appearance_key, release_id, document_id, 'subject', subject
    from appearances

    union all

    select
        event_id,
        {{ make_id('rec', ['document_id', 'source_offset', 'item_index']) }},
        release_id,
        document_id,
        'text',
        text,
    from load_file_records

    union all

    select
        event_id,
        {{ make_id('rec', ['document_id', 'null', 'null']) }},
        release_id,
        document_id,
        'text',
        text,
    from text_documents
    where not exists (
        select 1 from linked_text_paths
        where linked_text_paths.release_id = text_documents.release_id
            and linked_text_paths.text_path = text_documents.source_path
    )

),

-- one alternation scanned left to right: at any offset the earliest-priority pattern wins, so a citation
-- inside a token or stamp belongs to it and is never counted again
split as (

    select
        text_fields.*,
        regexp_split_to_array(text_fields.text_value, {{ mark_regex_sql }}, 'i') as parts,
        regexp_extract_all(text_fields.text_value, {{ mark_regex_sql }}, 0, 'i') as marks,
    from text_fields
    where regexp_matches(text_fields.text_value, {{ mark_regex_sql }}, 'i')

),

text_marks as (

    select
        event_id,
        appearance_key,
        release_id,
        document_id,
        field,
        -- offset = text before this mark + all earlier marks
        cast(
            length(array_to_string(parts[1:mark_number], ''))
            + length(array_to_string(marks[1:mark_number - 1], ''))
            as bigint
        ) as position,
        marks[mark_number] as raw_text,
    from split, unnest(generate_series(1, len(marks))) as numbers(mark_number)

),

-- the alternative that matched: the earliest-priority mark pattern matching the whole mark. Tested once
-- per distinct mark text (marks repeat a lot): a pattern taken from a column is compiled again for every
-- row it is tested on, which made this the slowest step of the model.
mark_text_patterns as (

    select
        distinct_marks.raw_text,
        arg_min(mark_patterns.pattern_id, mark_patterns.priority) as pattern_id,
    from (select distinct raw_text from text_marks) as distinct_marks
    inner join mark_patterns
        on regexp_full_match(distinct_marks.raw_text, mark_patterns.pattern, 'i')
    group by distinct_marks.raw_text

),

text_marks_classified as (

    select
        text_marks.*,
        mark_text_patterns.pattern_id,
    from text_marks
    left join mark_text_patterns
        on text_marks.raw_text = mark_text_patterns.raw_text

),

address_marks as (

    select
        event_id,
        appearance_key,
        release_id,
        document_id,
        field,
        position,
        coalesce(name, '[REDACTED]') as raw_text,
        -- a redacted address entry is a token in a header
        (select min(pattern_id) from mark_patterns where detection = 'redaction_token') as pattern_id,
    from addresses

),

marks as (

    select
        unioned.*,
        mark_patterns.detection,
        nullif(mark_patterns.jurisdiction, '') as mark_jurisdiction,
    from (
        select * from text_marks_classified
        union all
        select * from address_marks
    ) as unioned
    left join mark_patterns
        on unioned.pattern_id = mark_patterns.pattern_id
    -- a RELEASE IN FULL stamp says nothing was withheld
    where not (mark_patterns.detection = 'release_stamp' and regexp_matches(unioned.raw_text, 'RELEASE\s+IN\s+FULL', 'i'))

),

-- code texts found in each distinct (mark text, detection), for the same reason
mark_text_codes as (

    select
        distinct_marks.raw_text,
        distinct_marks.detection,
        code_patterns.jurisdiction,
        unnest(regexp_extract_all(distinct_marks.raw_text, code_patterns.pattern, 0, 'i')) as code_text,
    from (select distinct raw_text, detection from marks) as distinct_marks
    inner join code_patterns
        on code_patterns.detection = distinct_marks.detection

),

code_hits as (

    select
        marks.appearance_key,
        marks.field,
        marks.position,
        mark_text_codes.jurisdiction,
        mark_text_codes.code_text,
    from marks
    inner join mark_text_codes
        on mark_text_codes.raw_text = marks.raw_text
        and mark_text_codes.detection = marks.detection

),

mark_codes as (

    select distinct
        code_hits.appearance_key,
        code_hits.field,
        code_hits.position,
        code_forms.code,
        code_forms.jurisdiction,
    from code_hits
    inner join code_forms
        on code_forms.jurisdiction = code_hits.jurisdiction
        and code_forms.form = {{ redaction_form_key('code_hits.code_text') }}

),

coded as (

    select
        marks.*,
        mark_codes.code,
        coalesce(mark_codes.jurisdiction, marks.mark_jurisdiction) as jurisdiction,
        count(mark_codes.code) over (partition by marks.appearance_key, marks.field, marks.position) as codes_in_mark,
    from marks
    left join mark_codes
        on mark_codes.appearance_key = marks.appearance_key
        and mark_codes.field = marks.field
        and mark_codes.position = marks.position

),

with_boxes as (

    select
        coded.*,
        boxes.page,
        boxes."left" as box_left,
        boxes.top as box_top,
        boxes."right" as box_right,
        boxes.bottom as box_bottom,
        boxes.style as box_style,
        boxes.header_field,
    from coded
    left join boxes
        on coded.document_id = boxes.document_id
        and coded.raw_text ilike '[REDACTED BOX p%'
        and boxes.page = try_cast(regexp_extract(coded.raw_text, 'BOX p(\d+)-(\d+)', 1) as bigint)
        and boxes.box = try_cast(regexp_extract(coded.raw_text, 'BOX p(\d+)-(\d+)', 2) as bigint)

),

-- a box whose marker is in no text read (a page no message or text document kept) is still a row
unmarked_boxes as (

    select
        {{ make_id('red', ['boxes.document_id', 'boxes.page', 'boxes.box']) }} as redaction_id,
        boxes.event_id,
        null::varchar as appearance_key,
        boxes.release_id,
        boxes.document_id,
        'page' as field,
        boxes.box as position,  -- the box's number on its page
        boxes.marker as raw_text,
        code_forms.code,
        code_forms.jurisdiction,
        'redaction_box' as detection,
        boxes.page,
        boxes."left" as box_left,
        boxes.top as box_top,
        boxes."right" as box_right,
        boxes.bottom as box_bottom,
        boxes.style as box_style,
        boxes.header_field,
    from boxes
    left join code_forms
        on code_forms.form = {{ redaction_form_key('boxes.code') }}
    anti join with_boxes
        on with_boxes.document_id = boxes.document_id
        and with_boxes.page = boxes.page
        and with_boxes.box_left = boxes."left"
        and with_boxes.box_top = boxes.top
    qualify row_number() over (partition by boxes.document_id, boxes.page, boxes.box order by code_forms.jurisdiction) = 1

),

final as (

    select
        -- single-code marks keep the id of (appearance, field, position); multi-code marks add the code
        case
            when codes_in_mark > 1 then {{ make_id('red', ['appearance_key', 'field', 'position', 'code']) }}
            else {{ make_id('red', ['appearance_key', 'field', 'position']) }}
        end as redaction_id,
        event_id,
        appearance_key,
        release_id,
        document_id,
        field,
        position,
        raw_text,
        code,
        jurisdiction,
        case when box_style is not null then 'redaction_box' else detection end as detection,
        page,
        box_left,
        box_top,
        box_right,
        box_bottom,
        box_style,
        header_field,
    from with_boxes

    union all

    select * from unmarked_boxes

)

select
    final.*,
    releases_to_build.release_fingerprint,
from final
inner join releases_to_build
    on releases_to_build.release_id = final.release_id
