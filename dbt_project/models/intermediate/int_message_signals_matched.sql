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
        own_text,
        -- case-folded for the literal prefilter below ('ſ' is the one non-ASCII letter that RE2's
        -- case-insensitive match folds onto an ASCII one and lower() does not)
        replace(lower(subject), 'ſ', 's') as subject_folded,
        replace(lower(own_text), 'ſ', 's') as own_text_folded,
    from {{ ref('int_messages_resolved') }}

),

signal_rules as (

    select * from {{ ref('signal_rules') }}

),

people as (

    select * from {{ ref('int_people_identified') }}

),

-- A pattern taken from a joined column is compiled again for every row it is tested on, which made
-- messages x rules the slowest step of the build. So each rule first gets, at run time, literal text
-- that every match must contain (lower-cased; one per top-level alternative): escapes, classes, groups
-- and quantified characters are cut out, and the longest remaining run of plain characters is kept.
-- Only messages containing it are tested with the regexp. A rule for which no such text is found
-- (null) tests every message. Same derivation as affiliation_rules in int_people_identified.
rule_literals as (

    select
        *,
        case
            when not contains(pattern, '\Q')
                and not regexp_matches(ungrouped, '[()]')
                and list_bool_and(list_transform(branch_literals, lambda l: l <> ''))
                then branch_literals
        end as required_literals,
    from (
        select
            *,
            list_transform(
                string_split(ungrouped, '|'),
                lambda branch: list_reduce(
                    list_concat([''], regexp_extract_all(
                        lower(regexp_replace(branch, '(?s).(?:[*?]|\{[0-9]*(?:,[0-9]*)?\})', chr(1), 'g')),
                        '[a-z0-9 ,:;''"@_/#%&=<>!~-]+'
                    )),
                    lambda a, b: case when length(b) > length(a) then b else a end
                )
            ) as branch_literals,
        from (
            select
                *,
                -- escapes, POSIX and bracket classes, then groups (innermost first, up to 6 deep) become chr(1)
                regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
                    regexp_replace(regexp_replace(regexp_replace(
                        pattern,
                        '(?s)\\(?:[pP](?:\{[^}]*\}|.)|x(?:\{[^}]*\}|[0-9A-Fa-f]*)|[0-9]+|.)', chr(1), 'g'),
                        '\[:[^\]]*:\]', chr(1), 'g'),
                        '\[\^?\]?[^\]]*\]', chr(1), 'g'),
                    '\([^()]*\)', chr(1), 'g'), '\([^()]*\)', chr(1), 'g'), '\([^()]*\)', chr(1), 'g'),
                    '\([^()]*\)', chr(1), 'g'), '\([^()]*\)', chr(1), 'g'), '\([^()]*\)', chr(1), 'g')
                as ungrouped,
            from signal_rules
        )
    )

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
        -- CASE, so the regexp runs only where the literal test passed
        on case
            when signal_rules.required_literals is null
                or list_bool_or(list_transform(
                    signal_rules.required_literals,
                    lambda l: contains(case signal_rules.field when 'subject' then messages.subject_folded else messages.own_text_folded end, l)
                ))
                then regexp_matches(
                    case signal_rules.field when 'subject' then messages.subject else messages.own_text end,
                    signal_rules.pattern,
                    'i'
                )
            else false
        end

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
