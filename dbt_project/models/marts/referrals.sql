{#- A referral: a message from an agency (local_police) person to a vendor person (vendor in To/Cc) that
    puts in To/Cc, or names in the sender's own text, the address of a person of a third law-enforcement
    organisation (not the agency, not the vendor). Whether the vendor later provisioned that address is
    checked against the vendor emails that grant an account as provisioning (is_account_grant, grant_kind).
    In the sample these are synthetic_modeled records. -#}
with

-- plain reads, inlined where used (each use reads only its columns): materialized, a CTE used more than
-- once held a copy of its whole table
messages as not materialized (

    select * from {{ ref('int_messages_resolved') }}

),

addresses as not materialized (

    select * from {{ ref('int_addresses_unnested') }}
    where is_current

),

people as (

    select * from {{ ref('int_people_identified') }}

),

organizations as (

    select * from {{ ref('organizations') }}

),

signals as (

    select * from {{ ref('int_message_signals_matched') }}

),

releases as (

    select * from {{ ref('stg_events__releases') }}

),

citations as (

    select * from {{ ref('int_citations_formatted') }}

),

-- addresses written in each appearance's own text (read once per appearance)
mentions as (

    select
        event_id,
        unnest(mentioned_emails) as mentioned_email,
    from {{ ref('int_message_own_text_scanned') }}

),

person_orgs as (

    select
        people.person_id,
        people.email,
        unnest(people.orgs) as org_id,
    from people

),

agency_messages as (

    select
        messages.message_id,
        messages.sent_at,
        messages.current_event_id,
        messages.current_release_id as release_id,
        messages.document_id,
        sender.person_id as referrer_person_id,
        sender.primary_org_id as referrer_org,
    from messages
    inner join addresses as sender_address
        on sender_address.event_id = messages.current_event_id
        and sender_address.field = 'from'
        and sender_address.position = 0
    inner join people as sender
        on sender.person_id = sender_address.person_id
    inner join organizations as sender_org
        on sender_org.org_id = sender.primary_org_id
    where sender_org.kind = 'local_police'

),

vendor_recipients as (

    select
        agency_messages.message_id,
        min(recipient.primary_org_id) as vendor,
    from agency_messages
    inner join addresses
        on addresses.event_id = agency_messages.current_event_id
        and addresses.field in ('to', 'cc')
    inner join people as recipient
        on recipient.person_id = addresses.person_id
    inner join organizations as recipient_org
        on recipient_org.org_id = recipient.primary_org_id
    where recipient_org.kind = 'vendor'
    group by agency_messages.message_id

),

candidates as (

    -- third party copied on the message
    select
        agency_messages.message_id,
        addresses.person_id as referred_person_id,
        'agency_cc_third_party_to_vendor' as rule,
        1 as rule_priority,
    from agency_messages
    inner join addresses
        on addresses.event_id = agency_messages.current_event_id
        and addresses.field in ('to', 'cc')

    union all

    -- third party's address written into the sender's own text
    select
        agency_messages.message_id,
        {{ make_id('person', ['mentions.mentioned_email']) }} as referred_person_id,
        'agency_body_mentions_third_party_to_vendor' as rule,
        2 as rule_priority,
    from agency_messages
    inner join mentions
        on mentions.event_id = agency_messages.current_event_id

),

third_party as (

    select
        candidates.message_id,
        candidates.referred_person_id,
        candidates.rule,
        candidates.rule_priority,
        person_orgs.email as referred_email,
        person_orgs.org_id as referred_org,
        organizations.kind as referred_org_kind,
    from candidates
    inner join agency_messages
        on candidates.message_id = agency_messages.message_id
    inner join vendor_recipients
        on candidates.message_id = vendor_recipients.message_id
    inner join person_orgs
        on person_orgs.person_id = candidates.referred_person_id
    inner join organizations
        on organizations.org_id = person_orgs.org_id
    where person_orgs.org_id not in (agency_messages.referrer_org, vendor_recipients.vendor)
        and organizations.kind in ('local_police', 'federal_immigration', 'federal_other')

),

one_per_person as (

    select *
    from third_party
    -- copied beats mentioned; a person with several third-party orgs is reported once
    qualify row_number() over (
        partition by message_id, referred_person_id
        order by rule_priority, referred_org
    ) = 1

),

-- vendor emails that provision an account (int_message_signals_matched: scored signal rules; an
-- invitation alone does not confirm), with each holder: the To recipients, or for a forwarded vendor
-- email its holders
provisioning_grants as (

    select distinct
        message_id,
        vendor_org_id,
        part,
        sent_at,
        holder_emails,
    from signals
    where is_account_grant
        and grant_kind = 'provisioning'

),

provisioning as (

    select
        provisioning_grants.message_id,
        provisioning_grants.vendor_org_id,
        provisioning_grants.sent_at,
        addresses.person_id,
    from provisioning_grants
    inner join messages
        on provisioning_grants.message_id = messages.message_id
    inner join addresses
        on addresses.event_id = messages.current_event_id
        and addresses.field = 'to'
    where provisioning_grants.part = 'message'

    union all

    select
        message_id,
        vendor_org_id,
        sent_at,
        {{ make_id('person', ['holder_email']) }} as person_id,
    from (
        select *, unnest(holder_emails) as holder_email
        from provisioning_grants
        where part = 'forwarded'
    )

),

final as (

    select
        {{ make_id('ref', ['one_per_person.message_id', 'one_per_person.referred_person_id']) }} as referral_id,
        agency_messages.sent_at as referred_at,
        agency_messages.referrer_person_id,
        agency_messages.referrer_org,
        one_per_person.referred_person_id,
        one_per_person.referred_email,
        one_per_person.referred_org,
        one_per_person.referred_org_kind,
        vendor_recipients.vendor,
        one_per_person.message_id as evidence_message_id,
        one_per_person.rule,
        (
            select arg_min(p.message_id, p.sent_at)
            from provisioning as p
            where p.person_id = one_per_person.referred_person_id
                and p.vendor_org_id = vendor_recipients.vendor
                and p.sent_at >= agency_messages.sent_at
        ) as provisioned_message_id,
        agency_messages.release_id,
        agency_messages.document_id,
        -- referrals in synthetic releases are invented details of documented events (foil-facts §13.4)
        case when releases.is_synthetic then 'synthetic_modeled' else 'derived_from_release' end as provenance,
        citations.source_bates,
        citations.page_first,
        citations.page_last,
        citations.source_row,
        citations.source_offset,
        citations.citation,
    from one_per_person
    inner join agency_messages
        on one_per_person.message_id = agency_messages.message_id
    inner join vendor_recipients
        on one_per_person.message_id = vendor_recipients.message_id
    left join releases
        on agency_messages.release_id = releases.release_id
    left join citations
        on citations.event_id = agency_messages.current_event_id

)

select
    referral_id,
    referred_at,
    referrer_person_id,
    referrer_org,
    referred_person_id,
    referred_email,
    referred_org,
    referred_org_kind,
    vendor,
    evidence_message_id,
    rule,
    provisioned_message_id is not null as is_confirmed_by_provisioning,
    provisioned_message_id,
    release_id,
    document_id,
    provenance,
    source_bates,
    page_first,
    page_last,
    source_row,
    source_offset,
    citation,
from final
