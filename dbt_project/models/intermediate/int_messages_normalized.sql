{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_releases() }}",
) }}
{#- One row per message appearance with what depends on that appearance alone: the parsed email, its
    normalized threading headers, sender, content key and appearance key. Incremental by release
    (macros/incremental_releases.sql): each email's JSON is parsed and hashed once, when its release is
    first read (or re-read, withdrawn, reinstated), never again on later builds. What depends on other
    releases (release rank, the message key from matching copies across releases) is joined on in
    int_messages_keyed. -#}
with

releases_to_build as (

    {{ releases_to_build() }}

),

emails as (

    select * exclude (release_rank, released_on) from {{ ref('stg_events__emails') }}
    where {{ in_releases_to_build('release_id') }}

),

normalized as (

    select
        *,
        {{ normalized_message_id('header_message_id') }} as normalized_message_id,
        nullif(lower(trim(in_reply_to, '<> ')), '') as normalized_in_reply_to,
        nullif(lower(trim("references"[1], '<> ')), '') as normalized_first_reference,
        nullif(lower(trim("references"[-1], '<> ')), '') as normalized_last_reference,
        nullif(lower(trim(from_addresses[1].email)), '') as from_email,
        from_addresses[1].name as from_name,
        case
            when {{ normalized_message_id('header_message_id') }} is null then {{ message_content_key() }}
        end as content_key,
    from emails

),

final as (

    select
        normalized.*,
        -- what kind of copy this appearance is
        case parser
            when 'printed_pdf' then 'printed_pdf'
            when 'image' then 'scanned_image'
            when 'concordance_dat' then 'load_file'
            else 'native'
        end as source_kind,
        -- one appearance = one item of one document; stable across re-reads by a newer parser
        {{ make_id('app', ['document_id', 'source_offset', 'item_index', 'header_message_id', 'sent_at']) }} as appearance_key,
        coalesce(normalized_in_reply_to, normalized_last_reference) as parent_message_id,
        coalesce(normalized_first_reference, normalized_in_reply_to) as thread_hint,
        releases_to_build.release_fingerprint,
    from normalized
    inner join releases_to_build
        on releases_to_build.release_id = normalized.release_id

)

select * from final
