"""What a build finds after a crash, and clears before it starts (always under the build lock).

- Files a killed publish left beside the published file (`.<name>.<pid>.tmp` and its `.wal`).
- Archive members a killed ingest extracted into the state folder's scratch folder.
- Dagster runs a dead build left "started" (a killed `foil build`, or a run worker of `dagster dev`
  killed with it): each still claims the `duckdb_build` pool slot, and every later build would wait
  for that slot forever. They are marked failed (which is what they are) and their slots freed. Every
  run that writes holds the build lock for its whole life (defs/resources.BuildLock), so while the
  caller holds it, no run of another process is alive.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .paths import Paths
from .publish import remove_temp_files

PID_TAG = "foil/pid"


def scratch_dir(paths: Paths) -> Path:
    return paths.state_dir / "scratch"


def clear_leftovers(paths: Paths) -> list[str]:
    """Remove what an interrupted build left; returns what was removed (for the console)."""
    removed = [str(p) for p in remove_temp_files(paths.warehouse)]
    scratch = scratch_dir(paths)
    if scratch.is_dir() and any(scratch.iterdir()):
        removed.append(str(scratch) + "/*")
        shutil.rmtree(scratch, ignore_errors=True)
    return removed


def release_dead_runs(instance) -> list[str]:
    """Mark runs left started by dead processes failed and free every pool slot a finished run holds.

    Call only while holding the build lock."""
    import dagster as dg

    unfinished = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
    released = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=unfinished)):
        run = record.dagster_run
        pid = run.tags.get(PID_TAG)
        if pid == str(os.getpid()):
            continue  # this build's own
        who = f"the foil build process (pid {pid})" if pid else "its run worker"
        instance.report_run_failed(run, f"{who} ended before this run finished; marked failed by the next "
                                        "build, which resumes the work")
        released.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = storage.get_concurrency_run_ids()
        if holders:
            for record in instance.get_run_records(filters=dg.RunsFilter(run_ids=list(holders))):
                if record.dagster_run.is_finished:
                    storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
    return released

