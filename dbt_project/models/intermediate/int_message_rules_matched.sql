{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_releases() }}",
) }}
{#- One row per (message appearance, part, matching signal rule): the rule matching that
    int_message_signals_matched reads, the part of it that tests every body against the rules, done once
    per appearance when its release is read. An appearance's text never changes, so this is incremental by
    release (macros/incremental_releases.sql); int_message_signals_matched keeps the current appearances'
    rows and adds what depends on other messages (who the sender is). Rules are data (seeds/signal_rules.csv);
    a change to a seed rebuilds in full (pipelines/lib/incremental.py).

    Parts: `message` = the message's subject and the sender's own text (quoted history cut off, so a quoted
    vendor email does not count again in a reply); `forwarded` = a vendor's email forwarded inside it
    (subject starting Fwd:/FW: or a forwarded-message marker, and a From: line at a vendor domain in the
    forwarded header).

    Account evidence: each signal kind with a weight (seeds/signal_weights.csv) adds it once to the
    (appearance, vendor, part) account score, however many of its rules match, and marketing (a negative
    weight) pulls newsletters and sales pitches below the line. Rules with a weight only count in parts
    sent from their vendor's domains (org_domains, vendor_aliases; forwarded parts included), so they are
    matched only there; rules without one (usage_mention, meeting) in every message's own text. Patterns
    are inlined as constants (macros/signal_rule_patterns.sql). -#}
with

releases_to_build as (

    {{ releases_to_build() }}

),

messages as (

    select
        event_id,
        release_id,
        from_email,
        subject,
        body_text,
        to_addresses,
        {{ own_text('body_text') }} as own_text,
    from {{ ref('int_messages_normalized') }}
    where {{ in_releases_to_build('release_id') }}

),

vendor_domains as (

    {{ vendor_domains() }}

),

-- the rules with '{vendor}' expanded to the vendor's names and domains (seed vendor_aliases) and their
-- signal's account weight (seed signal_weights); macros/signal_rule_patterns.sql
signal_rules as (

    {{ expanded_signal_rules(ref('signal_rules'), ref('signal_weights'), ref('org_domains'), ref('vendor_aliases')) }}

),

-- each rule with the literal text any match must contain (macros/regexp_prefilter.sql)
rule_literals as (
{{ with_required_literals('signal_rules') }}
),

-- forwarded emails: the header of the forwarded copy (first From:, To:, Subject: lines after the
-- forward marker) and its text
forwards as (

    select
        event_id,
        release_id,
        from_email as forwarder_email,
        to_addresses,
        forwarded_text,
        lower(regexp_extract(
            regexp_extract(forwarded_text, '(?im)^[ \t>]*from:[ \t]*([^\r\n]*)', 1),
            {{ email_pattern() }}, 0, 'i'
        )) as forwarded_from_email,
        list_transform(
            regexp_extract_all(
                regexp_extract(forwarded_text, '(?im)^[ \t>]*to:[ \t]*([^\r\n]*)', 1),
                {{ email_pattern() }}, 0, 'i'
            ),
            lambda e: lower(e)
        ) as forwarded_to_emails,
        regexp_extract(forwarded_text, '(?im)^[ \t>]*subject:[ \t]*([^\r\n]*)', 1) as forwarded_subject,
    from (
        select
            *,
            substr(coalesce(body_text, ''), length(own_text) + 1) as forwarded_text,
        from messages
        where regexp_matches(coalesce(subject, ''), '^\s*fwd?\s*:', 'i')
            or body_text ilike '%forwarded message%'
    )

),

-- only forwarded copies of a vendor's email are read as a part of their own
vendor_forwards as (

    select forwards.*
    from forwards
    where exists (
        select 1 from vendor_domains
        where {{ email_at_domain('forwards.forwarded_from_email', 'vendor_domains.domain') }}
    )

),

-- who a forwarded vendor email is for: its To addresses, else (none written or all redacted) the
-- forward's own To recipients; never the forwarder or a vendor address
forward_recipients as (

    select event_id, forwarder_email, 1 as priority, unnest(forwarded_to_emails) as email,
    from vendor_forwards
    union all
    select event_id, forwarder_email, 2 as priority, unnest(list_transform(to_addresses, lambda a: lower(trim(a.email)))) as email,
    from vendor_forwards

),

forward_holders as (

    select
        event_id,
        list_sort(list_distinct(list(email))) as holder_emails,
    from (
        select
            *,
            min(priority) over (partition by event_id) as best_priority,
        from forward_recipients
        where nullif(email, '') is not null
            and email is distinct from forwarder_email
            and not exists (
                select 1 from vendor_domains
                where {{ email_at_domain('forward_recipients.email', 'vendor_domains.domain') }}
            )
    )
    where priority = best_priority
    group by event_id

),

parts as (

    select
        event_id,
        release_id,
        'message' as part,
        from_email as part_from_email,
        subject,
        own_text as body,
        null::varchar[] as holder_emails,
    from messages

    union all

    select
        vendor_forwards.event_id,
        vendor_forwards.release_id,
        'forwarded' as part,
        vendor_forwards.forwarded_from_email as part_from_email,
        vendor_forwards.forwarded_subject as subject,
        vendor_forwards.forwarded_text as body,
        forward_holders.holder_emails,
    from vendor_forwards
    left join forward_holders
        on forward_holders.event_id = vendor_forwards.event_id

),

-- vendors whose mail domain each sender is at (org_domains, vendor_aliases)
sender_vendors as (

    select
        senders.email,
        list(distinct vendor_domains.vendor_org_id order by vendor_domains.vendor_org_id) as vendor_org_ids,
    from (select distinct part_from_email as email from parts where part_from_email is not null) as senders
    inner join vendor_domains
        on {{ email_at_domain('senders.email', 'vendor_domains.domain') }}
    group by senders.email

),

texts as (

    select
        parts.*,
        coalesce(sender_vendors.vendor_org_ids, []) as sender_vendor_ids,
        -- case-folded for the rules' literal prefilter (macros/regexp_prefilter.sql)
        {{ case_folded('parts.subject') }} as subject_folded,
        {{ case_folded('parts.body') }} as body_folded,
    from parts
    left join sender_vendors
        on sender_vendors.email = parts.part_from_email

),

-- (part, rule) pairs whose text contains the rule's literal (macros/regexp_prefilter.sql). Rules with an
-- account weight count only in what the rule's vendor sent, so they are tested only there (and they
-- alone read forwarded parts): 30 rules on every body cost 1 s per 100k messages
candidates as (

    select
        texts.event_id,
        texts.release_id,
        texts.part,
        texts.part_from_email,
        texts.holder_emails,
        texts.sender_vendor_ids,
        signal_rules.rule_id,
        signal_rules.vendor_org_id,
        signal_rules.signal,
        signal_rules.field,
        signal_rules.weight,
        signal_rules.pattern,
        case signal_rules.field when 'subject' then texts.subject else texts.body end as matched_text,
    from texts
    inner join rule_literals as signal_rules
        on (
            signal_rules.weight is null and texts.part = 'message'
            or signal_rules.weight is not null and list_contains(texts.sender_vendor_ids, signal_rules.vendor_org_id)
        )
        and (
            signal_rules.required_literals is null
            or list_bool_or(list_transform(
                signal_rules.required_literals,
                lambda l: contains(case signal_rules.field when 'subject' then texts.subject_folded else texts.body_folded end, l)
            ))
        )

),

