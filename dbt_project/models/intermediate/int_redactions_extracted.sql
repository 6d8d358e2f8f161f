{#- One row per redaction mark in every message appearance (so a lifted redaction shows up as a mark
    present in one release and absent in the next). Body/subject marks look like
    '[REDACTED 87(2)(b)]', '[REDACTED §87(2)(e)(iv)]', '[REDACTED POL 87(2)(g)]', '[REDACTED 87 (2)(b)]';
    position is the 0-based character offset. Redacted address entries use their list index. -#}
with

appearances as (

    select * from {{ ref('int_messages_keyed') }}

),

addresses as (

    select * from {{ ref('int_addresses_unnested') }}
    where is_redacted

),

text_fields as (

    select event_id, appearance_key, message_key, release_id, document_id, source_offset, 'body' as field, body_text as text_value
    from appearances
    where body_text ilike '%[redacted%'

    union all

    select event_id, appearance_key, message_key, release_id, document_id, source_offset, 'subject', subject
    from appearances
    where subject ilike '%[redacted%'

),

split as (

    select
        *,
        regexp_split_to_array(text_value, '\[REDACTED[^\]]*\]', 'i') as parts,
        regexp_extract_all(text_value, '\[REDACTED[^\]]*\]', 0, 'i') as marks,
    from text_fields

),

text_marks as (

    select
        event_id,
        appearance_key,
        message_key,
        release_id,
        document_id,
        source_offset,
        field,
        mark_number,
        -- offset = text before this mark + all earlier marks
        cast(
            length(array_to_string(parts[1:mark_number], ''))
            + length(array_to_string(marks[1:mark_number - 1], ''))
            as bigint
        ) as position,
        marks[mark_number] as raw_text,
    from split, unnest(generate_series(1, len(marks))) as numbers(mark_number)

),

address_marks as (

    select
        event_id,
        appearance_key,
        message_key,
        release_id,
        document_id,
        null::bigint as source_offset,
        field,
        null::bigint as mark_number,
        position,
        coalesce(name, '[REDACTED]') as raw_text,
    from addresses

),

unioned as (

    select * exclude (source_offset, mark_number) from text_marks
    union all
    select * exclude (source_offset, mark_number) from address_marks

),

final as (

    select
        {{ make_id('red', ['appearance_key', 'field', 'position']) }} as redaction_id,
        event_id,
        message_key as message_id,
        release_id,
        document_id,
        field,
        position,
        raw_text,
        {{ canonical_foil_code('raw_text') }} as code,
    from unioned

)

select * from final
