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

appearances as (

    select
        event_id,
        release_id,
        {{ search_tokens("concat_ws(chr(10), subject, body_text)") }} as tokens,
    from {{ ref('int_messages_normalized') }}
    where {{ in_releases_to_build('release_id') }}

),

tokens as (

    select
        event_id,
        release_id,
        len(tokens) as unit_length,
        unnest(tokens) as term,
        unnest(generate_series(1, len(tokens))) as position,
    from appearances

),

final as (

    select
        tokens.event_id,
        tokens.release_id,
        tokens.term,
        cast(count(*) as integer) as term_frequency,
        cast(any_value(tokens.unit_length) as integer) as unit_length,
        -- sorting each small list is cheaper than an ordered aggregate over all tokens
        list_sort(list(cast(tokens.position as integer))) as positions,
        any_value(releases_to_build.release_fingerprint) as release_fingerprint,
    from tokens
    inner join releases_to_build
        on releases_to_build.release_id = tokens.release_id
    group by tokens.event_id, tokens.release_id, tokens.term

)

select * from final
