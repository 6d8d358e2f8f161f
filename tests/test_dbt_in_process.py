"""dbt run on a thread of the build's process (pipelines/defs/transform/in_process.py), against real files.

What the subprocess gave for free has to hold here too: failures reach dagster-dbt as error lines and
exit codes, the environment is restored, and the build database is closed when dbt finishes.
"""
from __future__ import annotations

import os

import duckdb
import orjson
import pyarrow as pa

from pipelines.defs.transform.in_process import DbtThread
from pipelines.defs.transform.project import dbt_project, parsed_manifest
from pipelines.lib import duck, event_log


def run_dbt(tmp_path, *args: str, env: dict | None = None, run_results=None) -> tuple[DbtThread, list[dict]]:
    project = dbt_project()
    target = tmp_path / "target"
    dbt = DbtThread([*args, "--project-dir", str(project.project_dir), "--profiles-dir", str(project.profiles_dir),
                     "--target-path", str(target), "--log-path", str(target)],
                    parsed_manifest(), {"FOIL_BUILD_DB": str(tmp_path / "build.duckdb"), **(env or {})}, run_results)
    with dbt.stdout:
        events = [orjson.loads(line) for line in dbt.stdout]
    return dbt, events


def test_a_node_that_fails_reports_an_error_and_releases_the_database(tmp_path, monkeypatch):
    monkeypatch.delenv("FOIL_BUILD_DB", raising=False)
    # no raw.events table in a new build database: the first staging view cannot be created
    dbt, events = run_dbt(tmp_path, "--log-level", "none", "run", "--select", "stg_events__events")
    assert dbt.wait() == 1
    errors = [e["info"]["msg"] for e in events if e["info"]["level"] == "error"]
    assert any("stg_events__events" in msg for msg in errors), errors
    assert not any(e["info"]["level"] == "debug" for e in events), "debug events are dropped"
    assert "FOIL_BUILD_DB" not in os.environ, "the environment dbt ran with is restored"
    # dbt's DuckDB is closed: the file opens with another configuration (DuckDB refuses that while open)
    with duckdb.connect(str(tmp_path / "build.duckdb"), config={"threads": 1}) as con:
        assert con.execute("select 1").fetchone() == (1,)


def test_a_node_that_succeeds_streams_its_events(tmp_path):
    with duckdb.connect(str(tmp_path / "build.duckdb")) as con:
        con.execute("create schema raw; create table raw.events as select 1 as x where false")
    results = tmp_path / "results" / "run_results.json"
    results.parent.mkdir()
    dbt, events = run_dbt(tmp_path, "--log-level", "none", "seed", "--select", "signal_rules", "--no-write-json",
                          run_results=results)
    assert dbt.wait() == 0
    names = [e["info"]["name"] for e in events]
    assert "LogSeedResult" in names  # the result event dagster-dbt turns into an asset materialization
    # without dbt's own artifacts (--no-write-json), the run's results are still written where asked
    written = orjson.loads(results.read_bytes())
    # (the project's on-run-end hook, macros/comment_sources.sql, is a result too)
    assert [r["unique_id"] for r in written["results"] if r["unique_id"].startswith("seed.")] == ["seed.foil.signal_rules"]
    assert written["results"][0]["status"] == "success"
    assert not (tmp_path / "target" / "manifest.json").exists()
    with duckdb.connect(str(tmp_path / "build.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from seeds.signal_rules").fetchone()[0] > 0


def test_dbt_queries_run_under_the_memory_cap(tmp_path, monkeypatch):
    monkeypatch.delenv("FOIL_DUCKDB_MEMORY", raising=False)
    dbt, events = run_dbt(tmp_path, "--log-level", "none", "show", "--inline",
                          "select current_setting('memory_limit') as cap, current_setting('preserve_insertion_order') as ordered",
                          env={"FOIL_DUCKDB_MEMORY": "300MB"})
    assert dbt.wait() == 0
    shown = " ".join(e["info"]["msg"] for e in events)
    assert "286.1 MiB" in shown and "False" in shown, shown  # DuckDB reports 300MB as 286.1 MiB
    assert "FOIL_DUCKDB_MEMORY" not in os.environ


def test_dbt_that_cannot_start_reports_why(tmp_path):
    dbt, events = run_dbt(tmp_path, "build", "--no-such-flag")
    assert dbt.wait() == 2
    assert any(e["info"]["level"] == "error" and "no-such-flag" in e["info"]["msg"] for e in events), events


def test_the_saved_parse_is_the_whole_project():
    """The saved Manifest is what `dbt parse` wrote to manifest.json, every kind of node included."""
    import json

    saved, written = parsed_manifest(), json.loads(dbt_project().manifest_path.read_text())
    for kind in ("nodes", "sources", "macros", "unit_tests", "docs"):
        assert set(getattr(saved, kind)) == set(written[kind]), kind
    assert saved.nodes["model.foil.messages"].depends_on.nodes == written["nodes"]["model.foil.messages"]["depends_on"]["nodes"]


def test_a_repeated_key_fails_its_primary_key_check(tmp_path):
    """primary_key (tests/generic/primary_key.sql) is unique + not_null in one node; here on the event log."""
    with duck.connect(tmp_path / "build.duckdb") as con:
        event_log.ensure_schema(con)
        # two segments: one write keeps each id once, so the repeat comes from a second segment
        for ids in (["e1", "e2"], ["e1"]):
            batch = pa.concat_tables([event_log.single("file_observed", {})] * len(ids))
            tagged = event_log.tag(batch, release_id="r1", source_path="a.eml", source_sha256=None, parser="eml",
                                   parser_version="1")
            tagged = tagged.set_column(tagged.schema.get_field_index("event_id"), "event_id", pa.array(ids))
            event_log.write(con, [(tagged, False)], release_id="r1", recorded_at="2021-01-01")
    dbt, events = run_dbt(tmp_path, "--log-level", "none", "test", "--select", "source:raw,test_name:primary_key")
    assert dbt.wait() == 1
    results = [e for e in events if e["info"]["name"] == "LogTestResult"]
    assert [(r["data"]["name"], r["data"]["status"], r["data"]["num_failures"]) for r in results] == \
        [("source_primary_key_raw_events_event_id", "fail", 1)]


def test_the_saved_parse_resolves_refs_and_sources():
    """Manifest's own pickling shifts its fields (it leaves one out); the saved parse must not."""
    saved = parsed_manifest()
    assert isinstance(saved.fixtures, dict) and saved._ref_lookup is None and saved._source_lookup is None
    assert saved.ref_lookup.get_unique_id("messages", None, None) == "model.foil.messages"
    assert saved.source_lookup.get_unique_id("raw.events", None) == "source.foil.raw.events"
