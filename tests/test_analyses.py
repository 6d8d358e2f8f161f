"""The analyst questions (foil-facts.md §11) as SQL files in dbt_project/analyses/, checked end to end.

The sample releases the generator's answer key describes are built once through the real CLI; every
analysis file is then run through `foil query --file … --format json` against the published file, and
its answer is compared with raw/_generator/answer_key.json wherever the key states it. Numbers come from
the key, never from this file.

Only the releases written by raw/_generator/generate_sample.py (the keys of answer_key["releases"]) are
built: the key is computed from exactly those, while the other sample releases (load file, office
formats) have their own generators and reader tests and would add messages the key does not know about.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from .conftest import REPO, run_foil

ANALYSES = REPO / "dbt_project" / "analyses"
KEY = json.loads((REPO / "raw" / "_generator" / "answer_key.json").read_text())
EXPECTED_FILES = [
    "q01_accounts_after_trial.sql", "q02_reached_100_searches.sql", "q03_outside_fis.sql",
    "q04_personal_access_and_credentials.sql", "q05_reconcile_counts.sql", "q06_contact_chain.sql",
    "q07_federal_task_forces.sql", "q08_searches_after_statement.sql", "q09_redaction_rates.sql",
    "q10_national_ranking.sql", "q11_release_diffs.sql",
]


def ts(value: str) -> dt.datetime:
    """Key times are '…Z'; the CLI's JSON prints DuckDB timestamps as '… +00:00'."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("analyses")
    raw = root / "raw"
    raw.mkdir()
    for release_id in KEY["releases"]:
        shutil.copytree(REPO / "raw" / release_id, raw / release_id)
    wh = root / "wh" / "analytics.duckdb"
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(wh))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return wh


@pytest.fixture(scope="module")
def answers(warehouse) -> dict[str, list[dict]]:
    """Every analysis file run once through the real CLI: {file stem: rows}."""
    results = {}
    for path in sorted(ANALYSES.glob("q*.sql")):
        proc = run_foil("query", "--warehouse", str(warehouse), "--file", str(path), "--format", "json")
        assert proc.returncode == 0, f"{path.name}: {proc.stderr[-2000:]}"
        results[path.stem] = json.loads(proc.stdout)
    return results


def test_every_question_has_a_documented_file():
    assert sorted(p.name for p in ANALYSES.glob("q*.sql")) == EXPECTED_FILES
    for name in EXPECTED_FILES:
        text = (ANALYSES / name).read_text()
        assert text.startswith("-- Q"), f"{name} must start with its question in a -- comment block"
        assert "{{" not in text and "ref(" not in text, f"{name} must be plain SQL on the published tables"


def test_every_analysis_returns_rows(answers):
    assert sorted(answers) == sorted(Path(n).stem for n in EXPECTED_FILES)
    for name, rows in answers.items():
        assert rows, f"{name} returned no rows"


def test_every_reported_row_cites_its_sources(answers):
    """From each reported row an analyst can go to the documents: every row of every analysis has a
    citation, and each of its parts ('; '-separated) names a built release and a path in it, or a
    publication (published figures are in no release)."""
    releases = "|".join(re.escape(r) for r in KEY["releases"])
    part_pattern = re.compile(rf"^(?:[\w ]+: )?(?:{releases}) / \S|^published: \S")
    for name, rows in answers.items():
        assert all("citation" in row for row in rows), f"{name} has no citation column"
        missing = [row for row in rows if not (row["citation"] or "").strip()]
        assert not missing, f"{name}: {len(missing)} rows without a citation, e.g. {missing[0]}"
        for row in rows:
            # a publication's own text may contain '; '
            parts = [row["citation"]] if row["citation"].startswith("published: ") else row["citation"].split("; ")
            for part in parts:
                assert part_pattern.match(part), f"{name}: citation part {part!r} names no release or publication"


def test_q01_accounts_created_after_the_trial(answers):
    rows = answers["q01_accounts_after_trial"]
    expected = KEY["accounts"]["created_after_2019_03_31"]
    assert sorted(r["vendor_account_ref"] for r in rows) == sorted(expected["account_refs"])
    assert {r["accounts_after_trial"] for r in rows} == {expected["count"]}
    assert {r["searches_after_trial_accounts"] for r in rows} == {expected["searches"]}
    assert sum(r["total_searches"] for r in rows) == expected["searches"]
    # the contract-period rule in dbt agrees with the explicit New York cut
    assert {r["created_phase"] for r in rows} == {"after_trial"}


def test_q02_accounts_reaching_100_searches(answers):
    rows = {r["vendor_account_ref"]: r for r in answers["q02_reached_100_searches"]}
    expected = {a["account_ref"]: a for a in KEY["searches"]["accounts_with_100_or_more"]}
    assert rows.keys() == expected.keys()
    for ref, exp in expected.items():
        got = rows[ref]
        assert got["holder_email"] == exp["holder_email"] and got["unit"] == exp["unit"]
        assert got["total_searches"] == exp["searches"]
        assert ts(got["created_at"]) == ts(exp["created_at"])
        assert ts(got["reached_100_at"]) == ts(exp["reached_100_at"])
        assert got["days_to_100"] == pytest.approx(exp["days_to_100"], abs=0.01)


