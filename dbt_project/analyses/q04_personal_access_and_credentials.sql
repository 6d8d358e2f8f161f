-- Q4 (foil-facts.md §11.4). Which accounts used personal devices or personal email, and how many
-- credential emails went out in plaintext?
--
-- Answers: two kinds of rows (row_kind):
--   'account'          - NYPD accounts whose login is a personal address (accounts.is_personal_email) or
--                        whose roster device is 'personal';
--   'credential_email' - vendor "Your Clearview account is ready" emails whose body carries a
--                        "Password: ..." line, i.e. credentials sent in clear text.
-- rows_of_kind repeats the number of rows of that kind. citation: the account's source row (accounts.citation)
-- or the email's current version (messages.citation).
--
-- Caveats:
-- * The subject/body patterns mirror seeds/signal_rules.csv (clearview_account_ready, clearview_password;
--   published as ref_signal_rules); they are repeated here so the query reads on its own. The sender must be at a vendor domain, so an
--   officer forwarding the email is not a second credential email.
-- * Body text is the message's current (latest released) version. password_redacted_in_first_release
--   says whether the first production redacted the password value under 87(2)(i).
-- * recipient is the first unredacted To address (null if the recipient was redacted); two recipients
--   are ICE/HSI agents, not NYPD accounts.
-- * Requests for personal-device / personal-email access ("Can I install it on my personal phone?") are
--   free text and not a mart; search messages.body_text for them.
with

vendor_domains as (

    select unnest(domains) as domain
    from organizations
    where kind = 'vendor'

),

personal_accounts as (

    select
        'account' as row_kind,
        vendor_account_ref,
        holder_email,
        unit,
        device,
        is_personal_email,
        total_searches,
        provisioning_message_id as message_id,
        created_at as occurred_at,
        null::varchar as recipient,
        null::boolean as password_redacted_in_first_release,
        citation,
    from accounts
    where agency = 'nypd'
        and (is_personal_email or device = 'personal')

),

credential_emails as (

    select
        'credential_email' as row_kind,
        accounts.vendor_account_ref,
        accounts.holder_email,
        accounts.unit,
        accounts.device,
        accounts.is_personal_email,
        accounts.total_searches,
        messages.message_id,
        messages.sent_at as occurred_at,
        messages.to_emails[1] as recipient,
        exists (
            select 1 from redactions
            where redactions.message_id = messages.message_id
                and redactions.release_id = messages.first_release_id
                and redactions.code = '87(2)(i)'
        ) as password_redacted_in_first_release,
        messages.citation,
    from messages
    inner join vendor_domains
        on lower(split_part(messages.from_email, '@', 2)) = vendor_domains.domain
    left join accounts
        on accounts.holder_email = messages.to_emails[1]
    where regexp_matches(messages.subject, '^(re: |fwd?: )*your clearview account is ready', 'i')
        and regexp_matches(messages.body_text, 'password:\s*\S+', 'i')

),

unioned as (

    select * from personal_accounts
    union all
    select * from credential_emails

)

select
    *,
    count(*) over (partition by row_kind) as rows_of_kind,
from unioned
order by row_kind, occurred_at, message_id