matched as (

    select *
    from candidates
    -- each rule's pattern inlined as a constant (compiled once), not taken from the joined column
    where {{ signal_rule_regexp('candidates', 'candidates.matched_text', signal_rule_constants()) }}

),

-- each signal kind counts once, however many of its rules match (subject and body, several wordings)
signal_contributions as (

    select distinct
        event_id,
        vendor_org_id,
        part,
        signal,
        weight as contribution,
    from matched
    where weight is not null

),

part_scores as (

    select
        event_id,
        vendor_org_id,
        part,
        sum(contribution) as account_score,
        bool_or(signal = 'account_invited' and contribution > 0) as has_invitation,
        bool_or(signal = 'account_provisioned' and contribution > 0) as has_provisioning_notice,
    from signal_contributions
    group by event_id, vendor_org_id, part

),

final as (

    select
        matched.event_id,
        matched.release_id,
        matched.rule_id,
        matched.vendor_org_id,
        matched.signal,
        matched.field,
        matched.part,
        matched.weight,
        matched.part_from_email,
        matched.sender_vendor_ids,
        matched.holder_emails,
        -- usage mentions carry the figure in capture group 1 ("you have run 1,234 searches")
        case
            when matched.signal = 'usage_mention'
                then try_cast(replace(regexp_extract(matched.matched_text, matched.pattern, 1, 'i'), ',', '') as bigint)
        end as mentioned_count,
        coalesce(part_scores.account_score, 0) as account_score,
        -- what the part grants if its sender is the vendor (int_message_signals_matched decides that);
        -- null below the grant line, the one place the line is drawn
        case
            when part_scores.account_score >= 1
                then case
                    when part_scores.has_invitation and not part_scores.has_provisioning_notice then 'invitation'
                    else 'provisioning'
                end
        end as grant_kind,
        releases_to_build.release_fingerprint,
    from matched
    inner join releases_to_build
        on releases_to_build.release_id = matched.release_id
    left join part_scores
        on part_scores.event_id = matched.event_id
        and part_scores.vendor_org_id = matched.vendor_org_id
        and part_scores.part = matched.part

)

select * from final
