{#- One row per normalised person name seen with an address (message headers of every appearance,
    roster holders; seed person_name_matching.name_sources): which addresses carry it, and the one it
    links a name-only entry to. A name links only when exactly one distinct address carries it and it
    has at least min_name_words words; a name two addresses share links to neither (never a guess).
    The sightings and their normalised names come from int_person_name_sightings, release by release.
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

-- the distinct (name, address) sightings of every release, normalised (int_person_name_sightings)
normalised as (

    select
        sightings.seen_in,
        sightings.email,
        sightings.name_words,
    from {{ ref('int_person_name_sightings') }} as sightings, settings
    where list_contains(settings.name_sources, sightings.seen_in)
        or (sightings.seen_in = 'contact_card' and list_contains(settings.name_sources, 'header'))

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
