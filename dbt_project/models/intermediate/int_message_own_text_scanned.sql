{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_releases() }}",
) }}
{#- One row per message appearance whose own text (the sender's, before any quoted or forwarded block:
    macros/message_text.sql) writes an email address or whose signature block matches an affiliation rule:
    the addresses written (lower-cased, each once) and the organisations the signature names.
    The body scans int_people_identified (address and affiliation evidence) and referrals (a third party
    named in the text) read, done once per appearance when its release is read: an appearance's text never
    changes, so this is incremental by release (macros/incremental_releases.sql), and those models join
    only the current appearances' rows. Rules are data (seeds/affiliation_rules.csv); a change to a seed
    rebuilds in full. -#}
with

releases_to_build as (

    {{ releases_to_build() }}

),

-- inlined where used: materialized, the texts would be held (and spilled) on a full rebuild
texts as not materialized (

    select
        event_id,
        release_id,
        {{ own_text('body_text') }} as own_text,
    from {{ ref('int_messages_normalized') }}
    where {{ in_releases_to_build('release_id') }}

),

affiliation_rules as (

    select * from {{ ref('affiliation_rules') }}

),

-- each rule with the literal text any match must contain (macros/regexp_prefilter.sql)
rule_literals as (
{{ with_required_literals('affiliation_rules') }}
),

mentions as (

    select
        event_id,
        release_id,
        list_distinct(list_transform(
            regexp_extract_all(own_text, {{ email_pattern() }}, 0, 'i'),
            lambda mention: lower(mention)
        )) as mentioned_emails,
    from texts
    -- cheap test first: an address needs an '@'
    where contains(own_text, '@')

),

signatures as (

    select
        event_id,
        release_id,
        signature_text,
        -- case-folded for the affiliation rules' literal prefilter
        {{ case_folded('signature_text') }} as signature_folded,
    from (select event_id, release_id, {{ signature_text('own_text') }} as signature_text from texts)

),

affiliations as (

    select
        signatures.event_id,
        signatures.release_id,
        list(distinct affiliation_rules.org_id order by affiliation_rules.org_id) as affiliated_org_ids,
    from signatures
    inner join rule_literals as affiliation_rules
        on {{ prefiltered_regexp_matches('affiliation_rules', 'signatures.signature_text', 'signatures.signature_folded') }}
    group by signatures.event_id, signatures.release_id

),

scanned as (

    select
        coalesce(mentions.event_id, affiliations.event_id) as event_id,
        coalesce(mentions.release_id, affiliations.release_id) as release_id,
        coalesce(mentions.mentioned_emails, [])::varchar[] as mentioned_emails,
        coalesce(affiliations.affiliated_org_ids, [])::varchar[] as affiliated_org_ids,
    from mentions
    full outer join affiliations
        on affiliations.event_id = mentions.event_id
    where len(coalesce(mentions.mentioned_emails, [])) > 0 or affiliations.event_id is not null

),

final as (

    select
        scanned.event_id,
        scanned.release_id,
        scanned.mentioned_emails,
        scanned.affiliated_org_ids,
        releases_to_build.release_fingerprint,
    from scanned
    inner join releases_to_build
        on releases_to_build.release_id = scanned.release_id

)

select * from final
