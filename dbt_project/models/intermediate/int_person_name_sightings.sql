{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_releases() }}",
) }}
{#- One row per (release, where seen, normalised name, address): a name written beside an address in a
    message header entry, a roster row or a contact card (vCard FN with each EMAIL) of that release. The
    normalised name is its lower-case words of letters/digits, sorted ("Tamberlane, Ravi" = "Ravi
    Tamberlane"); int_addresses_unnested and int_message_copies_matched normalise the same way. Redacted
    entries, names that are an address or say REDACTED, and entries without a name or an address say
    nothing about a name and are left out.
    A release's sightings never change, so this is incremental by release (macros/incremental_releases.sql):
    a build unnests the header entries of the releases it reads, not of every message, and int_person_names
    decides over these distinct rows which address each name links to. -#}
with

releases_to_build as (

    {{ releases_to_build() }}

),

header_entries as (

    select
        release_id,
        unnest(list_concat(
            list_concat(coalesce(from_addresses, []), coalesce(to_addresses, [])),
            list_concat(coalesce(cc_addresses, []), coalesce(bcc_addresses, []))
        )) as entry,
    from {{ ref('int_messages_normalized') }}
    where {{ in_releases_to_build('release_id') }}

),

roster_rows as (

    select * from {{ ref('stg_events__roster_rows') }}
    where {{ in_releases_to_build('release_id') }}

),

contact_cards as (

    select * from {{ ref('stg_events__contact_cards') }}
    where {{ in_releases_to_build('release_id') }}

),

sightings as (

    select release_id, 'header' as seen_in, entry.name as name, lower(trim(entry.email)) as email,
    from header_entries
    where not coalesce(entry.redacted, false)

    union all

    select release_id, 'roster', holder_name, holder_email
    from roster_rows

    union all

    select release_id, 'contact_card', full_name, unnest(emails)
    from contact_cards

),

normalised as (

    select distinct
        release_id,
        seen_in,
        email,
        list_sort(list_filter(regexp_split_to_array(lower(name), '[^a-z0-9]+'), lambda w: w <> '')) as name_words,
    from sightings
    where nullif(email, '') is not null
        and nullif(trim(name), '') is not null
        -- an address written as the name says nothing about a name
        and not contains(name, '@')
        and name not ilike '%redacted%'

),

final as (

    select
        normalised.*,
        releases_to_build.release_fingerprint,
    from normalised
    inner join releases_to_build
        on releases_to_build.release_id = normalised.release_id
    where len(normalised.name_words) > 0

)

select * from final
