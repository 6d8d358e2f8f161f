"""Where the last `foil build` of a warehouse spent its time, from its own records.

Reads the warehouse's Dagster instance (run and step start/end events) and dbt's run_results.json, so a
benchmark can report its phases without instrumenting the build. Usage:
    .venv/bin/python bench/phases.py warehouse/analytics.duckdb [--started-at UNIX_TIME]
"""
from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path
from unittest import mock

import dagster as dg
from dagster import DagsterEventType

from pipelines.lib.paths import resolve

STEP_EVENTS = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}


def _step_spans(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    spans: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id, of_type=STEP_EVENTS):
        spans.setdefault(entry.step_key, []).append(entry.timestamp)
    return {key: (min(ts), max(ts)) for key, ts in spans.items()}


def build_phases(warehouse: Path, started_at: float | None = None) -> dict:
    """Seconds per phase of the warehouse's last ingest + build runs (rounded to 0.1 s)."""
    paths = resolve(warehouse=warehouse)
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(paths.dagster_home)}), dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=2)  # newest first: the build, then the ingest before it
        steps = {k: v for run in reversed(runs) for k, v in _step_spans(instance, run.run_id).items()}

    def took(*keys: str) -> float:
        return sum(end - start for key, (start, end) in steps.items() if key in keys)

    first = min(start for start, _ in steps.values())
    last = max(end for _, end in steps.values())
    phases = {
        "start_up": first - started_at if started_at else None,
        "ingest": took("raw__events"),
        "dbt_step": took("warehouse_models"),
        "gx_gates": took(*(key for key in steps if "_gx_" in key)),
        "publish": took("published_warehouse"),
        "first_to_last_step": last - first,
    }
    results = paths.state_dir / "dbt_target" / "run_results.json"
    if results.exists():
        run = json.loads(results.read_text())
        by_kind: dict[str, float] = defaultdict(float)
        for node in run["results"]:
            by_kind[node["unique_id"].split(".")[0]] += node["execution_time"]
        phases["dbt_nodes"] = run["elapsed_time"]
        phases.update({f"dbt_{kind}s": seconds for kind, seconds in by_kind.items()})
        phases["dbt_start_up"] = phases["dbt_step"] - run["elapsed_time"]
    return {k: round(v, 1) for k, v in phases.items() if v is not None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("--started-at", type=float, default=None, help="when the build process started (Unix time)")
    args = ap.parse_args()
    print(json.dumps(build_phases(args.warehouse, args.started_at), indent=2))


if __name__ == "__main__":
    main()
