{#- The evidence behind each person of `people`, one row per (person, what it supports, where it was seen):
    an address (header, name_match, roster, search_log, body, calendar, contact_card), an organisation
    (address_domain, roster, signature, contact_card), or, for a placeholder person (a redacted entry, a
    name no single address carries), the header or calendar entry it stands for. The address and
    organisation rows are people.address_evidence / org_evidence flattened, so the two never disagree. -#}
with

people as (

    select * from {{ ref('int_people_identified') }}

),

placeholder_entries as (

    select * from {{ ref('int_addresses_unnested') }}
    where identity_method in ('redacted', 'placeholder')
        -- the placeholders people keeps (those of current versions); older copies of the entry still cite
        and person_id in (select person_id from people)

),

citations as (

    select event_id, citation from {{ ref('int_citations_formatted') }}

    union all

    select event_id, citation from {{ ref('stg_events__calendar_events') }}

),

address_rows as (

    select
        person_id,
        'address' as evidence_for,
        evidence.email,
        null::varchar as org_id,
        evidence.seen_in,
        evidence.times_seen,
        evidence.citation,
    from (select person_id, unnest(address_evidence) as evidence from people)

),

org_rows as (

    select
        person_id,
        'organization' as evidence_for,
        null::varchar as email,
        evidence.org_id,
        evidence.seen_in,
        null::bigint as times_seen,
        evidence.citation,
    from (select person_id, unnest(org_evidence) as evidence from people)

),

-- a placeholder is per (message, field, position), so its entries are the copies of that one entry
entry_rows as (

    select
        placeholder_entries.person_id,
        'entry' as evidence_for,
        null::varchar as email,
        null::varchar as org_id,
        case when placeholder_entries.source = 'calendar' then 'calendar' else 'header' end as seen_in,
        count(*) as times_seen,
        min(citations.citation) as citation,
    from placeholder_entries
    left join citations
        on placeholder_entries.event_id = citations.event_id
    group by all

),

unioned as (

    select * from address_rows
    union all
    select * from org_rows
    union all
    select * from entry_rows

),

final as (

    select
        {{ make_id('pev', ['person_id', 'evidence_for', 'email', 'org_id', 'seen_in']) }} as evidence_id,
        *,
    from unioned

)

select * from final