def test_q03_share_outside_fis(answers):
    rows = answers["q03_outside_fis"]
    expected = KEY["accounts"]["outside_fis"]
    first = rows[0]
    assert first["outside_fis_accounts"] == expected["accounts"]
    assert first["outside_fis_searches"] == expected["searches"]
    assert first["share_of_accounts_outside_fis"] == pytest.approx(expected["share_of_accounts"], abs=1e-4)
    assert first["share_of_searches_outside_fis"] == pytest.approx(expected["share_of_searches"], abs=1e-4)
    by_unit = {r["unit"]: (r["accounts"], r["searches"]) for r in rows}
    assert by_unit == {unit: (v["accounts"], v["searches"]) for unit, v in KEY["accounts"]["by_unit"].items()}
    assert first["all_accounts"] == KEY["accounts"]["total"] and first["all_searches"] == KEY["searches"]["total"]


def test_q04_personal_accounts_and_plaintext_credentials(answers):
    rows = answers["q04_personal_access_and_credentials"]
    accounts = [r for r in rows if r["row_kind"] == "account"]
    emails = [r for r in rows if r["row_kind"] == "credential_email"]
    personal_email = {a["account_ref"] for a in KEY["accounts"]["personal_email_accounts"]}
    personal_device = {a["account_ref"] for a in KEY["accounts"]["personal_device_accounts"]}
    assert {r["vendor_account_ref"] for r in accounts if r["is_personal_email"]} == personal_email
    assert {r["vendor_account_ref"] for r in accounts if r["device"] == "personal"} == personal_device
    assert {r["vendor_account_ref"] for r in accounts} == personal_email | personal_device

    provisioning = KEY["emails"]["provisioning_emails"]
    assert len(emails) == provisioning["with_plaintext_password_line"]
    assert {r["rows_of_kind"] for r in emails} == {provisioning["with_plaintext_password_line"]}
    assert {r["message_id"] for r in emails} == {m["message_id"] for m in provisioning["messages"]}
    assert sum(not r["password_redacted_in_first_release"] for r in emails) == \
        provisioning["password_value_visible_in_first_production"]
    recipients = {r["recipient"] for r in emails}
    assert set(provisioning["recipients_non_nypd"]) <= recipients
    assert sum(r["vendor_account_ref"] is not None for r in emails) == provisioning["recipients_roster_accounts"]


def test_q05_keeps_warehouse_and_published_figures_side_by_side(answers):
    rows = answers["q05_reconcile_counts"]
    figures = {r["figure"]: r for r in rows}
    assert figures["searches_in_search_log"]["value"] == KEY["searches"]["total"]
    assert figures["accounts_in_roster"]["value"] == KEY["accounts"]["total"]
    assert figures["accounts_with_a_logged_search"]["value"] == \
        KEY["accounts"]["total"] - len(KEY["accounts"]["zero_search_accounts"])
    # the documented public figures (foil-facts.md §4) sit beside the warehouse's, each with a source
    published = {(r["unit"], r["value"], r["qualifier"]) for r in rows if r["evidence"] == "published"}
    assert {("searches", 5100, "more_than"), ("searches", 11000, "more_than"), ("officers", 30, "more_than"),
            ("accounts", 36, "about"), ("people", 50, "about")} <= published
    assert all(r["source"] for r in rows)
    # every usage figure stated in a vendor email, next to the log count for the same account and time:
    # raw/README.md says N equals the account's log rows before the email's Date
    mentions = [r for r in rows if r["evidence"] == "email_mention"]
    assert sorted(r["value"] for r in mentions) == sorted(m["searches_stated"] for m in KEY["emails"]["usage_mentions"])
    assert all(r["value"] == r["log_count_same_scope"] for r in mentions)


def test_q06_contact_chain(answers):
    rows = {r["step_name"]: r for r in answers["q06_contact_chain"]}
    chain = KEY["contact_chain"]
    assert rows["introduction"]["evidence"] == chain["introduction"]["message_id"]
    assert ts(rows["introduction"]["occurred_at"]) == ts(chain["introduction"]["date"])
    assert rows["first_meeting"]["evidence"] == chain["first_meeting_email"]["message_id"]
    assert ts(rows["first_account_created"]["occurred_at"]) == ts(chain["first_account_created_at"])
    assert ts(rows["first_search"]["occurred_at"]) == ts(chain["first_search_at"])
    assert rows["first_search"]["days_since_introduction"] == pytest.approx(chain["days_intro_to_first_search"], abs=0.01)
    assert {r["days_intro_to_first_search"] for r in rows.values()} == {rows["first_search"]["days_since_introduction"]}


