{#- One row per person: a normalized email address (from message headers of current versions, roster
    holders, search-log users, and addresses written in a sender's own text), or a redaction
    placeholder. A name written without an address joins the person whose address is the only one carrying
    that name (int_addresses_unnested.identity_method = name_match). Organisations come from the email
    domain, the roster's agency, and affiliation rules matched against the signature blocks of messages
    the person sent. Every address and organisation keeps its evidence: where it was seen (header,
    name_match, roster, search_log, body, calendar, contact_card / address_domain, roster, signature,
    contact_card), how often, and a citation.
    Calendar invitations (int_addresses_unnested source = 'calendar': organizer and attendees) are sightings
    seen_in 'calendar'. Contact cards (vCards) give each of their addresses a sighting seen_in 'contact_card'
    with the card's name (which counts for display_name like a header name), and their ORG an organisation
    when it is, case-insensitively and trimmed, an org's name or id (org_domains) or a vendor name alias
    (vendor_aliases): org evidence seen_in 'contact_card', in `orgs` (primary only when nothing else gives
    one), never a signature affiliation (affiliated_org_ids / is_dual_affiliated stay signature-rule based).
    Cards and calendar events are cited by their own staging citation (file + line). -#}
with

addresses as (

    select * from {{ ref('int_addresses_unnested') }}
    where is_current

),

messages as (

    select from_email, current_event_id from {{ ref('int_messages_resolved') }}

),

-- what the current appearances' own text says: addresses written in it, organisations its signature names
own_text_scanned as (

    select * from {{ ref('int_message_own_text_scanned') }}
    where event_id in (select current_event_id from messages)

),

roster_rows as (

    select * from {{ ref('stg_events__roster_rows') }}

),

search_log_rows as (

    select * from {{ ref('stg_events__search_log_rows') }}

),

contact_cards as (

    select * from {{ ref('stg_events__contact_cards') }}

),

calendar_events as (

    select event_id, citation from {{ ref('stg_events__calendar_events') }}

),

vendor_aliases as (

    select * from {{ ref('vendor_aliases') }}

),

org_domains as (

    select * from {{ ref('org_domains') }}

),

citations as (

    select event_id, citation from {{ ref('int_citations_formatted') }}

    union all

    -- not (yet) in int_citations_formatted: cited by their own staging citation
    select event_id, citation from contact_cards

    union all

    select event_id, citation from calendar_events

),

organizations as (

    select distinct org_id, org_name, org_kind from org_domains

),

-- every (person, name) sighting, with the event that shows it; names are only taken from headers and
-- rosters. A name-only header entry linked to a person (name_match) is a sighting of that person's address.
sightings as (

    select
        person_id,
        coalesce(email, resolved_email) as email,
        name,
        is_redacted,
        placeholder_name,
        case
            when identity_method = 'name_match' then 'name_match'
            when source = 'calendar' then 'calendar'
            else 'header'
        end as seen_in,
        event_id,
    from addresses

    union all

    select {{ make_id('person', ['holder_email']) }}, holder_email, holder_name, false, null, 'roster', event_id
    from roster_rows
    where holder_email is not null

    union all

    select {{ make_id('person', ['user_email']) }}, user_email, null, false, null, 'search_log', event_id
    from search_log_rows
    where user_email is not null

    union all

    select {{ make_id('person', ['card_email']) }}, card_email, full_name, false, null, 'contact_card', event_id
    from (select unnest(emails) as card_email, full_name, event_id from contact_cards)

    union all

    select {{ make_id('person', ['mentioned_email']) }}, mentioned_email, null, false, null, 'body', event_id
    from (select event_id, unnest(mentioned_emails) as mentioned_email from own_text_scanned)

),

-- evidence for each address of a person: where it was seen, how often, and the first citation (by text).
-- Header entries of every appearance count, not only current ones: a printed copy of a message whose
-- current appearance is its load-file record still shows the name it linked by.
evidence_sightings as (

    select
        person_id,
        coalesce(email, resolved_email) as email,
        case
            when identity_method = 'name_match' then 'name_match'
            when source = 'calendar' then 'calendar'
            else 'header'
        end as seen_in,
        event_id,
    from {{ ref('int_addresses_unnested') }}
    -- every appearance of a message; a superseded version of a meeting is not evidence
    where source is distinct from 'calendar' or is_current

    union all

    select person_id, email, seen_in, event_id
    from sightings
    where seen_in not in ('header', 'name_match', 'calendar')

),

address_evidence as (

    select
        evidence_sightings.person_id,
        evidence_sightings.email,
        evidence_sightings.seen_in,
        count(*) as times_seen,
        min(citations.citation) as citation,
    from evidence_sightings
    left join citations
        on citations.event_id = evidence_sightings.event_id
    where evidence_sightings.email is not null
    group by all

),

name_counts as (

    select
        person_id,
        name,
        count(*) as times_seen,
    from sightings
    where name is not null
        and not is_redacted
        and name not ilike '%redacted%'
    group by person_id, name

),

best_names as (

    select
        person_id,
        -- most frequent non-empty name; ties broken alphabetically for determinism
        arg_max(name, times_seen * 1000000 - rank_in_alpha) as display_name,
    from (
        select *, row_number() over (partition by person_id order by name) as rank_in_alpha
        from name_counts
    )
    group by person_id

),

persons as (

    select
        person_id,
        max(email) as email,
        bool_and(email is null and is_redacted) as is_redacted,
        min(placeholder_name) as placeholder_name,
    from sightings
    group by person_id

),

domain_orgs as (

    select
        persons.person_id,
        org_domains.org_id,
        org_domains.org_kind,
    from persons
    inner join org_domains
        on split_part(persons.email, '@', 2) = org_domains.domain
        or split_part(persons.email, '@', 2) like '%.' || org_domains.domain

),

roster_orgs as (

    select distinct
        {{ make_id('person', ['roster_rows.holder_email']) }} as person_id,
        organizations.org_id,
    from roster_rows
    inner join organizations
        on lower(roster_rows.agency) in (lower(organizations.org_name), lower(organizations.org_id))
    where roster_rows.holder_email is not null

),

affiliated_orgs as (

    select
        {{ make_id('person', ['messages.from_email']) }} as person_id,
        affiliations.org_id,
        min(citations.citation) as citation,
    from messages
    inner join (select event_id, unnest(affiliated_org_ids) as org_id from own_text_scanned) as affiliations
        on affiliations.event_id = messages.current_event_id
    left join citations
        on citations.event_id = messages.current_event_id
    where messages.from_email is not null
    group by all

),

-- a card's ORG naming a known organisation (org_domains name / id, or a vendor name alias)
card_orgs as (

    select
        {{ make_id('person', ['cards.card_email']) }} as person_id,
        org_names.org_id,
        min(citations.citation) as citation,
    from (select unnest(emails) as card_email, org, event_id from contact_cards where org is not null) as cards
    inner join (
        select org_id, org_name as org_text from organizations
        union
        select org_id, org_id from organizations
        union
        select vendor, alias from vendor_aliases where alias_kind = 'name'
    ) as org_names
        on lower(trim(cards.org)) = lower(org_names.org_text)
    left join citations
        on citations.event_id = cards.event_id
    group by all

),

roster_org_evidence as (

    select
        {{ make_id('person', ['roster_rows.holder_email']) }} as person_id,
        organizations.org_id,
        min(citations.citation) as citation,
    from roster_rows
    inner join organizations
        on lower(roster_rows.agency) in (lower(organizations.org_name), lower(organizations.org_id))
    left join citations
        on citations.event_id = roster_rows.event_id
    where roster_rows.holder_email is not null
    group by all

),

-- evidence for each organisation: the address's domain (cited where the address was first seen), the
-- roster's agency, or a signature affiliation rule (cited at the message)
org_evidence as (

    select
        domain_orgs.person_id,
        domain_orgs.org_id,
        'address_domain' as seen_in,
        (select min(e.citation) from address_evidence as e where e.person_id = domain_orgs.person_id) as citation,
    from domain_orgs
    where domain_orgs.org_kind <> 'personal_email'

    union all

    select person_id, org_id, 'roster', citation from roster_org_evidence

    union all

    select person_id, org_id, 'signature', citation from affiliated_orgs

    union all

    select person_id, org_id, 'contact_card', citation from card_orgs

),

evidence_lists as (

    select
        person_id,
        list({'email': email, 'seen_in': seen_in, 'times_seen': times_seen, 'citation': citation} order by email, seen_in) as address_evidence,
        null as org_evidence,
    from address_evidence
    group by person_id

    union all by name

    select
        person_id,
        null as address_evidence,
        list({'org_id': org_id, 'seen_in': seen_in, 'citation': citation} order by org_id, seen_in) as org_evidence,
    from org_evidence
    group by person_id

),

evidence as (

    select
        person_id,
        any_value(address_evidence) as address_evidence,
        any_value(org_evidence) as org_evidence,
    from evidence_lists
    group by person_id

),

all_orgs as (

    select person_id, org_id, 1 as priority from domain_orgs where org_kind <> 'personal_email'
    union all
    select person_id, org_id, 2 from roster_orgs
    union all
    select person_id, org_id, 3 from affiliated_orgs
    union all
    select person_id, org_id, 4 from card_orgs

),

org_lists as (

    select
        person_id,
        list(distinct org_id order by org_id) as orgs,
        -- primary: the address's own organisation, else the roster agency, else a signature affiliation
        arg_min(org_id, priority::varchar || org_id) as primary_org_id,
    from all_orgs
    group by person_id

),

final as (

    select
        persons.person_id,
        case when persons.email is null then persons.placeholder_name else best_names.display_name end as display_name,
        case when persons.email is null then [] else [persons.email] end as emails,
        persons.email,
        coalesce(org_lists.orgs, []) as orgs,
        org_lists.primary_org_id,
        coalesce((select list(distinct a.org_id order by a.org_id) from affiliated_orgs as a where a.person_id = persons.person_id), []) as affiliated_org_ids,
        persons.is_redacted,
        exists (
            select 1
            from domain_orgs as police
            inner join affiliated_orgs as other
                on other.person_id = police.person_id
                and other.org_id <> police.org_id
            where police.person_id = persons.person_id
                and police.org_kind = 'local_police'
        ) as is_dual_affiliated,
        exists (
            select 1 from domain_orgs as d
            where d.person_id = persons.person_id and d.org_kind = 'personal_email'
        ) as is_personal_email,
        coalesce(evidence.address_evidence, []) as address_evidence,
        coalesce(evidence.org_evidence, []) as org_evidence,
    from persons
    left join best_names
        on persons.person_id = best_names.person_id
    left join org_lists
        on persons.person_id = org_lists.person_id
    left join evidence
        on persons.person_id = evidence.person_id

)

select * from final
