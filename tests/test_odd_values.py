"""Gates guard the pipeline; odd input is data (issue #14).

A gate blocks publishing only for broken invariants (keys, references, enums, citations, counts). An
implausible or unparseable value — a search logged "yesterday", mail from the 1990s, a date in 2091 — is
kept, flagged on its row (`date_quality`, `defects`, the text as written) and published.

Two real builds through the CLI, each shared by the assertions about it.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.gates import load_suite, suite_names

from .conftest import REPO, eml, run_foil, write_release

DATE_QUALITY = {"ok", "missing", "unparseable", "before_1971", "after_release"}
# marts that carry an event date, and that date's column
DATED_MARTS = {"searches": "searched_at", "messages": "sent_at", "contacts": "occurred_at", "accounts": "created_at"}


def sql(path: Path, query: str):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(query).fetchall()


def build(raw: Path, warehouse: Path):
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(warehouse))
    return proc, proc.stdout[-3000:] + proc.stderr[-3000:]


# --------------------------------------------------------------------------------------------------
# The suites themselves (no build)
# --------------------------------------------------------------------------------------------------

def test_no_suite_gates_on_date_plausibility():
    """No suite bounds a date, nor requires a parsed-from-text date to be present."""
    for name in suite_names():
        for exp in load_suite(name)["expectations"]:
            kwargs = exp["kwargs"]
            assert not (exp["type"] == "expect_column_values_to_be_between" and "max_value" in kwargs
                        and kwargs.get("column") in DATED_MARTS.values()), (name, exp)
            assert not (exp["type"] == "expect_column_values_to_not_be_null"
                        and kwargs.get("column") in DATED_MARTS.values()), (name, exp)


@pytest.mark.parametrize("mart", sorted(DATED_MARTS))
def test_date_quality_is_gated_as_an_enum(mart):
    """The flag itself is an invariant: always set, always one of the documented values."""
    expectations = load_suite(mart)["expectations"]
    kinds = {(e["type"], e["kwargs"].get("column")) for e in expectations}
    assert ("expect_column_values_to_not_be_null", "date_quality") in kinds
    (in_set,) = [e for e in expectations
                 if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "date_quality"]
    assert set(in_set["kwargs"]["value_set"]) == DATE_QUALITY


# --------------------------------------------------------------------------------------------------
# (a) the sample with one search-log row searched_at = "yesterday"
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def yesterday(tmp_path_factory):
    root = tmp_path_factory.mktemp("yesterday")
    raw = root / "raw"
    shutil.copytree(REPO / "raw", raw)
    (log,) = [p for p in sorted(raw.glob("*/records/*.csv")) if "searched_at" in p.read_text().split("\n", 1)[0]]
    rows = list(csv.reader(io.StringIO(log.read_text(), newline="")))
    column = rows[0].index("searched_at")
    rows[5][column] = "yesterday"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    log.write_text(out.getvalue())
    warehouse = root / "wh" / "analytics.duckdb"
    proc, tail = build(raw, warehouse)
    return {"proc": proc, "tail": tail, "warehouse": warehouse, "release_id": log.parts[-3],
            "search_ref": rows[5][rows[0].index("search_ref")], "logged": len(rows) - 1}


def test_an_unparseable_search_time_publishes(yesterday):
    assert yesterday["proc"].returncode == 0, yesterday["tail"]
    assert "GATE FAILED" not in yesterday["proc"].stderr
    status = json.loads(run_foil("status", "--warehouse", str(yesterday["warehouse"]), "--json").stdout)
    assert status["last_build"]["published"] is True and all(c["passed"] for c in status["last_build"]["checks"])


def test_the_row_is_kept_flagged_with_its_text(yesterday):
    rows = sql(yesterday["warehouse"], f"""
        select searched_at, date_quality, searched_at_text, defects, release_id, citation, account_id
        from searches where search_ref = '{yesterday["search_ref"]}'""")
    (row,) = rows
    searched_at, quality, text, defects, release_id, citation, account_id = row
    assert searched_at is None and quality == "unparseable" and text == "yesterday"
    assert defects == ["searched_at:unparseable"]
    assert release_id == yesterday["release_id"] and citation.startswith(release_id + " / ")
    assert account_id is not None


def test_nothing_else_is_flagged_and_every_logged_search_is_counted(yesterday):
    wh = yesterday["warehouse"]
    for mart in DATED_MARTS:
        assert sql(wh, f"select count(*) from {mart} where date_quality <> 'ok'")[0][0] == int(mart == "searches"), mart
    assert sql(wh, "select count(*) from searches where source_kind = 'search_log'")[0][0] == yesterday["logged"]
    # the account's totals count it; its first/last search skip the time that cannot be placed and say so
    ((total, defects, first),) = sql(wh, f"""
        select accounts.total_searches, accounts.defects, accounts.first_search_at
        from accounts inner join searches using (account_id)
        where searches.search_ref = '{yesterday["search_ref"]}'""")
    assert defects == ["searches_with_odd_dates:1"] and first is not None
    assert total == sql(wh, f"""select count(*) from searches where source_kind = 'search_log' and account_id =
        (select account_id from searches where search_ref = '{yesterday["search_ref"]}')""")[0][0]


def test_analyses_run_on_a_null_search_time(yesterday):
    """Every analyst query still runs and returns rows with the unparseable time in the warehouse."""
    for path in sorted((REPO / "dbt_project" / "analyses").glob("q*.sql")):
        proc = run_foil("query", "--warehouse", str(yesterday["warehouse"]), "--format", "json", "--file", str(path))
        assert proc.returncode == 0, (path.name, proc.stderr[-2000:])
        assert json.loads(proc.stdout), path.name


# --------------------------------------------------------------------------------------------------
# (b) a production of 1990s mail, with a message from 2091 and one from 1969
# --------------------------------------------------------------------------------------------------

NINETIES = {
    "m1994@nypd.example": "Tue, 15 Mar 1994 09:30:00 -0500",
    "m1996@nypd.example": "Fri, 02 Aug 1996 16:05:00 -0400",
    "m1998@nypd.example": "Mon, 30 Nov 1998 11:00:00 -0500",
}
ODD = {
    "m2091@nypd.example": ("Wed, 01 Aug 2091 10:00:00 +0000", "after_release"),
    "m1969@nypd.example": ("Mon, 01 Dec 1969 10:00:00 +0000", "before_1971"),
}


@pytest.fixture(scope="module")
def nineties(tmp_path_factory):
    root = tmp_path_factory.mktemp("nineties")
    raw = root / "raw"
    files = {f"emails/{mid.split('@')[0]}.eml": eml(mid, subject=f"Memo {mid[:5]}", date=date)
             for mid, date in NINETIES.items()}
    files |= {f"emails/{mid.split('@')[0]}.eml": eml(mid, subject=f"Memo {mid[:5]}", date=date)
              for mid, (date, _) in ODD.items()}
    write_release(raw, "agency-mail-1999", released_on="1999-06-01", files=files)
    warehouse = root / "wh" / "analytics.duckdb"
    proc, tail = build(raw, warehouse)
    return {"proc": proc, "tail": tail, "warehouse": warehouse}


def test_a_1990s_production_publishes_with_its_dates_intact(nineties):
    assert nineties["proc"].returncode == 0, nineties["tail"]
    got = dict(sql(nineties["warehouse"], """
        select message_id, strftime(timezone('UTC', sent_at), '%Y-%m-%d %H:%M') || '|' || date_quality
        from messages"""))
    assert got["m1994@nypd.example"] == "1994-03-15 14:30|ok"
    assert got["m1996@nypd.example"] == "1996-08-02 20:05|ok"
    assert got["m1998@nypd.example"] == "1998-11-30 16:00|ok"
    contacts = dict(sql(nineties["warehouse"], "select message_id, date_quality from contacts"))
    assert all(contacts[mid] == "ok" for mid in NINETIES)


@pytest.mark.parametrize("message_id", sorted(ODD))
def test_an_implausible_message_date_publishes_flagged(nineties, message_id):
    assert nineties["proc"].returncode == 0, nineties["tail"]
    date, quality = ODD[message_id]
    ((year, got, text, defects),) = sql(nineties["warehouse"], f"""
        select year(timezone('UTC', sent_at)), date_quality, sent_at_text, defects
        from messages where message_id = '{message_id}'""")
    assert year == int(date.split()[3]) and got == quality and text == date
    assert f"sent_at:{quality}" in defects
    assert sql(nineties["warehouse"], f"select distinct date_quality from contacts where message_id = '{message_id}'") == [(quality,)]