def test_q07_referrals_and_task_force_officers(answers):
    rows = answers["q07_federal_task_forces"]
    referrals = {(r["evidence"], r["other_party_email"]): r for r in rows if r["row_kind"] == "referral"}
    expected = {(k["message_id"], k["referred_email"]): k for k in KEY["emails"]["referrals"]}
    assert referrals.keys() == expected.keys()
    for pair, exp in expected.items():
        got = referrals[pair]
        assert got["nypd_email"] == exp["referrer_email"]
        assert got["confirmed_by_provisioning"] == exp["later_provisioned"]
        assert ts(got["occurred_at"]) == ts(exp["date"])
        # every referral predates the statement emails
        assert got["days_from_statement"] < 0
    statements = {r["evidence"] for r in rows if r["row_kind"] == "statement"}
    assert statements == {m["message_id"] for m in KEY["emails"]["statement_emails"]}
    # people.is_dual_affiliated also flags a JTTF signature (FBI), so the key's HSI officers are a subset
    officers = {r["nypd_email"] for r in rows if r["row_kind"] == "task_force_account"}
    assert set(KEY["emails"]["dual_affiliation_officers"]) | {KEY["emails"]["hsi_task_force_member"]} <= officers


def test_q08_searches_after_the_statement(answers):
    rows = answers["q08_searches_after_statement"]
    expected = KEY["searches"]["on_or_after_statement_2020_01_20"]
    assert {r["searches_on_or_after_statement_all_accounts"] for r in rows} == {expected}
    assert sum(r["searches_on_or_after_statement"] for r in rows) == expected
    # 2020-01-20 00:00 New York (EST) per the key's definition
    assert {ts(r["statement_day_start"]) for r in rows} == {ts("2020-01-20T05:00:00Z")}
    assert {ts(r["log_ends_at"]) for r in rows} == {ts(KEY["searches"]["last_at"])}


def test_q09_redactions_by_code_per_release(answers):
    rows = [r for r in answers["q09_redaction_rates"] if r["grouping"] == "release"]
    for release_id, facts in KEY["releases"].items():
        got = {r["code"]: r["marks"] for r in rows if r["release_id"] == release_id}
        assert got == facts["redactions_by_code"], release_id
        assert {r["messages"] for r in rows if r["release_id"] == release_id} <= {facts["email_messages_total"]}
    by_type = [r for r in answers["q09_redaction_rates"] if r["grouping"] == "correspondent_type"]
    assert {r["correspondent_type"] for r in by_type} >= {"vendor", "internal"}
    # current versions only: the re-released messages count with their re-release marks, so the total is
    # every release's marks minus the marks of the superseded initial copies
    superseded_marks = sum(m["redactions_initial"] for m in KEY["rerelease"]["messages"])
    assert sum(r["marks"] for r in by_type) == \
        sum(facts["redactions_total"] for facts in KEY["releases"].values()) - superseded_marks


def test_q10_says_what_it_cannot_answer(answers):
    rows = answers["q10_national_ranking"]
    warehouse_rows = [r for r in rows if r["evidence"] == "warehouse"]
    assert [r["value"] for r in warehouse_rows] == [KEY["searches"]["total"]]
    assert warehouse_rows[0]["share_of_national_leak_searches"] > 0
    assert all(r["search_range_bin"] is None and r["response_category"] is None for r in rows)
    header = (ANALYSES / "q10_national_ranking.sql").read_text().split("\nwith")[0]
    assert "MISSING" in header and "[UNVERIFIED]" in header


def test_q11_rereleased_messages_with_fewer_redactions(answers):
    rows = [r for r in answers["q11_release_diffs"] if r["row_kind"] == "message_change"]
    expected = {m["message_id"]: m for m in KEY["rerelease"]["messages"]}
    # the key names what the re-release supersedes, not its id: it is the release of exactly those emails
    rerelease_id = next(r for r, facts in KEY["releases"].items()
                        if r not in KEY["rerelease"]["supersedes"] and facts["eml_messages"] == KEY["rerelease"]["count"])
    got = {r["message_id"]: r for r in rows
           if r["release_id"] == rerelease_id and r["from_release_id"] in KEY["rerelease"]["supersedes"]}
    assert len(got) == KEY["rerelease"]["count"]
    assert got.keys() == expected.keys()
    assert sum(r["fewer_redactions"] for r in got.values()) == KEY["rerelease"]["with_fewer_redactions"]
    for message_id, exp in expected.items():
        row = got[message_id]
        assert row["from_path"] == exp["file"] == row["to_path"]
        assert row["redactions_before"] == exp["redactions_initial"]
        assert row["redactions_after"] == exp["redactions_rerelease"]
        assert json.loads(row["lifted_by_code"]) == exp["lifted_by_code"]
        assert row["fewer_redactions"] is exp["fewer_redactions"]
        assert row["from_document_superseded_by"] == rerelease_id
    summary = {r["release_id"]: r for r in answers["q11_release_diffs"] if r["row_kind"] == "release_summary"}
    assert summary[rerelease_id]["reproduced_messages"] == KEY["rerelease"]["count"]
    assert summary[rerelease_id]["new_messages"] == 0
    assert sum(r["new_messages"] for r in summary.values()) == KEY["emails"]["total_distinct_messages"]
