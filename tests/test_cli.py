"""The CLI as an analyst meets it: query output formats, export, status, build output, rollback.

Read-only cases use the session's sample build (conftest `published_sample`); anything that builds,
publishes or rolls back works on a copy of its `wh` folder."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.paths import resolve

from .conftest import run_foil


def sql(path: Path, query: str):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(query).fetchall()


@pytest.fixture(scope="module")
def sample(published_sample):
    return published_sample


def copy_wh(sample, dest: Path) -> Path:
    shutil.copytree(sample["warehouse"].parent, dest / "wh")
    return dest / "wh" / sample["warehouse"].name


# --- foil query -------------------------------------------------------------------------------------

def test_query_csv_writes_lists_and_structs_as_json(sample):
    wh = sample["warehouse"]
    proc = run_foil("query", "--warehouse", str(wh), "--format", "csv",
                    "select message_id, to_emails, {'n': 1, 'tags': ['a', 'b']} as s from messages order by message_id")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    expected = sql(wh, "select message_id, to_emails from messages order by message_id")
    assert [(r["message_id"], json.loads(r["to_emails"])) for r in rows] == [(m, list(t)) for m, t in expected]
    assert json.loads(rows[0]["s"]) == {"n": 1, "tags": ["a", "b"]}


@pytest.mark.parametrize("content, message", [(None, "cannot read --file"), (b"\xff\xfe\x00select", "is not UTF-8 text")])
def test_query_file_problems_are_one_line_errors(sample, tmp_path, content, message):
    path = tmp_path / "q.sql"
    if content is not None:
        path.write_bytes(content)
    proc = run_foil("query", "--warehouse", str(sample["warehouse"]), "--file", str(path))
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_table_output_shows_every_column_and_the_whole_citation(sample):
    wh = sample["warehouse"]
    columns = [r[0] for r in sql(wh, "select column_name from (describe searches)")]
    citation = sql(wh, "select citation from searches order by length(citation) desc limit 1")[0][0]
    proc = run_foil("query", "--warehouse", str(wh), "select * from searches order by length(citation) desc limit 2",
                    env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert all(re.search(rf"^{c}\s+\|", proc.stdout, re.M) for c in columns), proc.stdout  # one line per column
    assert citation.replace(" ", "") in proc.stdout.replace(" ", "").replace("\n", "").replace("|", "")
    assert f"(2 rows, {len(columns)} columns)" in proc.stdout
    # narrow results stay a table
    proc = run_foil("query", "--warehouse", str(wh), "select release_id, count(*) as n from searches group by 1")
    assert re.search(r"^release_id\s+\| n", proc.stdout, re.M), proc.stdout


# --- foil build output -------------------------------------------------------------------------------

def test_build_without_verbose_shows_progress_not_the_dbt_log(sample):
    out = sample["stdout"]
    assert "rows in" in out and re.search(r"^Done\. PASS=\d+", out, re.M)
    assert " START " not in out and "Running with dbt=" not in out, out
    assert len(out.splitlines()) < 120


def test_build_summary_counts_rows_per_table_and_keeps_search_kinds_apart(sample):
    wh, out = sample["warehouse"], sample["stdout"]
    searches = sql(wh, "select count(*) from searches")[0][0]
    assert f"searches {searches:,}" in out
    line = next(x for x in out.splitlines() if "searches by source_kind:" in x)
    for kind, rows, total in sql(wh, "select source_kind, count(*), sum(search_count) from searches group by all"):
        assert f"{kind} {rows:,} rows ({total:,} searches counted)" in line


def test_build_summary_names_a_warehouse_other_than_the_default_in_its_query_hint(sample):
    # the build was run with --warehouse (not the default): a bare `foil query` would open another file
    hint = next(x for x in sample["stdout"].splitlines() if "query it:" in x)
    assert f"foil query --warehouse {sample['warehouse']} " in hint


# --- gates in the published file and foil status ------------------------------------------------------

def test_the_published_file_records_the_gates_of_its_run(sample):
    wh = sample["warehouse"]
    checks = json.loads(sql(wh, "select checks from build_info")[0][0])
    passed = re.search(r"gates: (\d+)/(\d+) passed", sample["stdout"])
    assert checks and len(checks) == int(passed.group(2)) and all(c["passed"] for c in checks)
    assert {c["check"] for c in checks} >= {"gx_accounts", "gx_searches"}


def test_status_shows_the_published_gates_and_the_cli_report_only_when_newer(sample, tmp_path):
    wh = copy_wh(sample, tmp_path)
    report_path = resolve(warehouse=wh).last_build_report
    report = json.loads(report_path.read_text())
    run_id, published_at = sql(wh, "select run_id, published_at::varchar from build_info")[0]
    gates = len(json.loads(sql(wh, "select checks from build_info")[0][0]))
    # a CLI build older than the publish (the UI's sensor published since): its results are not shown
    older = {**report, "run_id": "cli-run", "finished_at": "2000-01-01T00:00:00Z", "published": False,
             "checks": [{"asset": "marts/accounts", "check": "gx_accounts", "passed": False, "description": "x"}]}
    report_path.write_text(json.dumps(older))
    out = run_foil("status", "--warehouse", str(wh)).stdout
    assert f"gates of the published build (run {run_id}): {gates}/{gates} passed" in out
    assert "is older than this publish: not shown" in out and "failed: marts/accounts:gx_accounts" not in out
    # a later CLI build that failed a gate is shown, as newer than the published file
    report_path.write_text(json.dumps({**older, "finished_at": "2999-01-01T00:00:00Z"}))
    proc = run_foil("status", "--warehouse", str(wh))
    assert "last `foil build` (newer than the published file)" in proc.stdout and "NOT published (gate failed)" in proc.stdout
    assert "failed: marts/accounts:gx_accounts" in proc.stdout
    assert json.loads(run_foil("status", "--warehouse", str(wh), "--json").stdout)["last_build_is"] == "newer"


def test_status_lists_item_level_quarantine_reasons(sample):
    wh = sample["warehouse"]
    items = sql(wh, "select source_path, reason from quarantine where kind = 'item'")
    assert items, "the sample quarantines at least one item (a bad JSONL line)"
    out = run_foil("status", "--warehouse", str(wh)).stdout
    for path, reason in items:
        assert re.search(rf"quarantined item {re.escape(path)} \((row|page|byte|folder|item) [^)]*\): {re.escape(reason)}", out), out


# --- foil export -------------------------------------------------------------------------------------

def test_export_writes_parquet_csv_and_json_with_citations(sample, tmp_path):
    wh = sample["warehouse"]
    expected = sql(wh, "select message_id, to_emails, citation from messages order by message_id")
    for fmt in ("parquet", "csv", "json"):
        out = tmp_path / f"messages.{fmt}"
        proc = run_foil("export", "messages", "--out", str(out), "--warehouse", str(wh))
        assert proc.returncode == 0, proc.stderr
        assert f"exported {len(expected):,} rows" in proc.stdout and "(with citation)" in proc.stdout
        reader = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json"}[fmt]
        with duckdb.connect() as con:
            got = con.execute(f"select message_id, to_emails, citation from {reader}('{out}') order by message_id").fetchall()
        if fmt == "csv":  # lists are JSON text in CSV
            got = [(m, json.loads(t), c) for m, t, c in got]
        assert [tuple(r) for r in got] == [(m, list(t), c) for m, t, c in expected], fmt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messages.csv", "messages.json", "messages.parquet"]  # no temp files


def test_export_a_query_and_refuse_what_it_should(sample, tmp_path):
    wh = sample["warehouse"]
    out = tmp_path / "s.csv"
    proc = run_foil("export", "--query", "select source_kind, count(*) as n from searches group by 1",
                    "--out", str(out), "--warehouse", str(wh))
    assert proc.returncode == 0 and "WITHOUT citation" in proc.stdout and "add the `citation` column" in proc.stderr
    before = out.read_bytes()
    again = run_foil("export", "searches", "--out", str(out), "--warehouse", str(wh))
    assert again.returncode == 2 and "--force" in again.stderr and out.read_bytes() == before
    forced = run_foil("export", "searches", "--out", str(out), "--warehouse", str(wh), "--force")
    assert forced.returncode == 0 and out.read_bytes() != before
    for args, code, message in [
        (["no_such_table", "--out", str(tmp_path / "x.csv")], 2, "no table 'no_such_table'"),
        (["--query", f"copy searches to '{tmp_path / 'y.csv'}'", "--out", str(tmp_path / "z.csv")], 1, "COPY"),
        (["searches", "--out", str(tmp_path / "x.txt")], 2, "--format"),
        (["searches", "--out", str(tmp_path / "missing" / "x.csv")], 2, "does not exist"),
    ]:
        proc = run_foil("export", *args, "--warehouse", str(wh))
        assert proc.returncode == code and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "y.csv").exists() and not (tmp_path / "z.csv").exists()


# --- foil rollback -----------------------------------------------------------------------------------

def test_rollback_swaps_the_published_file_with_the_previous_one_and_says_so(sample, tmp_path):
    wh = copy_wh(sample, tmp_path)
    first_run = sql(wh, "select run_id from build_info")[0][0]
    refused = run_foil("rollback", "--warehouse", str(wh))
    assert refused.returncode == 2 and "nothing to roll back to" in refused.stderr
    build = run_foil("build", "--raw", str(sample["raw"]), "--warehouse", str(wh))
    assert build.returncode == 0, build.stderr[-3000:]
    second_run = sql(wh, "select run_id from build_info")[0][0]
    back = run_foil("rollback", "--warehouse", str(wh))
    assert back.returncode == 0, back.stderr
    assert sql(wh, "select run_id from build_info")[0][0] == first_run
    assert f"run {first_run}" in back.stdout.split("now published:")[1].splitlines()[0]
    assert f"run {second_run}" in back.stdout.split("rolled back from:")[1].splitlines()[0]
    assert "NEWER" not in back.stdout
    again = run_foil("rollback", "--warehouse", str(wh))
    assert again.returncode == 0 and sql(wh, "select run_id from build_info")[0][0] == second_run
    assert "undid an earlier rollback" in again.stdout
    assert not list(wh.parent.glob(".*.tmp")) and not list(resolve(warehouse=wh).state_dir.glob("*.tmp"))
