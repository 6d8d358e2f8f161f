{#- One row per message (message_key), narrow: its current appearance (latest release containing it, which is
    how a superseding release replaces text/headers; within that release a printed message before a copy
    quoted below another, and a native copy before a load-file record before a printed PDF), appearance
    counts and the kinds of copy it appears as, and its thread:
    - headers: a message with a Message-ID, In-Reply-To or References is threaded by those chains only,
      rooted at the oldest message we hold (or at the first References id when the chain leaves our data);
    - subject_participants: a message with none of them (printed PDFs, load files) joins the other header-less
      messages with the same normalized subject (RE:/FW:/FWD:/AW: prefixes, case and whitespace removed) AND
      the same participant set (sorted distinct From/To/Cc emails, else names with their words sorted;
      redacted entries carry no identity and are left out), so
      unrelated messages with a common subject stay apart; a PDF message quoted in a printed message
      (quoted_in_index) joins that message's thread. Such a thread is rooted at its earliest message;
    - single: a message alone in its thread.
    row_fingerprint changes whenever the message's row in int_messages_resolved would: that model rewrites
    only the messages whose fingerprint it does not hold. -#}
with recursive

-- Narrow keys only: the wide columns (bodies, address lists) are joined in int_messages_resolved. Wide
-- CTEs used several times were materialized and ran out of memory at 1M messages.
appearances as not materialized (

    select
        event_id,
        message_key,
        release_id,
        release_rank,
        released_on,
        document_id,
        source_path,
        source_offset,
        item_index,
        quoted_in_index,
        source_kind,
    from {{ ref('int_messages_keyed') }}

),

-- the current appearance of each message, with the header fields threading needs
links as (

    select
        message_key,
        event_id,
        parent_message_id,
        thread_hint,
        normalized_message_id is not null
            or parent_message_id is not null
            or thread_hint is not null as has_thread_headers,
        -- thread root when this is the oldest message we hold of its chain: if it still points further
        -- up, the thread is rooted at the referenced (missing) message, so siblings of a missing parent
        -- share one thread
        case
            when parent_message_id is null or parent_message_id = message_key
                then message_key
            else thread_hint
        end as root_thread_id,
        release_id as current_release_id,
        release_rank as current_release_rank,
    from {{ ref('int_messages_keyed') }}
    qualify row_number() over (
        partition by message_key
        order by
            release_rank desc,
            coalesce(quote_depth, 0) > 0,
            case source_kind when 'native' then 0 when 'load_file' then 1 when 'printed_pdf' then 2 when 'scanned_image' then 3 else 0 end,
            source_path, source_offset nulls last, item_index nulls last, event_id
    ) = 1

),

appearance_stats as (

    select
        message_key,
        count(*) as appearances,
        count(distinct release_id) as release_count,
        arg_min(release_id, release_rank) as first_release_id,
        -- releases rank by released_on first, so this is the first release's date
        min(released_on) as first_released_on,
        list(distinct source_kind order by source_kind) filter (where source_kind is not null) as source_kinds,
    from appearances
    group by message_key

),

-- parent links inside our data; only these messages have an ancestor, all others are their own root
parent_edges as (

    select
        child.message_key as child_key,
        parent.message_key as parent_key,
    from links as child
    inner join links as parent
        on parent.message_key = child.parent_message_id
    where child.parent_message_id <> child.message_key

),

ancestry as (

    select
        child_key as message_key,
        parent_key as ancestor_key,
        1 as depth,
    from parent_edges

    union all

    select
        ancestry.message_key,
        parent_edges.parent_key as ancestor_key,
        ancestry.depth + 1 as depth,
    from ancestry
    inner join parent_edges
        on parent_edges.child_key = ancestry.ancestor_key
    -- depth cap guards against reference cycles in malformed headers
    where ancestry.depth < 100

),

oldest_known_ancestor as (

    select
        message_key,
        arg_max(ancestor_key, depth) as ancestor_key,
    from ancestry
    group by message_key

),

ancestor_roots as (

    select
        oldest_known_ancestor.message_key,
        root.root_thread_id as thread_id,
    from oldest_known_ancestor
    inner join links as root
        on root.message_key = oldest_known_ancestor.ancestor_key

),

