"""New releases trigger processing; the whole warehouse is re-derived on a schedule.

A release is ready when its manifest is valid and none of its files changed for a quiet period (so a
folder still being copied is not ingested half-way). Each ready release is added as a partition and
gets exactly one run (run_key = release id). A release whose files change after it was seen is reported,
never silently re-ingested: its run is requested again and the ingest refuses it with the reason.
"""
import hashlib
import json
import os
import time

import dagster as dg

from pipelines.defs.ingest.assets import releases
from pipelines.defs.jobs import build_run_config, build_warehouse_job, ingest_release_job, release_job
from pipelines.defs.resources import FoilPaths
from pipelines.lib import storage
from pipelines.lib.release_files import list_entries
from pipelines.lib.manifest import scan_releases

QUIET_SECONDS = float(os.environ.get("FOIL_SENSOR_QUIET_SECONDS", "10"))


def _fingerprint(folder) -> tuple[str, float]:
    """A cheap digest of names, kinds, sizes and mtimes (no hashing of content), and the newest mtime.

    Links and other non-regular entries count too (lstat: never followed). A file that vanishes while
    it is listed means the folder is still changing: its newest mtime is now, so the sensor waits."""
    digest, newest = hashlib.sha256(), 0.0
    for rel, path in [("release.yaml", folder / "release.yaml"), *((e.rel, e.path) for e in list_entries(folder))]:
        try:
            st = path.lstat()
        except OSError:
            return digest.hexdigest()[:16], time.time()
        digest.update(f"{rel}|{st.st_mode}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        newest = max(newest, st.st_mtime)
    return digest.hexdigest()[:16], newest


@dg.sensor(
    job=release_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Starts one run (ingest -> dbt -> gates -> publish) for each new, complete release folder.",
)
def release_sensor(context: dg.SensorEvaluationContext, foil: FoilPaths):
    paths = foil.paths()
    raw_dir = paths.raw_dir
    if paths.raw_url:  # object storage: the local copy follows the bucket (lib/storage.py)
        storage.sync_raw(paths.raw_url, raw_dir)
    if not raw_dir.is_dir():
        return dg.SkipReason(f"raw folder {raw_dir} does not exist (set FOIL_RAW_DIR)")
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions("release"))
    new, requests, notes = [], [], []
    # The same checks as `foil build` (incl. supersedes across releases); a rejected folder is only noted.
    manifests, errors = scan_releases(raw_dir)
    for err in errors:
        context.log.warning(f"rejected: {err}")
        notes.append(str(err))
    for manifest in manifests:
        folder, rid = manifest.folder, manifest.release_id
        fingerprint, newest = _fingerprint(folder)
        if time.time() - newest < QUIET_SECONDS:
            notes.append(f"{rid}: files changed in the last {QUIET_SECONDS:.0f} s, waiting until the copy settles")
            continue
        if rid not in known:
            new.append(rid)
            requests.append(dg.RunRequest(partition_key=rid, run_key=rid))
        elif seen.get(rid) not in (None, fingerprint):
            note = f"{rid}: files changed after ingestion; the run will refuse it (publish a superseding release)"
            context.log.warning(note)
            notes.append(note)
            requests.append(dg.RunRequest(partition_key=rid, run_key=f"{rid}@{fingerprint}"))
        seen[rid] = fingerprint
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[releases.build_add_request(new)] if new else [],
        cursor=json.dumps(seen, sort_keys=True),
        skip_reason=None if requests else dg.SkipReason("; ".join(notes) or "no new releases"),
    )


@dg.schedule(
    cron_schedule=os.environ.get("FOIL_REBUILD_CRON", "0 3 * * *"),
    job=build_warehouse_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Re-derives the whole warehouse from the event log in full (re-ingesting releases whose reader version changed) "
        "and publishes only when the gates pass."
    ),
)
def rebuild_schedule(context: dg.ScheduleEvaluationContext):
    releases = context.instance.get_dynamic_partitions("release")
    stamp = context.scheduled_execution_time.isoformat()
    # Queue order: re-ingest first (a no-op unless a reader changed), then the rebuild.
    for rid in releases:
        yield dg.RunRequest(run_key=f"{stamp}:{rid}", job_name=ingest_release_job.name, partition_key=rid,
                            tags={"dagster/priority": "1"})
    # In full: the builds in between are incremental (only releases whose events changed); this one
    # re-derives every model from the whole log and writes the published file afresh (compacting it), as
    # `foil build --full` does.
    yield dg.RunRequest(run_key=f"{stamp}:rebuild", run_config=build_run_config(full=True))


defs = dg.Definitions(sensors=[release_sensor], schedules=[rebuild_schedule])
