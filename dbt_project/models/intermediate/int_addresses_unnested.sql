{#- One row per address entry (from/to/cc/bcc) of every message appearance. A name without an address
    ("Tamberlane, Ravi" on a printed PDF) is the person of the one address that carries that normalised name
    in the corpus (int_person_names, seed person_name_matching); redacted entries, and names no address or
    several addresses carry, get a placeholder person that is stable per (message, field, position): never
    a guess.
    Calendar invitations are a second source (source = 'calendar'): one row per ORGANIZER (field
    'organizer') and ATTENDEE (field 'attendee', position = order in the VEVENT) of each VEVENT, resolved
    to a person by exactly the same path (address, else unique name, else placeholder). Such rows have no
    message (message_key null; appearance_key = the calendar event); is_current marks the latest version of
    a meeting (same UID and RECURRENCE-ID: highest SEQUENCE, then latest release), every VEVENT without a
    UID being its own meeting. The reader has no redaction flag for calendar entries: they are never
    is_redacted (a redacted attendee stays a placeholder). -#}
with

appearances as (

    select * from {{ ref('int_messages_keyed') }}

),

person_names as (

    select name_key, email from {{ ref('int_person_names') }}
    where email is not null

),

current_events as (

    select current_event_id from {{ ref('int_messages_resolved') }}

),

calendar_events as (

    select
        *,
        uid is null or row_number() over (
            partition by uid, coalesce(recurrence_id, '')
            order by coalesce(sequence, -1) desc, release_rank desc, event_id desc
        ) = 1 as is_current,
    from {{ ref('stg_events__calendar_events') }}

),

entries as (

    select
        'email' as source,
        appearances.event_id,
        appearances.appearance_key,
        appearances.message_key,
        appearances.release_id,
        appearances.document_id,
        appearances.sent_at,
        appearances.event_id in (select current_event_id from current_events) as is_current,
        unnest(list_concat(
            list_transform(coalesce(appearances.from_addresses, []), lambda a, i: {'field': 'from', 'position': i - 1, 'name': a.name, 'email': a.email, 'redacted': a.redacted}),
            list_transform(coalesce(appearances.to_addresses, []), lambda a, i: {'field': 'to', 'position': i - 1, 'name': a.name, 'email': a.email, 'redacted': a.redacted}),
            list_transform(coalesce(appearances.cc_addresses, []), lambda a, i: {'field': 'cc', 'position': i - 1, 'name': a.name, 'email': a.email, 'redacted': a.redacted}),
            list_transform(coalesce(appearances.bcc_addresses, []), lambda a, i: {'field': 'bcc', 'position': i - 1, 'name': a.name, 'email': a.email, 'redacted': a.redacted})
        )) as entry,
    from appearances

    union all

    select
        'calendar',
        event_id,
        event_id,
        null,
        release_id,
        document_id,
        starts_at,
        is_current,
        unnest(list_concat(
            case when organizer is not null
                then [{'field': 'organizer', 'position': 0, 'name': organizer.name, 'email': organizer.email, 'redacted': false}]
                else [] end,
            list_transform(attendees, lambda a, i: {'field': 'attendee', 'position': i - 1, 'name': a.name, 'email': a.email, 'redacted': false})
        )),
    from calendar_events

),

flattened as (

    select
        source,
        event_id,
        appearance_key,
        message_key,
        release_id,
        document_id,
        sent_at,
        is_current,
        entry.field as field,
        cast(entry.position as bigint) as position,
        nullif(trim(entry.name), '') as name,
        nullif(lower(trim(entry.email)), '') as email,
        source = 'email' and (
            coalesce(entry.redacted, false)
            or coalesce(nullif(trim(entry.email), '') is null and entry.name ilike '%redacted%', false)
        ) as is_redacted,
    from entries

),

named as (

    select
        flattened.*,
        -- same normalisation as int_person_names
        case
            when email is null and not is_redacted and not contains(coalesce(name, ''), '@')
                then nullif(array_to_string(list_sort(list_filter(
                    regexp_split_to_array(lower(coalesce(name, '')), '[^a-z0-9]+'), lambda w: w <> ''
                )), ' '), '')
        end as name_key,
    from flattened

),

resolved as (

    select
        named.* exclude (name_key),
        person_names.email as resolved_email,
    from named
    left join person_names
        on person_names.name_key = named.name_key

),

final as (

    select
        *,
        {{ make_id('addr', ['appearance_key', 'field', 'position']) }} as address_id,
        case
            when email is not null then {{ make_id('person', ['email']) }}
            when resolved_email is not null then {{ make_id('person', ['resolved_email']) }}
            -- a calendar entry has no message: its placeholder is per (calendar event, field, position)
            else {{ make_id('person', ["'placeholder'", 'coalesce(message_key, appearance_key)', 'field', 'position']) }}
        end as person_id,
        case
            when email is not null then 'address'
            when resolved_email is not null then 'name_match'
            when is_redacted then 'redacted'
            else 'placeholder'
        end as identity_method,
        case
            when email is null and resolved_email is null
                then coalesce(name, '[no address]') || ' #' || left(sha256(concat_ws('|', coalesce(message_key, appearance_key), field, position)), 6)
        end as placeholder_name,
    from resolved

)

select * from final
