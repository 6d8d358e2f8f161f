{#- One row per (current message, matching signal rule). Rules are data (seeds/signal_rules.csv):
    another vendor's release needs new rows, not new code. Body rules look at the sender's own text,
    so a forwarded vendor email does not count twice. -#}
with

messages as (

    select
        message_id,
        sent_at,
        from_email,
        subject,
        {{ own_text('body_text') }} as own_text,
        -- case-folded for the rules' literal prefilter (macros/regexp_prefilter.sql)
        {{ case_folded('subject') }} as subject_folded,
        {{ case_folded('own_text') }} as own_text_folded,
    from {{ ref('int_messages_resolved') }}

),

signal_rules as (

    select * from {{ ref('signal_rules') }}

),

people as (

    select * from {{ ref('int_people_identified') }}

),

-- each rule with the literal text any match must contain (macros/regexp_prefilter.sql)
rule_literals as (
{{ with_required_literals('signal_rules') }}
),

matched as (

    select
        messages.message_id,
        messages.sent_at,
        messages.from_email,
        signal_rules.rule_id,
        signal_rules.vendor_org_id,
        signal_rules.signal,
        signal_rules.field,
        case signal_rules.field when 'subject' then messages.subject else messages.own_text end as matched_text,
        signal_rules.pattern,
    from messages
    inner join rule_literals as signal_rules
        on {{ prefiltered_regexp_matches(
            'signal_rules',
            "case signal_rules.field when 'subject' then messages.subject else messages.own_text end",
            "case signal_rules.field when 'subject' then messages.subject_folded else messages.own_text_folded end",
        ) }}

),

final as (

    select
        matched.message_id,
        matched.rule_id,
        matched.vendor_org_id,
        matched.signal,
        matched.field,
        matched.sent_at,
        sender.person_id as from_person_id,
        sender.primary_org_id as from_org_id,
        coalesce(sender.primary_org_id = matched.vendor_org_id, false) as is_from_vendor,
        -- usage mentions carry the figure in capture group 1 ("you have run 1,234 searches")
        case
            when matched.signal = 'usage_mention'
                then try_cast(replace(regexp_extract(matched.matched_text, matched.pattern, 1, 'i'), ',', '') as bigint)
        end as mentioned_count,
    from matched
    left join people as sender
        on sender.email = matched.from_email

)

select * from final
