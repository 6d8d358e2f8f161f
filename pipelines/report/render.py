"""Put the report together: per figure a headline, a chart (inline SVG), a "what this shows" line and a
sources table whose rows are anchors (#src-<figure>-<n>) the chart's marks link to."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
from markupsafe import Markup

from pipelines.report import charts
from pipelines.report.headline import ReportData, numbers

TEMPLATES = Path(__file__).with_name("templates")
SOURCE_ROWS = 200  # rows per sources table; the rest are one query away (the table says which)
CHART_ROWS = 40  # people or accounts drawn in one chart, the busiest first; a note counts the rest


@dataclass
class Figure:
    id: str
    title: str
    what: str
    numbers: list[tuple[str, str]]
    svg: Markup
    sources: Markup
    sources_title: str
    notes: list[str] = field(default_factory=list)


def _anchor(fig: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Number the sources rows 1..n and give each its in-page link target."""
    frame = frame.reset_index(drop=True).copy()
    frame["n"] = range(1, len(frame) + 1)
    frame["href"] = [f"#src-{fig}-{n}" if n <= SOURCE_ROWS else f"#src-{fig}" for n in frame["n"]]
    return frame


def _top(frame: pd.DataFrame, key: str, what: str, weight: str | None = None,
         limit: int = CHART_ROWS) -> tuple[pd.DataFrame, list[str]]:
    """The rows of the `limit` values of `key` with the most rows (or the largest sum of `weight`), and a
    note saying how many were left out of the chart (the sources table and the headline count all)."""
    if frame.empty or frame[key].nunique() <= limit:
        return frame, []
    sizes = frame.groupby(key)[weight].sum() if weight else frame.groupby(key).size()
    keep = sizes.sort_values(ascending=False).index[:limit]
    return frame[frame[key].isin(keep)], [f"The chart draws the {limit} {what} with the most; "
                                          f"{sizes.size - limit:,} more are counted above but not drawn."]


def _chart(rows: pd.DataFrame, draw: Callable[[], object], nothing: str) -> Markup:
    """The chart as inline SVG, or a line saying why there is nothing to draw."""
    if rows.empty:
        return Markup('<p class="empty">Nothing to draw: {}.</p>').format(nothing)
    return Markup(charts.to_svg(draw()))


