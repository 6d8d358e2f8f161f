"""One build per state folder, leftovers cleared at start-up, and withdrawing a release."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.lib import publish, recovery
from pipelines.lib.lock import BuildRunning, build_lock, holder
from pipelines.lib.paths import resolve

from .conftest import eml, run_foil, write_release

HOLD = """
import sys, time
from pathlib import Path
from pipelines.lib.lock import build_lock
with build_lock(Path(sys.argv[1]), "holder"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_the_build_lock_names_its_holder_and_dies_with_it(tmp_path):
    state = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(state)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(BuildRunning, match=rf"a build is running \(pid {proc.pid}, since .*: holder\)"):
            with build_lock(state):
                pass
        assert holder(state)["pid"] == proc.pid
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with build_lock(state, "next"):  # kill -9 leaves no stale lock behind
        with build_lock(state, "nested"):  # the same process may take it again (CLI, then its assets)
            assert holder(state)["command"] == "next"


def test_leftovers_of_a_killed_publish_and_ingest_are_cleared(tmp_path):
    paths = resolve(tmp_path / "raw", tmp_path / "wh" / "analytics.duckdb")
    paths.warehouse.parent.mkdir(parents=True)
    paths.warehouse.write_bytes(b"published")
    for name in (".analytics.duckdb.123.tmp", ".analytics.duckdb.123.tmp.wal"):
        (paths.warehouse.parent / name).write_bytes(b"half")
    member = recovery.scratch_dir(paths) / "foil-zip-x" / "member.eml"
    member.parent.mkdir(parents=True)
    member.write_bytes(b"x")
    removed = recovery.clear_leftovers(paths)
    assert len(removed) == 3 and not publish.temp_files(paths.warehouse)
    assert not member.exists()
    assert paths.warehouse.read_bytes() == b"published"


def test_publish_removes_its_temp_files_when_it_fails(tmp_path):
    warehouse = tmp_path / "wh" / "analytics.duckdb"
    with pytest.raises(duckdb.Error):
        publish.publish(tmp_path / "missing.duckdb", warehouse, tmp_path / "prev.duckdb", {})
    assert not publish.temp_files(warehouse) and not warehouse.exists()


def releases(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute("select release_id from releases order by 1").fetchall()]


def test_a_withdrawn_release_leaves_the_marts_and_comes_back_when_reinstated(raw, tmp_path):
    write_release(raw, "rel-a", files={"a.eml": eml("a@nypd.example", subject="Kept")})
    write_release(raw, "rel-b", released_on="2021-05-01", files={"b.eml": eml("b@nypd.example", subject="Withdrawn")})
    wh = tmp_path / "wh" / "analytics.duckdb"
    args = ("--raw", str(raw), "--warehouse", str(wh))
    assert run_foil("build", *args).returncode == 0
    assert releases(wh) == ["rel-a", "rel-b"]

    out = run_foil("withdraw", "rel-b", "--reason", "sent in error by the agency", *args)
    assert out.returncode == 0, out.stderr[-2000:]
    assert releases(wh) == ["rel-a"]
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select count(*) from messages where subject = 'Withdrawn'").fetchone() == (0,)
        assert con.execute("select count(*) from events where release_id = 'rel-b'").fetchone() == (0,)
    status = run_foil("status", "--warehouse", str(wh))
    assert "withdrawn rel-b" in status.stdout and "sent in error by the agency" in status.stdout
    report = json.loads(resolve(warehouse=wh).last_build_report.read_text())
    assert [w["release_id"] for w in report["withdrawn"]] == ["rel-b"]

    again = run_foil("withdraw", "rel-b", "--reason", "twice", "--no-build", *args)
    assert again.returncode == 2 and "already withdrawn" in again.stderr
    unknown = run_foil("withdraw", "rel-z", "--reason", "x", "--no-build", *args)
    assert unknown.returncode == 2 and "not in the event log" in unknown.stderr

    back = run_foil("withdraw", "rel-b", "--undo", "--reason", "agency confirmed it", *args)
    assert back.returncode == 0, back.stderr[-2000:]
    assert releases(wh) == ["rel-a", "rel-b"]


def test_a_second_build_on_the_same_state_folder_exits_3_and_publishes_nothing(raw, tmp_path):
    write_release(raw, "rel-a", files={"a.eml": eml("a@nypd.example")})
    wh = tmp_path / "wh" / "analytics.duckdb"
    state = resolve(warehouse=wh).state_dir
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(state)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        started = time.monotonic()
        out = run_foil("build", "--raw", str(raw), "--warehouse", str(wh))
        assert out.returncode == 3 and f"a build is running (pid {proc.pid}" in out.stderr
        assert time.monotonic() - started < 30 and not wh.exists()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_runs_left_started_by_dead_processes_are_marked_failed(tmp_path):
    """A killed build (tagged with its pid) or a killed UI run worker (untagged) leaves its run 'started'
    holding the pool slot; a build that holds the lock marks them failed. Its own runs are left alone."""
    import dagster as dg

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        runs = {name: dg.DagsterRun(job_name="ingest_release", run_id=f"{name}-run", status=dg.DagsterRunStatus.STARTED,
                                    tags=tags)
                for name, tags in [("cli", {recovery.PID_TAG: "999999"}), ("ui", {}),
                                   ("own", {recovery.PID_TAG: str(os.getpid())})]}
        for run in runs.values():
            instance.add_run(run)
        assert sorted(recovery.release_dead_runs(instance)) == ["cli-run", "ui-run"]
        status = {name: instance.get_run_by_id(run.run_id).status for name, run in runs.items()}
        assert status == {"cli": dg.DagsterRunStatus.FAILURE, "ui": dg.DagsterRunStatus.FAILURE,
                          "own": dg.DagsterRunStatus.STARTED}
