"""What the report reads from the published file: one function per figure, each returning the rows
to draw and the rows it cites (with `citation`).

Where a shipped analysis (dbt_project/analyses/qNN_*.sql, plain SQL on the published tables) answers
the question, it is run as it is and only joined to the rows it rests on; the SQL here only adds what
the analyses do not give: monthly buckets, the matrix of contacts, and the citation of each row.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.lib.paths import DBT_PROJECT_DIR

ANALYSES_DIR = DBT_PROJECT_DIR / "analyses"


def analysis(con: duckdb.DuckDBPyConnection, stem: str) -> pd.DataFrame:
    """Run the shipped analysis whose file name starts with `stem` (e.g. "q01")."""
    matches = sorted(ANALYSES_DIR.glob(f"{stem}_*.sql"))
    if not matches:
        raise FileNotFoundError(f"no analysis {stem}_*.sql in {ANALYSES_DIR}")
    return con.sql(matches[0].read_text().strip().rstrip(";")).df()


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_name = ?", [table]).fetchone()[0] > 0


def has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return con.execute("select count(*) from information_schema.columns where table_name = ? and column_name = ?",
                       [table, column]).fetchone()[0] > 0


def df(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


# --- accounts against the trial period ----------------------------------------------------------------

def contract_periods(con) -> tuple[pd.DataFrame, str]:
    """The contract periods (phase, starts_on, ends_on) and where they came from.

    The published reference seed (`ref_contract_periods`) when the file carries it; otherwise the span of
    the accounts created in each phase that is not an "after"/"before" phase (accounts.created_phase is
    computed from that seed), which is narrower than the contract period and says so."""
    for table in ("ref_contract_periods", "contract_periods"):
        if has_table(con, table):
            return (df(con, f"select phase, starts_on::date as starts_on, ends_on::date as ends_on "
                            f"from {table} order by starts_on"),
                    f"{table} in the published file")
    periods = df(con, """
        select created_phase as phase, min(created_at)::date as starts_on, max(created_at)::date as ends_on
        from accounts
        where created_phase is not null and date_quality = 'ok'
            and not (created_phase like 'after%' or created_phase like 'before%')
        group by created_phase order by starts_on""")
    return periods, ("approximate: the span of accounts created in each phase (accounts.created_phase); "
                     "the published file has no contract_periods table")


def accounts(con) -> pd.DataFrame:
    return df(con, """
        select account_id, vendor_account_ref, holder_email, agency, coalesce(unit, upper(agency)) as unit,
               created_at, created_phase, date_quality, total_searches, release_id, citation
        from accounts
        order by created_at nulls last, account_id""")


# --- searches -----------------------------------------------------------------------------------------

_LOGGED = "searches.source_kind = 'search_log' and searches.date_quality = 'ok'"


def searches_by_unit_month(con) -> pd.DataFrame:
    return df(con, f"""
        select strftime(date_trunc('month', searches.searched_at), '%Y-%m') as month,
               coalesce(accounts.unit, upper(accounts.agency), 'unknown account') as unit,
               count(*) as searches
        from searches left join accounts on searches.account_id = accounts.account_id
        where {_LOGGED}
        group by all order by month, unit""")


def searches_by_account_month(con) -> pd.DataFrame:
    return df(con, f"""
        select coalesce(accounts.vendor_account_ref, searches.account_id, 'unknown') as account,
               coalesce(accounts.unit, upper(accounts.agency), 'unknown account') as unit,
               strftime(date_trunc('month', searches.searched_at), '%Y-%m') as month,
               count(*) as searches
        from searches left join accounts on searches.account_id = accounts.account_id
        where {_LOGGED}
        group by all order by account, month""")


def search_log_sources(con) -> pd.DataFrame:
    """The search log's files: release, document, the rows read, and the first and last row's citation."""
    return df(con, """
        select searches.release_id, documents.source_path as document, count(*) as searches,
               min(searches.source_row) as first_row, max(searches.source_row) as last_row,
               arg_min(searches.citation, searches.source_row) as citation,
               arg_max(searches.citation, searches.source_row) as last_citation
        from searches left join documents on searches.document_id = documents.document_id
        where searches.source_kind = 'search_log'
        group by all order by searches.release_id, document""")


def reached_100(con) -> pd.DataFrame:
    """q02, with the citation of each account's 100th logged search."""
    q = analysis(con, "q02")
    if q.empty:
        return q.assign(citation=pd.Series(dtype=str), month=pd.Series(dtype=str))
    cites = df(con, """
        select accounts.vendor_account_ref, searches.searched_at as reached_100_at, min(searches.citation) as hundredth_citation
        from searches inner join accounts on searches.account_id = accounts.account_id
        where searches.source_kind = 'search_log'
        group by all""")
    q = q.merge(cites, on=["vendor_account_ref", "reached_100_at"], how="left")
    if "citation" not in q.columns:
        q["citation"] = q["hundredth_citation"]
    q["month"] = pd.to_datetime(q["reached_100_at"], utc=True).dt.strftime("%Y-%m")
    return q


# --- who contacted the vendor -------------------------------------------------------------------------