def _when(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.strftime("%Y-%m-%d %H:%M").fillna("")


def sources_table(fig: str, frame: pd.DataFrame, columns: dict[str, str], query: str) -> Markup:
    """A great_tables table of the cited rows: a numbered anchor per row, then `columns` (name -> label)."""
    import great_tables as gt

    shown = frame.head(SOURCE_ROWS)
    table = pd.DataFrame({"#": [f'<a class="anchor" id="src-{fig}-{n}" href="#src-{fig}-{n}">{n}</a>' for n in shown["n"]]})
    for col in columns:
        values = shown[col] if col in shown.columns else pd.Series([None] * len(shown))
        table[col] = values.astype(object).where(values.notna(), "").astype(str).to_numpy()
    g = (gt.GT(table).fmt_markdown(columns="#").cols_label(**{"#": "#", **columns})
         .tab_options(table_font_size="12px", data_row_padding="3px", column_labels_font_weight="600",
                      table_width="100%"))
    if len(frame) > SOURCE_ROWS:
        g = g.tab_source_note(f"First {SOURCE_ROWS} of {len(frame):,} rows. All of them: foil query \"{query}\"")
    else:
        g = g.tab_source_note(f"{len(frame):,} rows. Query them: foil query \"{query}\"")
    return Markup(g.as_raw_html())


def _fmt(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def build_figures(data: ReportData, progress: Callable[[int, int, str], None] | None = None) -> list[Figure]:
    h = numbers(data)
    figures: list[Figure] = []
    steps = 8

    def step(i: int, label: str) -> None:
        if progress:
            progress(i, steps, label)

    # 1. accounts against the trial period
    step(1, "accounts over time")
    acc = _anchor("accounts", data.accounts)
    acc["created"] = _when(acc["created_at"])
    account_href = dict(zip(acc["vendor_account_ref"], acc["href"]))
    dated = acc[acc["created_at"].notna() & acc["date_quality"].eq("ok")]
    periods = data.periods
    colours = charts.unit_colours(list(acc["unit"]) + list(data.by_unit["unit"]))
    period_text = "; ".join(f"{r.phase} {r.starts_on:%Y-%m-%d} to {r.ends_on:%Y-%m-%d}" for r in periods.itertuples())
    figures.append(Figure(
        "accounts", "Accounts created over time, against the trial period",
        "Each dot is an account as the vendor's roster or provisioning emails record it; the shaded band is the "
        "trial. Dots right of the band are accounts opened after the trial ended.",
        [(_fmt(h["accounts"]), "accounts in the releases"),
         (_fmt(h["accounts_after_trial"]), "agency accounts created after the trial (q01)"),
         (_fmt(h["searches_by_accounts_after_trial"]), "searches those accounts logged")],
        _chart(dated, lambda: charts.accounts_over_time(dated, periods, colours), "no account with a trustworthy creation time"),
        sources_table("accounts", acc, {"vendor_account_ref": "account", "holder_email": "holder", "unit": "unit",
                                        "created": "created (UTC)", "created_phase": "phase",
                                        "total_searches": "searches", "citation": "citation"},
                      "select * from accounts order by created_at"),
        "Accounts (one row each)",
        [f"Trial period: {period_text or 'none published'} ({data.periods_source})."]
        + ([f"{len(acc) - len(dated)} account(s) with no trustworthy creation time are listed below but not drawn."]
           if len(acc) > len(dated) else [])))

    # 2. searches per month by unit
    step(2, "searches per month by unit")
    src = _anchor("searches-by-unit", data.search_sources)
    src["rows"] = src["first_row"].astype("Int64").astype(str) + "–" + src["last_row"].astype("Int64").astype(str)
    by_unit = data.by_unit
    peak = by_unit.groupby("month")["searches"].sum()
    figures.append(Figure(
        "searches-by-unit", "Searches per month, by unit",
        "Every search in the vendor's search log, counted per calendar month (UTC) and stacked by the unit of the "
        "account that ran it; the shaded band is the trial.",
        [(_fmt(h["searches_logged"]), "logged searches"),
         (f"{peak.max():,}" if len(peak) else "0", f"in the busiest month ({peak.idxmax() if len(peak) else '–'})"),
         (_fmt(int(by_unit.groupby('unit')['searches'].sum().size)), "units or agencies searching")],
        _chart(by_unit, lambda: charts.searches_by_unit(by_unit, periods, colours), "no search log in the releases"),
        sources_table("searches-by-unit", src, {"release_id": "release", "document": "document", "searches": "rows read",
                                        "rows": "rows", "citation": "first row", "last_citation": "last row"},
                      "select * from searches where source_kind = 'search_log'"),
        "Search log files",
        ["Search counts that the vendor stated in emails or usage reports count differently and are not added here "
         "(see q05_reconcile_counts)."]))

    # 3. searches per month by account, with the 100-search mark
    step(3, "searches per month by account")
    hundred = _anchor("searches-by-account", data.hundred)
    hundred["reached"] = _when(hundred["reached_100_at"])
    by_account = data.by_account.assign(href=data.by_account["account"].map(account_href).fillna("#src-accounts"))
    drawn_accounts, account_notes = _top(by_account, "account", "accounts", weight="searches", limit=60)
    figures.append(Figure(
        "searches-by-account", "Searches per month by account, and who reached 100",
        "One row per account, darker cells are busier months; a red diamond marks the month of the account's 100th "
        "logged search (the vendor's onboarding target: \"See if you can reach 100 searches.\").",
        [(_fmt(h["accounts_reaching_100_searches"]), "accounts reached 100 searches (q02)"),
         (f"{h['fewest_days_to_100_searches']:g}" if h["fewest_days_to_100_searches"] is not None else "–",
          "days, the fastest from account to 100th search"),
         (_fmt(int(data.by_account["account"].nunique())), "accounts with logged searches")],
        _chart(drawn_accounts, lambda: charts.searches_by_account(drawn_accounts, hundred), "no search log in the releases"),
        sources_table("searches-by-account", hundred, {"vendor_account_ref": "account", "holder_email": "holder", "unit": "unit",
                                           "total_searches": "searches", "reached": "100th search (UTC)",
                                           "days_to_100": "days", "citation": "citation"},
                      "select * from searches where source_kind = 'search_log' and account_id = '...'"),
        "The 100th search of each account that reached it",
        ["A cell links to the account's row under the first figure; a diamond to its 100th search below."]
        + account_notes))

    # 4. who contacted the vendor
    step(4, "who contacted the vendor")
    contacts = _anchor("contacts", data.contacts)
    contacts["when"] = _when(contacts["occurred_at"])
    drawn_contacts, contact_notes = _top(contacts, "counterpart", "people")
    drawn_contacts, vendor_notes = _top(drawn_contacts, "vendor_person", "vendor people", limit=12)
    figures.append(Figure(
        "contacts", "Who was in contact with the vendor",
        "Emails and meetings between the vendor's people (columns) and everyone else (rows), split by who wrote; "
        "the number in a cell is how many contacts.",
        [(_fmt(h["people_in_contact_with_vendor"]), "people in contact with the vendor"),
         (_fmt(h["people_writing_to_vendor"]), "of them wrote to the vendor"),
         (_fmt(h["vendor_contacts"]), "contacts (per recipient)")],
        _chart(drawn_contacts, lambda: charts.vendor_matrix(drawn_contacts), "no email or meeting with a vendor person"),
        sources_table("contacts", contacts, {"when": "when (UTC)", "channel": "channel", "direction": "direction",
                                             "counterpart": "counterpart", "vendor_person": "vendor person",
                                             "subject": "subject", "citation": "citation"},
                      "select * from contacts order by occurred_at"),
        "Contacts",
        ["A contact is one sender-recipient pair of one email or meeting notice; a redacted party shows as (redacted)."]
        + contact_notes + vendor_notes))

    # 5. the referral chain
    step(5, "referral chain")
    refs = _anchor("referrals", data.referrals)
    refs["when"] = _when(refs["occurred_at"])
    drawn_refs, ref_notes = (refs.head(CHART_ROWS), [f"The chart draws the first {CHART_ROWS} referrals of {len(refs):,}."]) \
        if len(refs) > CHART_ROWS else (refs, [])
    figures.append(Figure(
        "referrals", "Referrals to other agencies",
        "Agency emails that passed a third person's address to the vendor: from the officer (left) through the "
        "vendor to the person referred (right). A solid line means the vendor then provisioned that person.",
        [(_fmt(h["referrals"]), "referrals"), (_fmt(h["referrals_provisioned"]), "followed by an account"),
         (_fmt(int(data.referrals["referred_org"].nunique())) if len(refs) else "0", "agencies referred to")],
        _chart(drawn_refs, lambda: charts.referral_chain(drawn_refs), "no referral found"),
        sources_table("referrals", refs, {"when": "when (UTC)", "nypd_email": "referred by",
                                          "other_party_email": "referred", "other_org": "org",
                                          "confirmed_by_provisioning": "provisioned", "detail": "rule; provenance",
                                          "citation": "citation"},
                      "select * from referrals"),
        "Referral emails (q07)",
        ["In the synthetic sample every referral detail is invented (provenance synthetic_modeled)."] + ref_notes))

    # 6. personal addresses
    step(6, "personal addresses")
    personal = _anchor("personal", data.personal)
    personal["when"] = _when(personal["occurred_at"])
    drawn_personal, personal_notes = _top(personal[personal["row_kind"] == "account"], "vendor_account_ref",
                                          "accounts", weight="total_searches")
    figures.append(Figure(
        "personal", "Accounts on personal addresses or devices",
        "Agency accounts whose login is a personal email address or whose roster lists a personal device, by "
        "logged searches; the dashed line is the 100-search mark.",
        [(_fmt(h["personal_access_accounts"]), "accounts on a personal address or device"),
         (_fmt(h["plaintext_credential_emails"]), "credential emails with the password in clear text (q04)")],
        _chart(drawn_personal, lambda: charts.personal_accounts(drawn_personal), "no account on a personal address or device"),
        sources_table("personal", personal, {"row_kind": "kind", "vendor_account_ref": "account",
                                             "holder_email": "login", "device": "device", "when": "when (UTC)",
                                             "recipient": "recipient",
                                             "password_redacted_in_first_release": "password redacted at first",
                                             "citation": "citation"},
                      "select * from accounts where is_personal_email or device = 'personal'"),
        "Accounts and credential emails (q04)", personal_notes))

    # 7. redaction rates per release
    step(7, "redaction rates")
    rsrc = _anchor("redactions", data.redaction_sources)
    first = rsrc.groupby(["release_id", "code"], dropna=False)["href"].first()
    rates = data.redactions.copy()
    rates["href"] = [first.get((r, c), "#src-redactions") for r, c in zip(rates["release_id"], rates["code"])]
    order = list(data.releases["release_id"])
    figures.append(Figure(
        "redactions", "Redaction rates per release",
        "For each release and exemption code: the number of redaction marks (in the cell) and the share of the "
        "release's messages carrying at least one (colour).",
        [(_fmt(h["redaction_marks"]), "redaction marks"),
         (_fmt(int(rates["code"].nunique())), "exemption codes cited"),
         (_fmt(int(rates["release_id"].nunique())), "releases with marks")],
        _chart(rates, lambda: charts.redaction_heatmap(rates, order), "no redaction marks"),
        sources_table("redactions", rsrc, {"release_id": "release", "document": "document", "code": "code",
                                           "marks": "marks", "pages": "pages", "citation": "citation"},
                      "select * from redactions"),
        "Marks per document (q09 counts them per release)",
        ["A quoted message repeats its redactions, so a mark can count once per page it is printed on."]))

    # 8. what changed between releases
    step(8, "changes between releases")
    changes = _anchor("changes", data.changes)
    first_change = changes.groupby("release_id")["href"].first()
    summary = data.release_summary.copy()
    summary["href"] = summary["release_id"].map(first_change).fillna("#src-changes")
    figures.append(Figure(
        "changes", "What changed between releases",
        "Per release: messages produced for the first time and messages produced again, and on those, how many "
        "redaction marks were lifted or added compared with the earlier copy.",
        [(_fmt(h["messages_reproduced"]), "messages produced again"),
         (_fmt(h["redaction_marks_lifted"]), "redaction marks lifted"),
         (_fmt(h["redaction_marks_added"]), "marks added (clawbacks)")],
        _chart(summary, lambda: charts.release_changes(summary), "no releases"),
        sources_table("changes", changes, {"from_release_id": "earlier release", "release_id": "release",
                                           "subject": "subject", "redactions_before": "marks before",
                                           "redactions_after": "marks after", "lifted_by_code": "lifted",
                                           "added_by_code": "added", "body_changed": "text changed",
                                           "citation": "citation"},
                      "select * from message_appearances order by message_id, release_id"),
        "Messages produced again (q11)"))
    return figures


def render(data: ReportData, out_dir: Path, progress=None) -> Path:
    """Write out_dir/index.html; returns its path."""
    import jinja2

    started = time.monotonic()
    figures = build_figures(data, progress)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html", "j2"]))
    releases = data.releases.assign(released_on=data.releases["released_on"].astype(str))
    html = env.get_template("report.html.j2").render(
        figures=figures, headline=numbers(data), build=data.build_info, releases=releases.to_dict("records"),
        render_seconds=round(time.monotonic() - started, 1))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "index.html"
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)  # a reader never sees half a report
    return target
