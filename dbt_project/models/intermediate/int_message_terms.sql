{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_releases() }}",
) }}
{#- The search index's postings of every message appearance, before unit ids are known: one row per
    (appearance, term) of the text a message unit carries (subject, then body; search_units), with the
    term's frequency and positions and the text's length in terms. Tokenizing is most of the index's
    cost, and an appearance's text never changes, so this is incremental by release
    (macros/incremental_releases.sql); search_postings gives the current appearances their unit ids. -#}
with

releases_to_build as (

    {{ releases_to_build() }}

),

-- Each appearance gets a number, from its event id alone (so the window sorts narrow rows, not bodies:
-- numbered beside the text, it ran out of memory at 1M messages): grouping tokens by (number, term) keeps
-- the aggregate's state narrow, where grouping by the 64-character event id took about three times as
-- long and spilled.
numbered as materialized (

    select
        event_id,
        release_id,
        cast(row_number() over (order by event_id) as integer) as appearance_number,
    from {{ ref('int_messages_normalized') }}
    where {{ in_releases_to_build('release_id') }}

),

tokenized as (

    select
        numbered.appearance_number,
        {{ search_tokens("concat_ws(chr(10), appearances.subject, appearances.body_text)") }} as tokens,
    from {{ ref('int_messages_normalized') }} as appearances
    inner join numbered
        on numbered.event_id = appearances.event_id
    where {{ in_releases_to_build('appearances.release_id') }}

),

postings as (

    {{ term_postings('tokenized', 'appearance_number') }}

),

final as (

    select
        numbered.event_id,
        numbered.release_id,
        postings.term,
        postings.term_frequency,
        postings.unit_length,
        postings.positions,
        releases_to_build.release_fingerprint,
    from postings
    inner join numbered
        on numbered.appearance_number = postings.appearance_number
    inner join releases_to_build
        on releases_to_build.release_id = numbered.release_id

)

select * from final
