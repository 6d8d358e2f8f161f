"""The report's headline numbers, also printed by `foil status`: computed from the same rows the
figures draw (pipelines/report/queries.py), so the report, the status line and the analyses agree."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipelines.report import queries


@dataclass
class ReportData:
    """Every frame the report draws, read once from the published file."""
    periods: pd.DataFrame
    periods_source: str
    accounts: pd.DataFrame
    after_trial: pd.DataFrame
    by_unit: pd.DataFrame
    by_account: pd.DataFrame
    search_sources: pd.DataFrame
    hundred: pd.DataFrame
    contacts: pd.DataFrame
    referrals: pd.DataFrame
    personal: pd.DataFrame
    redactions: pd.DataFrame
    redaction_sources: pd.DataFrame
    release_summary: pd.DataFrame
    changes: pd.DataFrame
    releases: pd.DataFrame
    build_info: dict = field(default_factory=dict)


# (label, loader) in the order the report draws them; `foil report` shows these as its progress steps.
STEPS = (
    ("accounts and the trial period", lambda con: {
        **dict(zip(("periods", "periods_source"), queries.contract_periods(con))),
        "accounts": queries.accounts(con), "after_trial": queries.analysis(con, "q01")}),
    ("searches per month", lambda con: {
        "by_unit": queries.searches_by_unit_month(con), "by_account": queries.searches_by_account_month(con),
        "search_sources": queries.search_log_sources(con), "hundred": queries.reached_100(con)}),
    ("contacts with the vendor", lambda con: {"contacts": queries.vendor_contacts(con)}),
    ("referrals", lambda con: {"referrals": queries.referrals(con)}),
    ("personal addresses and credentials", lambda con: {"personal": queries.personal_access(con)}),
    ("redactions", lambda con: {"redactions": queries.redaction_rates(con),
                                "redaction_sources": queries.redaction_sources(con)}),
    ("changes between releases", lambda con: {
        **dict(zip(("release_summary", "changes"), queries.release_changes(con))),
        "releases": queries.releases(con), "build_info": queries.build_info(con)}),
)


def load(con, progress=None) -> ReportData:
    """Read every frame; `progress(i, total, label)` is called before each step."""
    parts: dict = {}
    for i, (label, loader) in enumerate(STEPS, 1):
        if progress:
            progress(i, len(STEPS), label)
        parts.update(loader(con))
    return ReportData(**parts)


def _int(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def numbers(data: ReportData) -> dict:
    """The headline numbers as a flat dict of ints and floats (the keys `foil status --json` shows)."""
    after = data.after_trial
    personal = data.personal
    summary = data.release_summary
    return {
        "accounts": len(data.accounts),
        "accounts_after_trial": _int(after["accounts_after_trial"].iloc[0]) if len(after) else 0,
        "searches_by_accounts_after_trial": _int(after["searches_after_trial_accounts"].iloc[0]) if len(after) else 0,
        "searches_logged": _int(data.by_unit["searches"].sum()),
        "accounts_reaching_100_searches": len(data.hundred),
        "fewest_days_to_100_searches": (float(data.hundred["days_to_100"].min()) if len(data.hundred) else None),
        "vendor_contacts": len(data.contacts),
        "people_in_contact_with_vendor": int(data.contacts["counterpart"].nunique()),
        "people_writing_to_vendor": int(data.contacts.loc[data.contacts["direction"] == "to the vendor", "counterpart"].nunique()),
        "referrals": len(data.referrals),
        "referrals_provisioned": int(data.referrals["confirmed_by_provisioning"].fillna(False).astype(bool).sum()),
        "personal_access_accounts": int((personal["row_kind"] == "account").sum()),
        "plaintext_credential_emails": int((personal["row_kind"] == "credential_email").sum()),
        "redaction_marks": _int(data.redactions["marks"].sum()),
        "releases": len(data.releases),
        "messages_reproduced": _int(summary["reproduced_messages"].sum()),
        "redaction_marks_lifted": _int(summary["marks_lifted"].sum()),
        "redaction_marks_added": _int(summary["marks_added"].sum()),
    }


def status_line(h: dict) -> str:
    """A few lines for `foil status` (indented after the first)."""
    fastest = "" if h["fewest_days_to_100_searches"] is None else f", fastest in {h['fewest_days_to_100_searches']:g} days"
    return "\n  ".join([
        f"accounts: {h['accounts']} ({h['accounts_after_trial']} agency accounts created after the trial, "
        f"{h['searches_by_accounts_after_trial']:,} searches by them)",
        f"searches logged: {h['searches_logged']:,} ({h['accounts_reaching_100_searches']} accounts reached 100{fastest})",
        f"in contact with the vendor: {h['people_in_contact_with_vendor']} people ({h['vendor_contacts']} contacts); "
        f"referrals: {h['referrals']} ({h['referrals_provisioned']} provisioned)",
        f"personal address or device: {h['personal_access_accounts']} accounts; "
        f"{h['plaintext_credential_emails']} credential emails in clear text",
        f"redaction marks: {h['redaction_marks']:,} ({h['redaction_marks_lifted']:,} lifted, "
        f"{h['redaction_marks_added']:,} added on re-release)"])


def compute(warehouse) -> dict:
    """Open the published file as analysts do (read-only, sandboxed) and compute the headline numbers."""
    from pipelines.lib import sandbox

    with sandbox.open_for_analysts(warehouse) as con:
        return numbers(load(con))


def for_status(warehouse) -> tuple[dict | None, str | None]:
    """(numbers, None), or (None, why not) when the file predates a table the figures read."""
    import duckdb

    try:
        return compute(warehouse), None
    except (duckdb.Error, FileNotFoundError, KeyError) as exc:
        return None, f"{str(exc).splitlines()[0]}; rebuild with `foil build`"