def vendor_contacts(con) -> pd.DataFrame:
    """Every contact (email or meeting) between a vendor person and someone outside the vendor."""
    return df(con, """
        with vendor_orgs as (select org_id from organizations where kind = 'vendor'),
        c as (
            select contacts.*,
                   contacts.from_org in (select org_id from vendor_orgs) as from_vendor,
                   contacts.to_org in (select org_id from vendor_orgs) as to_vendor
            from contacts
        )
        select c.occurred_at, c.channel, c.subject, c.message_id, c.release_id, c.citation,
               case when c.from_vendor then 'from the vendor' else 'to the vendor' end as direction,
               coalesce(vp.display_name, '(redacted)') as vendor_person,
               coalesce(op.display_name, '(redacted)') || ' (' || coalesce(oo.name, 'unknown org') || ')' as counterpart,
               coalesce(oo.kind, 'unknown') as counterpart_kind
        from c
        left join people vp on vp.person_id = case when c.from_vendor then c.from_person_id else c.to_person_id end
        left join people op on op.person_id = case when c.from_vendor then c.to_person_id else c.from_person_id end
        left join organizations oo on oo.org_id = case when c.from_vendor then c.to_org else c.from_org end
        where c.from_vendor <> c.to_vendor
        order by c.occurred_at, c.message_id""")


# --- referrals ----------------------------------------------------------------------------------------

def referrals(con) -> pd.DataFrame:
    """q07's referral rows (agency emails passing a third person's address to the vendor), cited."""
    q = analysis(con, "q07")
    q = q[q["row_kind"] == "referral"].drop(columns=["row_kind"])
    cites = df(con, """
        select referrals.evidence_message_id as evidence, referrals.referred_email as other_party_email,
               referrals.citation as referral_citation, referrals.release_id, referrals.referred_org,
               coalesce(referrer.display_name, referrals.referrer_person_id) as referrer_name,
               coalesce(referred.display_name, referrals.referred_email) as referred_name
        from referrals
        left join people as referrer on referrals.referrer_person_id = referrer.person_id
        left join people as referred on referrals.referred_person_id = referred.person_id""")
    q = q.merge(cites, on=["evidence", "other_party_email"], how="left")
    if "citation" not in q.columns:
        q["citation"] = q["referral_citation"]
    return q.sort_values("occurred_at").reset_index(drop=True)


# --- personal addresses -------------------------------------------------------------------------------

def personal_access(con) -> pd.DataFrame:
    """q04: accounts on a personal address or device, and credential emails sent in clear text; cited."""
    q = analysis(con, "q04")
    if "citation" in q.columns:
        return q
    account_cites = df(con, "select vendor_account_ref, citation as account_citation from accounts")
    message_cites = df(con, "select message_id, citation as message_citation from messages")
    q = q.merge(account_cites, on="vendor_account_ref", how="left").merge(message_cites, on="message_id", how="left")
    q["citation"] = q["account_citation"].where(q["row_kind"] == "account", q["message_citation"])
    return q


# --- redactions and releases --------------------------------------------------------------------------

def redaction_rates(con) -> pd.DataFrame:
    """q09's per-release rows: marks per message and share of messages marked, per exemption code."""
    q = analysis(con, "q09")
    return q[q["grouping"] == "release"].reset_index(drop=True)


def redaction_sources(con) -> pd.DataFrame:
    """Per release, document and code: the marks and where they are (the message's citation in that
    release, or the document and page for marks outside a message)."""
    own = "redactions.citation" if has_column(con, "redactions", "citation") else "null"
    return df(con, f"""
        select redactions.release_id, redactions.code, documents.source_path as document,
               count(*) as marks, string_agg(distinct redactions.page::varchar, ', ') as pages,
               coalesce(min({own}), min(appearances.citation),
                        min(redactions.release_id || ' / ' || documents.source_path)) as citation
        from redactions
        left join documents on redactions.document_id = documents.document_id
        left join message_appearances as appearances
            on appearances.release_id = redactions.release_id
            and appearances.document_id = redactions.document_id
            and appearances.message_id = redactions.message_id
        group by all order by redactions.release_id, document, redactions.code""")


def release_changes(con) -> tuple[pd.DataFrame, pd.DataFrame]:
    """q11: per release (new, re-produced, marks lifted/added) and per re-produced message, cited."""
    q = analysis(con, "q11")
    summary = q[q["row_kind"] == "release_summary"].copy()
    order = df(con, "select release_id, released_on, release_rank from releases")
    summary = summary.merge(order, on="release_id", how="left").sort_values("release_rank").reset_index(drop=True)
    changes = q[q["row_kind"] == "message_change"].copy()
    if "citation" not in changes.columns:
        cites = df(con, """
            select release_id, message_id, min(citation) as citation
            from message_appearances group by all""")
        changes = changes.merge(cites, on=["release_id", "message_id"], how="left")
    return summary, changes.reset_index(drop=True)


def releases(con) -> pd.DataFrame:
    return df(con, "select release_id, released_on, title, request_id, is_synthetic from releases order by released_on, release_id")


def build_info(con) -> dict:
    row = con.execute("select published_at::varchar, releases, as_of_release, run_id from build_info").fetchone()
    return {"published_at": row[0], "releases": row[1], "as_of_release": row[2], "run_id": row[3]}
