{#- One row per normalised person name seen with an address (message headers of every appearance,
    roster holders; seed person_name_matching.name_sources): which addresses carry it, and the one it
    links a name-only entry to. A name links only when exactly one distinct address carries it and it
    has at least min_name_words words; a name two addresses share links to neither (never a guess).
    The normalised name: lower-case words of letters/digits, sorted ("Tamberlane, Ravi" = "Ravi
    Tamberlane" = "ravi tamberlane"); int_addresses_unnested and int_message_copies_matched normalise the
    same way.
    A contact card (vCard FN + each EMAIL, stg_events__contact_cards) is a sighting too (seen_in
    contact_card): like a header entry it writes a name beside an address, so it counts whenever name_sources
    names header (or names contact_card). A card with two addresses makes its name carried by two addresses,
    so that name links to neither. -#}
with

settings as (

    select
        cast(max(value) filter (where setting = 'min_name_words') as integer) as min_name_words,
        string_split(coalesce(max(value) filter (where setting = 'name_sources'), 'header,roster'), ',') as name_sources,
    from {{ ref('person_name_matching') }}

),

emails as (

    select * from {{ ref('int_messages_normalized') }}

),

roster_rows as (

    select * from {{ ref('stg_events__roster_rows') }}

),

contact_cards as (

    select * from {{ ref('stg_events__contact_cards') }}

),

header_entries as (

    select
        unnest(list_concat(
            list_concat(coalesce(from_addresses, []), coalesce(to_addresses, [])),
            list_concat(coalesce(cc_addresses, []), coalesce(bcc_addresses, []))
        )) as entry,
    from emails

),

sightings as (

    select 'header' as seen_in, entry.name as name, lower(trim(entry.email)) as email,
    from header_entries
    where not coalesce(entry.redacted, false)

    union all

    select 'roster', holder_name, holder_email
    from roster_rows

    union all

    select 'contact_card', full_name, unnest(emails)
    from contact_cards

),

normalised as (

    select
        seen_in,
        email,
        list_sort(list_filter(regexp_split_to_array(lower(name), '[^a-z0-9]+'), lambda w: w <> '')) as name_words,
    from sightings, settings
    where nullif(email, '') is not null
        and nullif(trim(name), '') is not null
        -- an address written as the name says nothing about a name
        and not contains(name, '@')
        and name not ilike '%redacted%'
        and (
            list_contains(settings.name_sources, seen_in)
            or (seen_in = 'contact_card' and list_contains(settings.name_sources, 'header'))
        )

),

final as (

    select
        array_to_string(name_words, ' ') as name_key,
        list(distinct email order by email) as emails,
        cast(count(distinct email) as bigint) as address_count,
        case
            when count(distinct email) = 1 and len(any_value(name_words)) >= any_value(settings.min_name_words)
                then min(email)
        end as email,
        list(distinct seen_in order by seen_in) as seen_in,
    from normalised, settings
    where len(name_words) > 0
    group by 1

)

select * from final
