with

redactions as (

    select * from {{ ref('int_redactions_extracted') }}

),

redaction_codes as (

    select * from {{ ref('redaction_codes') }}

),

final as (

    select
        redactions.redaction_id,
        redactions.release_id,
        redactions.document_id,
        redactions.message_id,
        redactions.field,
        redactions.position,
        redactions.raw_text,
        redactions.code,
        coalesce(redaction_codes.jurisdiction, redactions.jurisdiction) as jurisdiction,
        -- a token or inline citation names the ground of that mark; a State Department stamp heads the
        -- page and lists the grounds used anywhere in the document
        case redactions.detection
            when 'release_stamp' then 'per_document'
            else 'per_mark'
        end as citation_level,
        redaction_codes.ground,
        redactions.detection,
        redactions.page,
        redactions.box_left,
        redactions.box_top,
        redactions.box_right,
        redactions.box_bottom,
        redactions.box_style,
        redactions.header_field,
    from redactions
    left join redaction_codes
        on redactions.code = redaction_codes.code

)

select * from final
