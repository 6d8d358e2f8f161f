with

redactions as (

    select * from {{ ref('int_redactions_extracted') }}

),

-- the message key of each appearance now: copy matching across releases can change it
appearances as (

    select appearance_key, message_key from {{ ref('int_messages_keyed') }}

),

redaction_codes as (

    select * from {{ ref('redaction_codes') }}

),

final as (

    select
        redactions.redaction_id,
        redactions.release_id,
        redactions.document_id,
        appearances.message_key as message_id,
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
    left join appearances
        on appearances.appearance_key = redactions.appearance_key
    left join redaction_codes
        on redactions.code = redaction_codes.code

)

select * from final
