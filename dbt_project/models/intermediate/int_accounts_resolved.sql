{#- One row per vendor account, before search statistics. Sources:
    - roster rows (latest release's row wins for descriptive values),
    - vendor emails that grant an account (int_message_signals_matched.is_account_grant: several signal
      rules together, scored): each To recipient has an account created no later than the email; for a
      vendor email forwarded by a colleague, each invitee (the forwarded email's To, else the forward's),
    - search-log account refs that match neither (so every logged search has an account).
    Roster + email for the same (vendor, holder) merge into one row: roster values, earliest created_at. -#}
with

roster_rows as (

    select * from {{ ref('stg_events__roster_rows') }}

),

search_log_rows as (

    select * from {{ ref('stg_events__search_log_rows') }}

),

signals as (

    select * from {{ ref('int_message_signals_matched') }}

),

addresses as (

    select * from {{ ref('int_addresses_unnested') }}
    where is_current

),

messages as (

    select * from {{ ref('int_messages_resolved') }}

),

people as (

    select * from {{ ref('int_people_identified') }}

),

org_domains as (

    select * from {{ ref('org_domains') }}

),

contract_periods as (

    select * from {{ ref('contract_periods') }}

),

organizations as (

    select distinct org_id, org_name from org_domains

),

-- roster vendor text -> vendor org id: org names and ids, and every alias of a vendor (seed vendor_aliases)
vendor_lookup as (

    select name, min(org_id) as org_id
    from (
        select lower(org_name) as name, org_id from organizations
        union
        select lower(org_id) as name, org_id from organizations
        union
        select name, vendor_org_id as org_id from ({{ vendor_names() }})
    )
    group by name

),

-- roster text ('Clearview AI', 'NYPD') -> org ids; unknown names keep a slug of their text
roster_resolved as (

    select
        roster_rows.*,
        coalesce(vendor_org.org_id, regexp_replace(lower(roster_rows.vendor), '[^a-z0-9]+', '_', 'g')) as vendor_org_id,
        coalesce(agency_org.org_id, regexp_replace(lower(roster_rows.agency), '[^a-z0-9]+', '_', 'g')) as agency_org_id,
    from roster_rows
    left join vendor_lookup as vendor_org
        on lower(trim(roster_rows.vendor)) = vendor_org.name
    left join organizations as agency_org
        on lower(roster_rows.agency) in (lower(agency_org.org_name), agency_org.org_id)

),

roster_accounts as (

    select
        vendor_org_id,
        coalesce(holder_email, 'ref:' || account_ref) as holder_key,
        holder_email,
        {{ make_id('person', ['holder_email']) }} as holder_person_id,
        agency_org_id,
        unit,
        account_ref,
        device,
        min(created_at) over (partition by vendor_org_id, coalesce(holder_email, 'ref:' || account_ref)) as created_at,
        release_id,
        document_id,
        source_row,
        event_id as source_event_id,
    from roster_resolved
    qualify row_number() over (
        partition by vendor_org_id, coalesce(holder_email, 'ref:' || account_ref)
        order by release_rank desc, source_row
    ) = 1

),

-- one row per (vendor email part that grants an account, vendor)
grants as (

    select distinct
        message_id,
        vendor_org_id,
        part,
        holder_emails,
    from signals
    where is_account_grant

),

email_grants as (

    -- the vendor's own email: its To recipients (redacted ones as placeholder persons)
    select
        grants.vendor_org_id,
        coalesce(addresses.email, addresses.person_id) as holder_key,
        addresses.email as holder_email,
        addresses.person_id as holder_person_id,
        recipient.primary_org_id as agency_org_id,
        messages.sent_at,
        messages.current_release_id as release_id,
        messages.document_id,
        messages.message_id,
        messages.current_event_id as source_event_id,
    from grants
    inner join messages
        on grants.message_id = messages.message_id
    inner join addresses
        on addresses.event_id = messages.current_event_id
        and addresses.field = 'to'
    left join people as recipient
        on recipient.person_id = addresses.person_id
    where grants.part = 'message'

    union all

    -- a vendor email forwarded inside the message: its invitees / holders
    select
        forwarded.vendor_org_id,
        forwarded.holder_email as holder_key,
        forwarded.holder_email,
        holder.person_id as holder_person_id,
        holder.primary_org_id as agency_org_id,
        messages.sent_at,
        messages.current_release_id as release_id,
        messages.document_id,
        messages.message_id,
        messages.current_event_id as source_event_id,
    from (
        select *, unnest(holder_emails) as holder_email
        from grants
        where part = 'forwarded'
    ) as forwarded
    inner join messages
        on forwarded.message_id = messages.message_id
    left join people as holder
        on holder.email = forwarded.holder_email

),

email_accounts as (

    select
        vendor_org_id,
        holder_key,
        holder_email,
        holder_person_id,
        agency_org_id,
        sent_at as created_at,
        release_id,
        document_id,
        message_id,
        source_event_id,
    from email_grants
    qualify row_number() over (
        partition by vendor_org_id, holder_key
        order by sent_at nulls last, message_id
    ) = 1

),

merged as (

    select
        coalesce(roster_accounts.vendor_org_id, email_accounts.vendor_org_id) as vendor,
        coalesce(roster_accounts.holder_key, email_accounts.holder_key) as holder_key,
        coalesce(roster_accounts.agency_org_id, email_accounts.agency_org_id) as agency,
        roster_accounts.unit,
        coalesce(roster_accounts.holder_person_id, email_accounts.holder_person_id) as holder_person_id,
        coalesce(roster_accounts.holder_email, email_accounts.holder_email) as holder_email,
        least(roster_accounts.created_at, email_accounts.created_at) as created_at,
        roster_accounts.account_ref as vendor_account_ref,
        roster_accounts.device,
        case when roster_accounts.holder_key is not null then 'roster' else 'email' end as source_kind,
        coalesce(roster_accounts.release_id, email_accounts.release_id) as release_id,
        coalesce(roster_accounts.document_id, email_accounts.document_id) as document_id,
        roster_accounts.source_row,
        email_accounts.message_id as provisioning_message_id,
        -- the event the row cites: the roster row, else the provisioning email
        coalesce(roster_accounts.source_event_id, email_accounts.source_event_id) as source_event_id,
    from roster_accounts
    full outer join email_accounts
        on roster_accounts.vendor_org_id = email_accounts.vendor_org_id
        and roster_accounts.holder_key = email_accounts.holder_key

),

-- search-log refs with no roster row and no known holder address: the log itself proves the account
log_only as (

    select
        null::varchar as vendor,
        coalesce(user_email, 'ref:' || account_ref) as holder_key,
        null::varchar as agency,
        null::varchar as unit,
        case when user_email is not null then {{ make_id('person', ['user_email']) }} end as holder_person_id,
        user_email as holder_email,
        null::timestamptz as created_at,
        account_ref as vendor_account_ref,
        null::varchar as device,
        'search_log' as source_kind,
        release_id,
        document_id,
        source_row,
        null::varchar as provisioning_message_id,
        event_id as source_event_id,
    from search_log_rows
    where account_ref not in (select account_ref from roster_rows where account_ref is not null)
        and (user_email is null or user_email not in (select holder_email from merged where holder_email is not null))
    qualify row_number() over (
        partition by coalesce(user_email, 'ref:' || account_ref)
        order by release_rank, document_id, source_row
    ) = 1

),

accounts as (

    select * from merged
    union all
    select * from log_only

),

phased as (

    select
        accounts.*,
        (
            -- the period containing created_at, else after the last period that ended before it,
            -- else before the first period; agency-specific periods, falling back to the vendor's
            select coalesce(
                max(p.phase) filter (where cast(accounts.created_at as date) between p.starts_on and p.ends_on),
                'after_' || arg_max(p.phase, p.ends_on) filter (where cast(accounts.created_at as date) > p.ends_on),
                'before_' || arg_min(p.phase, p.starts_on)
            )
            from contract_periods as p
            where p.vendor_org_id = accounts.vendor
                and (
                    p.agency_org_id = accounts.agency
                    -- no period for this agency (or agency unknown): use the vendor's periods
                    or not exists (
                        select 1 from contract_periods as own
                        where own.vendor_org_id = accounts.vendor and own.agency_org_id = accounts.agency
                    )
                )
        ) as created_phase,
    from accounts

),

final as (

    select
        {{ make_id('acct', ['vendor', 'holder_key']) }} as account_id,
        vendor,
        agency,
        unit,
        holder_person_id,
        holder_email,
        created_at,
        case when created_at is not null then created_phase end as created_phase,
        vendor_account_ref,
        device,
        source_kind,
        release_id,
        document_id,
        source_row,
        provisioning_message_id,
        source_event_id,
    from phased

)

select * from final
