{#- Copies of one email without a Message-ID that meet another copy of it: a printed-PDF page or a
    load-file record and the native message (with a Message-ID), or two such copies of each other. One
    row per content key (int_messages_keyed) of a matched copy, with the message key it takes.

    Two copies are one message when (rules and thresholds: seed message_matching)
    - the sender is the same after resolution: the From address, else the one address its name links to
      (int_person_names: exactly one address carries that normalised name), else - both copies name-only -
      the same normalised name;
    - the subject is the same once reply/forward prefixes, case and runs of whitespace are removed;
    - they were sent the same minute; when either date was written without a zone (read as UTC) the minutes
      may differ by a whole number of zone steps up to the largest zone offset;
    - at least min_body_similarity of the shorter body's distinct words occur in the other body (page
      headers, a load file's header lines or a longer signature only add words to one side).
    Subject + sender are the blocking key (equi-join), the time window the range condition; bodies are
    compared only for those pairs.

    Copies that match each other form groups (connected components); a group takes the Message-ID of the
    native message its copies match when there is exactly one such Message-ID, else (none, or two native
    messages a copy resembles: never merged) the group's smallest key. Messages with a Message-ID are never
    re-keyed here. -#}
{#- The subject prefix pattern is read from the seed when the model compiles and inlined as a constant:
    taken from the joined settings row it was recompiled for every message, most of this model's work. -#}
{%- set prefix_rows = seed_rows('message_matching', "select value from {seed} where setting = 'subject_prefix_pattern'") -%}
{%- if execute and not prefix_rows -%}
    {{ exceptions.raise_compiler_error("seed message_matching has no subject_prefix_pattern row: add it (see seeds/message_matching.csv)") }}
{%- endif -%}
{%- set subject_prefix_pattern = sql_literal(prefix_rows[0][0] if prefix_rows else '') %}
with recursive

settings as (

    select
        max(value) filter (where setting = 'zoneless_defect') as zoneless_defect,
        cast(max(value) filter (where setting = 'max_zone_offset_minutes') as integer) as max_zone_offset_minutes,
        cast(max(value) filter (where setting = 'zone_offset_step_minutes') as integer) as zone_offset_step_minutes,
        cast(max(value) filter (where setting = 'min_body_similarity') as double) as min_body_similarity,
        cast(max(value) filter (where setting = 'min_body_words') as integer) as min_body_words,
        cast(max(value) filter (where setting = 'min_word_length') as integer) as min_word_length,
    from {{ ref('message_matching') }}

),

-- read twice (keys of every copy; bodies of candidate pairs): inlined, so neither holds every body
emails as not materialized (

    select * from {{ ref('int_messages_normalized') }}

),

rereleased as (

    select * from {{ ref('int_messages_rereleased') }}

),

person_names as (

    select name_key, email from {{ ref('int_person_names') }}
    where email is not null

),

copies as (

    select
        emails.event_id,
        -- stored per appearance when its release was read: the content key hashes the whole body
        emails.normalized_message_id,
        emails.content_key,
        trim(regexp_replace(
            lower(regexp_replace(coalesce(emails.subject, ''), {{ subject_prefix_pattern }}, '', 'i')),
            '\s+', ' ', 'g'
        )) as subject_key,
        date_trunc('minute', emails.sent_at) as sent_minute,
        len(list_filter(coalesce(emails.defects, []), lambda d: contains(lower(d), lower(settings.zoneless_defect)))) > 0 as is_zoneless,
        nullif(lower(trim(emails.from_addresses[1].email)), '') as from_email,
        case
            when not contains(coalesce(emails.from_addresses[1].name, ''), '@')
                then nullif(array_to_string(list_sort(list_filter(
                    regexp_split_to_array(lower(coalesce(emails.from_addresses[1].name, '')), '[^a-z0-9]+'),
                    lambda w: w <> ''
                )), ' '), '')
        end as from_name_key,
    from emails, settings
    where emails.sent_at is not null
        and not coalesce(emails.from_addresses[1].redacted, false)

),

keyed as (

    select
        copies.*,
        -- the key the copy has without matching (int_messages_keyed)
        coalesce(copies.normalized_message_id, rereleased.message_key, copies.content_key) as base_key,
        -- the sender after resolution
        coalesce(
            copies.from_email,
            person_names.email,
            case when copies.from_name_key is not null then 'name:' || copies.from_name_key end
        ) as sender_key,
    from copies
    left join rereleased
        on rereleased.content_key = copies.content_key
    left join person_names
        on person_names.name_key = copies.from_name_key
        and copies.from_email is null

),

-- pairs on the blocking key and time window alone; bodies are read only for these
candidates as (

    select
        copy.event_id as copy_event_id,
        other.event_id as other_event_id,
        copy.base_key as copy_key,
        other.base_key as other_key,
        other.normalized_message_id is not null as other_has_message_id,
        cast(abs(epoch(other.sent_minute) - epoch(copy.sent_minute)) / 60 as bigint) as minutes_apart,
        copy.is_zoneless or other.is_zoneless as either_zoneless,
    from keyed as copy
    inner join keyed as other
        on other.subject_key = copy.subject_key
        and other.sender_key = copy.sender_key
        and other.sent_minute between copy.sent_minute - to_minutes((select max_zone_offset_minutes from settings))
            and copy.sent_minute + to_minutes((select max_zone_offset_minutes from settings))
        and other.base_key <> copy.base_key
    where copy.normalized_message_id is null
        and copy.subject_key <> ''

),

-- the distinct words of the bodies of candidate pairs only: splitting every body of the build was most
-- of this model's work, though nearly every message has a Message-ID and is never a copy
body_words as (

    select
        emails.event_id,
        list_distinct(list_filter(
            regexp_split_to_array(lower(coalesce(emails.body_text, '')), '[^a-z0-9]+'),
            lambda w: length(w) >= settings.min_word_length
        )) as words,
    from (select copy_event_id as event_id from candidates union select other_event_id from candidates) as wanted
    inner join emails
        on emails.event_id = wanted.event_id
    cross join settings

),

pairs as (

    select
        candidates.copy_key,
        candidates.other_key,
        candidates.other_has_message_id,
        len(list_intersect(copy_words.words, other_words.words))
            / least(len(copy_words.words), len(other_words.words)) as body_similarity,
        candidates.minutes_apart,
        candidates.either_zoneless,
    from candidates
    inner join body_words as copy_words
        on copy_words.event_id = candidates.copy_event_id
    inner join body_words as other_words
        on other_words.event_id = candidates.other_event_id
    where len(copy_words.words) >= (select min_body_words from settings)
        and len(other_words.words) >= (select min_body_words from settings)

),

matches as (

    select pairs.*
    from pairs, settings
    where pairs.body_similarity >= settings.min_body_similarity
        and (
            pairs.minutes_apart = 0
            or (
                pairs.either_zoneless
                and pairs.minutes_apart <= settings.max_zone_offset_minutes
                and pairs.minutes_apart % settings.zone_offset_step_minutes = 0
            )
        )

),

copy_edges as (

    select copy_key as node, other_key as neighbour from matches where not other_has_message_id
    union
    select other_key, copy_key from matches where not other_has_message_id

),

copy_nodes as (

    select distinct copy_key as node from matches

),

-- connected components of copies (UNION stops once nothing new is reached)
reachable as (

    select node, node as reached from copy_nodes

    union

    select reachable.node, copy_edges.neighbour
    from reachable
    inner join copy_edges
        on copy_edges.node = reachable.reached

),

components as (

    select node, min(reached) as component_key, list(distinct reached) as members,
    from reachable
    group by node

),

-- the native messages a component's copies match
native_targets as (

    select
        components.component_key,
        list(distinct matches.other_key order by matches.other_key) as message_ids,
    from components
    inner join matches
        on matches.copy_key = components.node
    where matches.other_has_message_id
    group by components.component_key

),

groups as (

    select
        components.node as base_key,
        case
            when len(native_targets.message_ids) = 1 then native_targets.message_ids[1]
            else components.component_key
        end as message_key,
        case
            when len(native_targets.message_ids) = 1 then 'copy_of_message_id'
            else 'copies_matched'
        end as match_method,
    from components
    left join native_targets
        on native_targets.component_key = components.component_key

),

final as (

    select distinct
        keyed.content_key,
        groups.message_key,
        groups.match_method,
    from keyed
    inner join groups
        on groups.base_key = keyed.base_key
    where keyed.content_key is not null
        -- a group alone (its only match a native message it cannot take: two Message-IDs) keeps its key
        and groups.message_key <> keyed.content_key

)

select * from final
