{#- Messages without a Message-ID that a superseding release re-produced: one row per content key of
    such a message (the text of each of its copies) with the key of its first production.

    A copy is the same message when releases linked by their manifests' `supersedes` (transitively, and
    a release may supersede several) hold it in the file at the same path, at the same position, sent the same minute, even though lifted
    redactions changed its text (how printed PDFs are re-released). Only manifests link releases here,
    so unrelated productions never merge on position alone. Copies elsewhere whose text matches any
    copy's join through the content key in int_messages_keyed. Reads only releases in a line of
    re-releases. -#}
with recursive

releases as (

    select release_id, supersedes from {{ ref('stg_events__releases') }}

),

-- `supersedes` links between releases we hold, both ways (a release may supersede several, or one
-- we do not hold)
links as (

    select release_id as node, superseded_id as neighbour
    from (select release_id, unnest(supersedes) as superseded_id from releases)
    where superseded_id in (select release_id from releases) and superseded_id <> release_id

),

undirected_links as (

    select node, neighbour from links
    union
    select neighbour, node from links

),

-- releases connected through supersession, transitively (UNION stops once nothing new is reached,
-- also on a cycle in hand-written manifests)
reachable as (

    select release_id as node, release_id as reached from releases

    union

    select reachable.node, undirected_links.neighbour
    from reachable
    inner join undirected_links
        on undirected_links.node = reachable.reached

),

-- releases in a line of re-releases, each line named by its smallest release id
release_lines as (

    select node as release_id, min(reached) as line_release_id
    from reachable
    group by node
    having count(*) > 1

),

-- Email events of releases in a line, with the few payload fields a key needs. Read from the event
-- view rather than stg_events__emails: there the release filter lands above the JSON parse, which then
-- ran over every message of the build (0.5 s per 100k) even when no manifest supersedes another.
emails as (

    select
        event_id,
        release_id,
        release_rank,
        source_path,
        occurred_at as sent_at,
        p.message_id as header_message_id,
        p."from" as from_addresses,
        p.subject,
        p.body_text,
        p."index" as item_index,
        -- keyed by content: no Message-ID, but a time to place the copy by
        {{ normalized_message_id('p.message_id') }} is null and occurred_at is not null as keyed_by_content,
    from (
        select
            *,
            json_transform(payload, '{
                "message_id": "VARCHAR", "from": [{"email": "VARCHAR"}], "subject": "VARCHAR",
                "body_text": "VARCHAR", "index": "BIGINT"
            }') as p,
        from {{ ref('stg_events__events') }}
        where event_type = 'email_message'
            -- a list test, not IN (select …): DuckDB made that a semi join hashing every email event
            -- with its payload, which ran out of memory at 1M messages
            and list_contains((select coalesce(list(release_id), []) from release_lines), release_id)
    )

),

-- Messages with a Message-ID get null keys and fall out at the grouping: a WHERE on the header would
-- be pushed below the release filter and parse every message's JSON.
copies as (

    select
        emails.event_id,
        emails.release_rank,
        case when emails.keyed_by_content then {{ message_content_key() }} end as content_key,
        case
            when emails.keyed_by_content
                then {{ make_id('line', [
                    'release_lines.line_release_id', 'emails.source_path', 'emails.item_index',
                    "date_trunc('minute', emails.sent_at)",
                ]) }}
        end as copy_key,
    from emails
    inner join release_lines
        on release_lines.release_id = emails.release_id

),

-- copies whose text changed between productions; the earliest copy's key stays the citation
changed as (

    select
        first(content_key order by release_rank, event_id) as first_key,
        list(distinct content_key) as content_keys,
    from copies
    group by copy_key
    -- the null group (messages with a Message-ID) has no content keys
    having count(distinct content_key) > 1

),

final as (

    select
        content_key,
        -- a text in two lines (rare) takes the smaller key, so the result never depends on order
        min(first_key) as message_key,
    from (select unnest(content_keys) as content_key, first_key from changed)
    group by content_key

)

select * from final
