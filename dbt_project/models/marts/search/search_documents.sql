{#- One row per searchable unit (see search_units) with what a hit shows: kind, release, document,
    message, page, date, title, length in terms and the citation. The text itself stays where it already
    is (messages.subject and body_text, ocr_pages.text); only plain-text documents and attachments, whose
    text no other table holds, keep it here. -#}
with

units as (

    select * exclude (text) from {{ ref('search_units') }}

),

numbers as (

    select unit_id, kind, source_id from {{ ref('int_search_units_numbered') }}

),

lengths as (

    select
        unit_id,
        any_value(unit_length) as unit_length,
    from {{ ref('search_postings') }}
    group by unit_id

),

final as (

    select
        numbers.unit_id,
        units.kind,
        units.source_id,
        units.release_id,
        units.document_id,
        units.message_id,
        units.page,
        units.sent_at,
        units.title,
        coalesce(lengths.unit_length, 0) as unit_length,
        units.kept_text as text,
        units.citation,
    from units
    inner join numbers
        on numbers.kind = units.kind
        and numbers.source_id = units.source_id
    left join lengths
        on numbers.unit_id = lengths.unit_id

)

select * from final
