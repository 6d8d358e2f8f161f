{#- One row per (current message, part, matching signal rule): the rule matches of each message's current
    appearance (int_message_rules_matched, derived once per appearance when its release is read), with
    what depends on other messages, so is derived on every build: who sent the part (people) and whether
    it grants an account.

    A part is from the vendor when its sender's primary org is the rule's vendor or the sender's address
    is at one of the vendor's domains (org_domains, vendor_aliases). A part from the vendor whose account
    score (the weights of the signal kinds matched, each once) reaches 1 grants an account
    (is_account_grant): to its To recipients, or for a forwarded part to the forwarded email's To
    addresses (holder_emails). -#}
with

messages as (

    select message_id, current_event_id, sent_at from {{ ref('int_messages_resolved') }}

),

people as (

    select * from {{ ref('int_people_identified') }}

),

matched as (

    select
        messages.message_id,
        messages.sent_at,
        matches.*,
    from {{ ref('int_message_rules_matched') }} as matches
    inner join messages
        on messages.current_event_id = matches.event_id

),

flagged as (

    select
        matched.*,
        sender.person_id as from_person_id,
        coalesce(sender.primary_org_id, matched.sender_vendor_ids[1]) as from_org_id,
        coalesce(sender.primary_org_id = matched.vendor_org_id, false)
            or list_contains(matched.sender_vendor_ids, matched.vendor_org_id) as is_from_vendor,
    from matched
    left join people as sender
        on sender.email = matched.part_from_email

),

final as (

    select
        message_id,
        rule_id,
        vendor_org_id,
        signal,
        field,
        part,
        weight,
        sent_at,
        from_person_id,
        from_org_id,
        is_from_vendor,
        mentioned_count,
        account_score,
        -- int_message_rules_matched sets grant_kind only when the part's score reaches the grant line
        is_from_vendor and grant_kind is not null as is_account_grant,
        case when is_from_vendor then grant_kind end as grant_kind,
        holder_emails,
    from flagged

)

select * from final
