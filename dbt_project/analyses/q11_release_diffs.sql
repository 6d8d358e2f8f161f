-- Q11 (foil-facts.md §11.11). Which emails changed between releases (new pages, lifted redactions,
-- clawbacks)?
--
-- Answers: rows of two kinds (row_kind):
--   'message_change' - one row per message produced again in a later release (matched by Message-ID),
--                      per pair of consecutive releases containing it: marks before/after, lifted_by_code
--                      and added_by_code (JSON objects code -> marks; added = clawback/new redaction),
--                      whether the body text changed otherwise, the earlier file and the release that
--                      superseded that document (documents.superseded_by_release_id);
--   'release_summary'- per release: message appearances, messages new in that release (new pages),
--                      messages re-produced from an earlier release, and marks lifted/added on them.
--
-- Caveats:
-- * Copies are matched by normalized Message-ID (messages.message_id); a message without one is keyed by a
--   hash of its content, so a changed copy of it shows up as a new message, not as a change.
-- * Marks are counted per message appearance including quoted parents (see q09); a lifted mark in a quoted
--   block counts too.
-- * body_changed compares the two bodies with every redaction mark removed: it is true when text was added
--   or removed, including text revealed where a mark was lifted; false when only header marks changed.
-- * citation: for a message change the earlier and the later copy ('<release_id> / <path>', '; '-separated);
--   for a release summary the release's manifest ('<release_id> / release.yaml').
-- * A release that supersedes another but does not re-produce a message leaves that message's earlier copy
--   current (messages.current_release_id); it is not a withdrawal.
with

releases_ranked as (

    select release_id, release_rank from releases

),

appearances as (

    select
        events.release_id,
        releases_ranked.release_rank,
        events.source_path,
        lower(trim(events.payload ->> 'message_id', '<> ')) as message_id,
        regexp_replace(events.payload ->> 'body_text', '\[REDACTED[^\]]*\]', '', 'g') as unmarked_body,
    from events
    inner join releases_ranked
        on events.release_id = releases_ranked.release_id
    where events.event_type = 'email_message'
        and nullif(trim(events.payload ->> 'message_id', '<> '), '') is not null

),

per_release as (

    -- one appearance per message and release (an attached copy inside the same release is not a change)
    select message_id, release_id, release_rank, min(source_path) as source_path, min(unmarked_body) as unmarked_body,
    from appearances
    group by message_id, release_id, release_rank

),

pairs as (

    select
        message_id,
        lag(release_id) over w as from_release_id,
        lag(source_path) over w as from_path,
        lag(unmarked_body) over w as from_body,
        release_id as to_release_id,
        source_path as to_path,
        unmarked_body as to_body,
    from per_release
    window w as (partition by message_id order by release_rank)
    qualify from_release_id is not null

),

marks as (

    select message_id, release_id, code, count(*) as n
    from redactions
    group by message_id, release_id, code

),

code_diffs as (

    select
        pairs.message_id,
        pairs.from_release_id,
        pairs.to_release_id,
        codes.code,
        coalesce(before.n, 0) as before_n,
        coalesce(after.n, 0) as after_n,
    from pairs
    cross join (select distinct code from redactions) as codes
    left join marks as before
        on before.message_id = pairs.message_id
        and before.release_id = pairs.from_release_id
        and before.code is not distinct from codes.code
    left join marks as after
        on after.message_id = pairs.message_id
        and after.release_id = pairs.to_release_id
        and after.code is not distinct from codes.code

),

diff_summary as (

    select
        message_id,
        from_release_id,
        to_release_id,
        sum(before_n)::bigint as redactions_before,
        sum(after_n)::bigint as redactions_after,
        coalesce(cast(to_json(map_from_entries(
            list({'k': code, 'v': before_n - after_n} order by code) filter (where before_n > after_n)
        )) as varchar), '{}') as lifted_by_code,
        coalesce(cast(to_json(map_from_entries(
            list({'k': code, 'v': after_n - before_n} order by code) filter (where after_n > before_n)
        )) as varchar), '{}') as added_by_code,
        sum(greatest(before_n - after_n, 0))::bigint as marks_lifted,
        sum(greatest(after_n - before_n, 0))::bigint as marks_added,
    from code_diffs
    group by message_id, from_release_id, to_release_id

),

message_changes as (

    select
        'message_change' as row_kind,
        pairs.to_release_id as release_id,
        pairs.from_release_id,
        pairs.message_id,
        messages.subject,
        pairs.from_path,
        pairs.to_path,
        documents.superseded_by_release_id as from_document_superseded_by,
        diff_summary.redactions_before,
        diff_summary.redactions_after,
        diff_summary.redactions_after < diff_summary.redactions_before as fewer_redactions,
        diff_summary.marks_lifted,
        diff_summary.marks_added,
        diff_summary.lifted_by_code,
        diff_summary.added_by_code,
        pairs.from_body is distinct from pairs.to_body as body_changed,
        null::bigint as appearances,
        null::bigint as new_messages,
        null::bigint as reproduced_messages,
        pairs.from_release_id || ' / ' || pairs.from_path || '; ' || pairs.to_release_id || ' / ' || pairs.to_path as citation,
    from pairs
    inner join diff_summary
        on pairs.message_id = diff_summary.message_id
        and pairs.to_release_id = diff_summary.to_release_id
    left join messages
        on pairs.message_id = messages.message_id
    left join documents
        on documents.release_id = pairs.from_release_id
        and documents.source_path = pairs.from_path

),

release_summaries as (

    select
        'release_summary' as row_kind,
        releases.release_id,
        null::varchar as from_release_id,
        null::varchar as message_id,
        releases.title as subject,
        null::varchar as from_path,
        null::varchar as to_path,
        null::varchar as from_document_superseded_by,
        null::bigint as redactions_before,
        null::bigint as redactions_after,
        null::boolean as fewer_redactions,
        (select sum(marks_lifted)::bigint from message_changes where message_changes.release_id = releases.release_id) as marks_lifted,
        (select sum(marks_added)::bigint from message_changes where message_changes.release_id = releases.release_id) as marks_added,
        null::varchar as lifted_by_code,
        null::varchar as added_by_code,
        null::boolean as body_changed,
        (select count(*) from events where events.event_type = 'email_message' and events.release_id = releases.release_id) as appearances,
        (select count(*) from messages where messages.first_release_id = releases.release_id) as new_messages,
        (select count(*) from message_changes where message_changes.release_id = releases.release_id) as reproduced_messages,
        releases.release_id || ' / release.yaml' as citation,
    from releases

)

select * from message_changes
union all
select * from release_summaries
order by row_kind, release_id, from_path, message_id
