"""The dbt project's unit tests (`unit_tests:` in the models' yml files), with no release built first.

A dbt unit test replaces its model's inputs with the fixture rows, but dbt still reads the inputs' columns
from the database, so every parent must exist as a relation. `dbt build --empty` creates each model with
no rows (its refs and sources read as `limit 0`) on an empty event log; then `dbt test --select
test_type:unit` runs every unit test, each on its own (one failure does not skip the models after it).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from pipelines.lib import event_log

from .conftest import REPO

DBT = Path(sys.executable).parent / "dbt"


def dbt(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # Artifacts, logs and the build database stay in tmp_path; nothing is written into dbt_project/.
    env = {**os.environ, "FOIL_BUILD_DB": str(tmp_path / "build.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(DBT), *args, "--no-use-colors", "--profiles-dir", ".", "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        cwd=REPO / "dbt_project", env=env, capture_output=True, text=True, timeout=600,
    )


def test_dbt_unit_tests_pass_on_empty_parents(tmp_path):
    with duckdb.connect(str(tmp_path / "build.duckdb")) as con:
        event_log.ensure_schema(con)
    empty = dbt(tmp_path, "build", "--empty", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
    assert empty.returncode == 0, empty.stdout[-4000:]

    proc = dbt(tmp_path, "test", "--select", "test_type:unit")
    assert proc.returncode == 0, proc.stdout[-4000:]
    expected = json.loads((tmp_path / "target" / "manifest.json").read_text())["unit_tests"]
    assert len(expected) >= 10, "the project's SQL is pinned by unit tests"
    # counted from the results, as dbt's PASS= total also counts the project's on-run-end hook
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    passed = {r["unique_id"] for r in results if r["status"] == "pass"}
    assert passed >= expected.keys(), proc.stdout[-2000:]
