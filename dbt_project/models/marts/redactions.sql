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
        redaction_codes.jurisdiction,
        -- every mark in the sample carries its own citation (no cover-letter-only grounds yet)
        'per_mark' as citation_level,
        redaction_codes.ground,
    from redactions
    left join redaction_codes
        on redactions.code = redaction_codes.code

)

select * from final