-- messages without any threading header: normalized subject + participant set
headerless as (

    select
        current_appearance.message_key,
        current_appearance.sent_at,
        {{ make_id('thr', [
            "trim(regexp_replace(lower(regexp_replace(coalesce(current_appearance.subject, ''), '^\\s*((re|fwd?|aw)\\s*(\\[\\d+\\])?\\s*:\\s*)+', '', 'i')), '\\s+', ' ', 'g'))",
            "array_to_string(list_sort(list_distinct(list_filter(list_transform(
                list_filter(
                    list_concat(list_concat(coalesce(current_appearance.from_addresses, []), coalesce(current_appearance.to_addresses, [])), coalesce(current_appearance.cc_addresses, [])),
                    lambda a: not coalesce(a.redacted, false) and coalesce(a.name, '') not ilike '%redacted%'
                ),
                lambda a: coalesce(
                    nullif(lower(trim(a.email)), ''),
                    nullif(array_to_string(list_sort(list_filter(regexp_split_to_array(lower(coalesce(a.name, '')), '[^a-z0-9]+'), lambda w: w <> '')), ' '), '')
                )
            ), lambda p: p is not null))), ';')",
        ]) }} as subject_participants_key,
    from links
    inner join {{ ref('int_messages_keyed') }} as current_appearance
        on current_appearance.event_id = links.event_id
    where not links.has_thread_headers

),

-- a printed PDF message quoted below another printed message of the same document
quotations as (

    select distinct
        quoted.message_key as quoted_key,
        quoting.message_key as quoting_key,
    from appearances as quoted
    inner join appearances as quoting
        on quoting.document_id = quoted.document_id
        and quoting.item_index = quoted.quoted_in_index
    where quoted.quoted_in_index is not null
        and quoted.message_key <> quoting.message_key

),

fallback_edges as (

    -- same subject + participants: tie every message to the group's smallest key
    select
        message_key as node,
        min(message_key) over (partition by subject_participants_key) as neighbour,
    from headerless

    union

    select quoted_key, quoting_key
    from quotations
    where quoted_key in (select message_key from headerless)
        and quoting_key in (select message_key from headerless)

),

undirected_edges as (

    select node, neighbour from fallback_edges where node <> neighbour
    union
    select neighbour, node from fallback_edges where node <> neighbour

),

-- connected components (UNION makes the recursion stop once nothing new is reached)
reachable as (

    select message_key as node, message_key as reached from headerless

    union

    select reachable.node, undirected_edges.neighbour
    from reachable
    inner join undirected_edges
        on undirected_edges.node = reachable.reached

),

components as (

    select
        reachable.node as message_key,
        -- root: the earliest message of the component
        arg_min(reachable.reached, coalesce(cast(headerless.sent_at as varchar), '9999') || reachable.reached) as thread_id,
        count(*) as members,
    from reachable
    inner join headerless
        on headerless.message_key = reachable.reached
    group by reachable.node

),

-- header thread: the root of the oldest ancestor we hold, else the message's own
header_threads as (

    select
        links.*,
        case
            when ancestor_roots.message_key is not null then ancestor_roots.thread_id
            else links.root_thread_id
        end as header_thread_id,
    from links
    left join ancestor_roots
        on ancestor_roots.message_key = links.message_key

),

release_fingerprints as (

    {{ release_fingerprints() }}

),

threads as (

    select
        header_threads.message_key,
        header_threads.event_id as current_event_id,
        coalesce(components.thread_id, header_threads.header_thread_id) as thread_id,
        case
            when components.message_key is not null
                then case when components.members > 1 then 'subject_participants' else 'single' end
            when header_threads.parent_message_id is not null
                or count(*) over (partition by header_threads.header_thread_id) > 1
                then 'headers'
            else 'single'
        end as thread_method,
        appearance_stats.appearances,
        appearance_stats.release_count,
        coalesce(appearance_stats.source_kinds, [])::varchar[] as source_kinds,
        -- arg_min skips null releases, so a null first release means the current one is null too
        coalesce(appearance_stats.first_release_id, header_threads.current_release_id) as first_release_id,
        appearance_stats.first_released_on,
        header_threads.current_release_id,
        header_threads.current_release_rank,
    from header_threads
    inner join appearance_stats
        on appearance_stats.message_key = header_threads.message_key
    left join components
        on components.message_key = header_threads.message_key

),

-- The current event fixes what int_messages_resolved reads of the appearance, with its release's events
-- (a re-read or OCR resumed changes them), the key and rank it is joined with and the thread columns.
final as (

    select
        threads.*,
        hash(
            threads.message_key, threads.current_event_id, threads.thread_id, threads.thread_method,
            threads.appearances, threads.release_count, threads.source_kinds, threads.first_release_id,
            threads.first_released_on, threads.current_release_id, threads.current_release_rank,
            release_fingerprints.release_fingerprint
        ) as row_fingerprint,
    from threads
    left join release_fingerprints
        on release_fingerprints.release_id = threads.current_release_id

)

select * from final
