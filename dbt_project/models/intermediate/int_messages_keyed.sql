{{ config(materialized='view') }}
{#- One row per message appearance, with the stable message key and normalized threading headers. The
    sender's own text and signature are computed where read (macros/message_text.sql). A copy without a
    Message-ID that int_message_copies_matched recognises as another copy of a message (a printed PDF and
    the load-file record or native email of the same message) takes that message's key.
    A view: the per-appearance work is stored by release in int_messages_normalized; what is joined on
    here (release rank, keys of copies matched across releases) is small and global, so no build
    rewrites the bodies. -#}
with

appearances as (

    select * from {{ ref('int_messages_normalized') }}

),

release_ranks as (

    select distinct release_id, release_rank, released_on
    from {{ ref('stg_events__events') }}
    where event_type = 'release_registered'

),

rereleased as (

    select * from {{ ref('int_messages_rereleased') }}

),

matched_copies as (

    select * from {{ ref('int_message_copies_matched') }}

),

keyed as (

    select
        appearances.* exclude (content_key, release_fingerprint),
        release_ranks.release_rank,
        release_ranks.released_on,
        -- no Message-ID: the key of the message this copy was matched to (printed PDF / load file /
        -- native), else for a copy a superseding release re-produced the first production's key, else
        -- the content key
        coalesce(appearances.normalized_message_id, matched_copies.message_key, rereleased.message_key, appearances.content_key) as message_key,
        -- how the key was found
        case
            when appearances.normalized_message_id is not null then 'message_id'
            when matched_copies.message_key is not null then 'copy_match'
            when rereleased.message_key is not null then 'rerelease'
            else 'content'
        end as identity_method,
    from appearances
    inner join release_ranks
        on release_ranks.release_id = appearances.release_id
    left join rereleased
        on rereleased.content_key = appearances.content_key
    left join matched_copies
        on matched_copies.content_key = appearances.content_key

)

select * from keyed
