{#- One row per message (message_key): the current appearance (latest release containing it, which is
    how a superseding release replaces text/headers), appearance counts, and the thread root found by
    walking In-Reply-To / References up through the messages we hold. -#}
with recursive

appearances as (

    select * from {{ ref('int_messages_keyed') }}

),

current_appearance as (

    select *
    from appearances
    qualify row_number() over (
        partition by message_key
        order by release_rank desc, source_path, source_offset nulls last, item_index nulls last, event_id
    ) = 1

),

appearance_stats as (

    select
        message_key,
        count(*) as appearances,
        count(distinct release_id) as release_count,
        arg_min(release_id, release_rank) as first_release_id,
    from appearances
    group by message_key

),

links as (

    select
        message_key,
        parent_message_id,
        thread_hint,
    from current_appearance

),

ancestry as (

    select
        message_key,
        message_key as ancestor_key,
        0 as depth,
    from links

    union all

    select
        ancestry.message_key,
        parent.message_key as ancestor_key,
        ancestry.depth + 1 as depth,
    from ancestry
    inner join links as child
        on child.message_key = ancestry.ancestor_key
    inner join links as parent
        on parent.message_key = child.parent_message_id
    -- depth cap guards against reference cycles in malformed headers
    where ancestry.depth < 100
        and child.parent_message_id <> child.message_key

),

oldest_known_ancestor as (

    select
        message_key,
        arg_max(ancestor_key, depth) as ancestor_key,
    from ancestry
    group by message_key

),

threads as (

    select
        oldest_known_ancestor.message_key,
        -- if the oldest message we hold still points further up, the thread is rooted at the
        -- referenced (missing) message, so siblings of a missing parent share one thread
        case
            when links.parent_message_id is null or links.parent_message_id = links.message_key
                then links.message_key
            else links.thread_hint
        end as thread_id,
    from oldest_known_ancestor
    inner join links
        on links.message_key = oldest_known_ancestor.ancestor_key

),

final as (

    select
        current_appearance.message_key as message_id,
        current_appearance.header_message_id,
        threads.thread_id,
        current_appearance.sent_at,
        current_appearance.from_email,
        current_appearance.from_name,
        current_appearance.subject,
        current_appearance.body_text,
        current_appearance.own_text,
        current_appearance.signature_text,
        current_appearance.from_addresses,
        current_appearance.to_addresses,
        current_appearance.cc_addresses,
        current_appearance.bcc_addresses,
        appearance_stats.appearances,
        appearance_stats.release_count,
        appearance_stats.first_release_id,
        current_appearance.release_id as current_release_id,
        current_appearance.release_rank as current_release_rank,
        current_appearance.document_id,
        current_appearance.source_path,
        current_appearance.source_offset,
        current_appearance.event_id as current_event_id,
    from current_appearance
    inner join appearance_stats
        on current_appearance.message_key = appearance_stats.message_key
    inner join threads
        on current_appearance.message_key = threads.message_key

)

select * from final
