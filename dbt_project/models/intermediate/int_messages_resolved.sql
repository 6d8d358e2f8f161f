{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_gone_fingerprints('int_message_threads', 'row_fingerprint') }}",
) }}
{#- One row per message (message_id): its current appearance's headers, body, addresses and source, with
    what int_message_threads decided across releases (thread, appearance counts, first release).
    Incremental by message: a build writes the messages whose row fingerprint (int_message_threads) the
    table does not hold, after the pre-hook deleted those whose fingerprint is gone. A new release thus
    writes its own messages and those whose thread, counts or current copy it changed, not every body. -#}
with

-- the build side of final's hash join (all messages on a full build), so only what final takes from it
threads_to_write as (

    select
        current_event_id,
        thread_id,
        thread_method,
        appearances,
        release_count,
        source_kinds,
        first_release_id,
        first_released_on,
        row_fingerprint,
    from {{ ref('int_message_threads') }}
    {%- if is_incremental() %}
    where row_fingerprint not in (select row_fingerprint from {{ this }})
    {%- endif %}

),

-- the current appearance's row, by event: the only read of the wide columns
final as (

    select
        current_appearance.message_key as message_id,
        current_appearance.header_message_id,
        threads_to_write.thread_id,
        threads_to_write.thread_method,
        current_appearance.sent_at,
        current_appearance.from_email,
        current_appearance.from_name,
        current_appearance.subject,
        current_appearance.body_text,
        current_appearance.from_addresses,
        current_appearance.to_addresses,
        current_appearance.cc_addresses,
        current_appearance.bcc_addresses,
        threads_to_write.appearances,
        threads_to_write.release_count,
        threads_to_write.source_kinds,
        threads_to_write.first_release_id,
        current_appearance.release_id as current_release_id,
        current_appearance.release_rank as current_release_rank,
        current_appearance.document_id,
        current_appearance.source_path,
        current_appearance.source_offset,
        current_appearance.event_id as current_event_id,
        -- odd dates are data: the Date header as written, the reader's defects and a date_quality flag
        -- (sent_at against the first release containing the message; macros/date_quality.sql)
        current_appearance.date_raw as sent_at_text,
        coalesce(current_appearance.defects, []) as reader_defects,
        current_appearance.text_source,
        current_appearance.ocr_confidence,
        {{ date_quality('current_appearance.sent_at', 'current_appearance.date_raw', 'threads_to_write.first_released_on') }} as date_quality,
        threads_to_write.row_fingerprint,
    from {{ ref('int_messages_keyed') }} as current_appearance
    inner join threads_to_write
        on current_appearance.event_id = threads_to_write.current_event_id

)

select * from final
