-- Q9 (foil-facts.md §11.9). What is the redaction rate by exemption code and by correspondent type
-- (vendor vs internal)?
--
-- Answers: two groupings (grouping column):
--   'release'           - per release and NY POL §87(2) code: marks, message appearances in the release,
--                         appearances with at least one mark of that code, and the rates;
--   'correspondent_type'- the same over the CURRENT version of every message (latest release containing
--                         it), per correspondent type and code: 'vendor' = a vendor person sends or
--                         receives it; 'internal' = an agency sender and only same-agency recipients;
--                         'other' = anything else (intermediary, federal agencies, redacted sender).
-- marks_per_message = marks / messages; share_of_messages_marked = messages with >= 1 such mark / messages.
--
-- Caveats:
-- * A mark is one "[REDACTED 87(2)(x)]" token in From/To/Cc/Bcc, subject or body. Replies quote their
--   parent (-----Original Message-----), so a quoted redaction counts again in the reply - this is the
--   count per produced page, not per distinct redacted fact.
-- * Messages per release = email_message events of that release (appearances; an attached message counts
--   again). Only email releases are covered: roster/log rows carry no redaction marks.
-- * Correspondent type uses people.primary_org_id, so an officer writing from a personal address counts
--   as agency; a redacted party has no org.
-- * Citations are per mark in the sample (redactions.citation_level); a cover-letter-only ground would not
--   appear here.
-- * citation: the documents holding the row's marks ('<release_id> / <path>', '; '-separated); the marks
--   themselves are the redactions rows of that release (or current versions) and code. A correspondent-type
--   row without marks (0) cites the documents of the messages it counted.
with

documents_cited as (

    select document_id, release_id || ' / ' || source_path as citation from documents

),

appearances_per_release as (

    select release_id, count(*) as messages
    from events
    where event_type = 'email_message'
    group by release_id

),

by_release as (

    select
        'release' as grouping,
        redactions.release_id,
        null::varchar as correspondent_type,
        redactions.code,
        min(redactions.ground) as ground,
        count(*) as marks,
        min(appearances_per_release.messages) as messages,
        count(distinct (redactions.document_id, redactions.message_id)) as messages_with_code,
        string_agg(distinct documents_cited.citation, '; ' order by documents_cited.citation) as citation,
    from redactions
    inner join appearances_per_release
        on redactions.release_id = appearances_per_release.release_id
    left join documents_cited
        on redactions.document_id = documents_cited.document_id
    group by redactions.release_id, redactions.code

),

participants as (

    select messages.message_id, sender_org.kind as org_kind, sender.primary_org_id as org_id, 'from' as role
    from messages
    left join people as sender on messages.from_person_id = sender.person_id
    left join organizations as sender_org on sender.primary_org_id = sender_org.org_id

    union all

    select contacts.message_id, to_org.kind, contacts.to_org, 'to'
    from contacts
    left join organizations as to_org on contacts.to_org = to_org.org_id

),

message_types as (

    select
        message_id,
        case
            when bool_or(org_kind = 'vendor') then 'vendor'
            when bool_or(role = 'from' and org_kind = 'local_police')
                and count(distinct org_id) filter (where org_id is not null) = 1
                and bool_and(org_kind = 'local_police' or org_kind is null)
                then 'internal'
            else 'other'
        end as correspondent_type,
    from participants
    group by message_id

),

current_marks as (

    select redactions.*
    from redactions
    inner join messages
        on redactions.message_id = messages.message_id
        and redactions.release_id = messages.current_release_id

),

by_type as (

    select
        'correspondent_type' as grouping,
        null::varchar as release_id,
        message_types.correspondent_type,
        codes.code,
        codes.ground,
        count(current_marks.redaction_id) as marks,
        min(type_counts.messages) as messages,
        count(distinct current_marks.message_id) as messages_with_code,
        coalesce(
            string_agg(distinct documents_cited.citation, '; ' order by documents_cited.citation),
            min(type_counts.citation)
        ) as citation,
    from message_types
    cross join (select distinct code, ground from redactions) as codes
    inner join (
        select
            message_types.correspondent_type,
            count(*) as messages,
            string_agg(distinct documents_cited.citation, '; ' order by documents_cited.citation) as citation,
        from message_types
        inner join messages on message_types.message_id = messages.message_id
        left join documents_cited on messages.document_id = documents_cited.document_id
        group by all
    ) as type_counts
        on message_types.correspondent_type = type_counts.correspondent_type
    left join current_marks
        on current_marks.message_id = message_types.message_id
        and current_marks.code is not distinct from codes.code
    left join documents_cited
        on current_marks.document_id = documents_cited.document_id
    group by message_types.correspondent_type, codes.code, codes.ground

)

select
    *,
    round(marks / messages, 3) as marks_per_message,
    round(messages_with_code / messages, 3) as share_of_messages_marked,
from (select * from by_release union all select * from by_type)
order by grouping desc, release_id, correspondent_type, code
