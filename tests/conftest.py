"""Shared fixtures: small release folders written on the fly, and a helper to run the real CLI."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# A suite started in the background (nohup, `make test &` in a script) starts with SIGINT ignored, and
# Dagster's in-process runs then map SIGTERM to SIGINT's disposition: every later child process, the
# interrupt tests' included, would start with SIGTERM ignored (seen in a hung child's /proc status).
# The tests run as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

FOIL = [sys.executable, "-m", "pipelines.cli"]


def write_release(raw: Path, release_id: str, released_on: str = "2021-04-05", files: dict | None = None, **extra) -> Path:
    folder = raw / release_id
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"release_id: {release_id}", "agency: NYPD", "request_id: FOIL-2020-056-00001",
             f"released_on: {released_on}", "synthetic: true"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    (folder / "release.yaml").write_text("\n".join(lines) + "\n")
    for rel, content in (files or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else textwrap.dedent(content).lstrip().encode())
    return folder


def eml(message_id: str, subject: str = "Hello", sender: str = "Ann Officer <ann@nypd.example>",
        to: str = "Vic Vendor <vic@clearview.example>", date: str = "Mon, 01 Oct 2018 10:00:00 -0400",
        body: str = "SYNTHETIC SAMPLE\nHello there.") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <{message_id}>\r\n\r\n{body}\r\n").encode()


def run_foil(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the real `foil` CLI in a subprocess (its own Dagster instance and environment)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FOIL_RAW_DIR", "FOIL_WAREHOUSE", "FOIL_STATE_DIR")}
    full_env.update(env or {})
    return subprocess.run([*FOIL, *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout)


# Two tiers: `make check` runs `pytest -m "not slow"` while you work; `make test` (and CI) runs everything.
# A test is slow when it builds releases through dbt and the gates (or kills and resumes a real ingest): it
# uses the `published_sample` fixture, it is marked e2e or faults, or it is listed here (a whole module, or
# module::test when a module mixes both). A new test that runs `foil build` belongs here or on `published_sample`.
SLOW = {
    "test_account_rules.py", "test_analyses.py", "test_build.py", "test_meetings_and_cards.py",
    "test_message_identity.py", "test_odd_values.py", "test_real_world.py", "test_incremental.py",
    "test_build_control.py::test_a_withdrawn_release_leaves_the_marts_and_comes_back_when_reinstated",
    "test_ocr.py::test_a_build_killed_during_ocr_resumes_without_reading_finished_pages_again",
    "test_cluster.py::test_no_worker_process_outlives_an_interrupted_ingest",
    "test_dbt_project.py::test_a_build_uses_its_own_build_database_and_records_row_counts",
    "test_dbt_project.py::test_quiet_mode_prints_row_counts_problems_and_the_summary",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.name
        if ("published_sample" in getattr(item, "fixturenames", ()) or module in SLOW
                or f"{module}::{item.originalname}" in SLOW
                or item.get_closest_marker("e2e") or item.get_closest_marker("faults")):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "raw"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def published_sample(tmp_path_factory) -> dict:
    """The repository's sample releases built once per test session into a temporary deployment, for
    tests that only read the published file (search, report, export, schema). Do not modify it: copy
    the `wh` folder first (shutil.copytree) when a test needs to change the deployment."""
    import shutil

    root = tmp_path_factory.mktemp("published-sample")
    shutil.copytree(REPO / "raw", root / "raw")
    warehouse = root / "wh" / "analytics.duckdb"
    proc = run_foil("build", "--raw", str(root / "raw"), "--warehouse", str(warehouse))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"root": root, "raw": root / "raw", "warehouse": warehouse, "stdout": proc.stdout, "stderr": proc.stderr}


def ingest_script(on_third_commit: str, group_files: int) -> str:
    """Python source that ingests the release folder argv[2] into the database argv[1] with workers even
    for a small release, and runs the statement `on_third_commit` right after its third group commit:
    mid-release, while workers read the next groups (the moment to interrupt or kill it)."""
    return f"""
import faulthandler, os, signal, sys
from pathlib import Path
import duckdb
from pipelines.lib import ingest
from pipelines.lib.manifest import load_manifest

faulthandler.register(signal.SIGUSR1, all_threads=True)  # a test that finds it hung asks where it is
ingest.GROUP_FILES, ingest.POOL_MIN_FILES = {group_files}, 16
commits = 0
original = ingest._Writer.commit

def commit(self):
    global commits
    original(self)
    commits += 1
    if commits == 3:
        {on_third_commit}

ingest._Writer.commit = commit
if __name__ == "__main__":
    with duckdb.connect(sys.argv[1]) as con:
        ingest.ingest_release(con, load_manifest(Path(sys.argv[2])))
"""
