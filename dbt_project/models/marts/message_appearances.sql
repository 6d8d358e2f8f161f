{{ config(
    materialized='incremental',
    incremental_strategy='row_hash',
    unique_key='appearance_id',
    post_hook="{{ index_row_hashes() }}",
) }}
{#- One row per appearance of a message: every copy of it in every release and document (a native
    .eml/.mbox/.msg message, a load-file record, a printed-PDF page, a quoted copy below a printed
    message), with where it sits and its citation. `messages` has one row per message (its current
    appearance); this mart lists all of them, so a message printed to PDF and exported in a load file is
    one message with two appearances. -#}
with

appearances as (

    select * from {{ ref('int_messages_keyed') }}

),

messages as (

    select message_id, current_event_id from {{ ref('int_messages_resolved') }}

),

citations as (

    select * from {{ ref('int_citations_formatted') }}

),

final as (

    select
        appearances.appearance_key as appearance_id,
        appearances.message_key as message_id,
        appearances.release_id,
        appearances.document_id,
        appearances.source_kind,
        appearances.identity_method,
        coalesce(appearances.quote_depth, 0) > 0 as is_quoted,
        appearances.event_id = messages.current_event_id as is_current,
        appearances.sent_at,
        appearances.date_raw as sent_at_text,
        appearances.from_email,
        appearances.from_name,
        appearances.subject,
        citations.source_bates,
        citations.page_first,
        citations.page_last,
        citations.source_row,
        citations.source_offset,
        citations.citation,
    from appearances
    inner join messages
        on messages.message_id = appearances.message_key
    left join citations
        on citations.event_id = appearances.event_id

)

select * from final
