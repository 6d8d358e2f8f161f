"""Jobs over the one asset graph; the CLI and the UI both run these.

In-process execution: DuckDB allows one writer per file, and per-step subprocesses would re-import the
code location (dbt and GX are expensive to import) for nothing.
"""
from __future__ import annotations

import dagster as dg

from pipelines.defs.ingest.assets import UNCHANGED_CHECK, release_events
from pipelines.defs.quality.checks import GX_CHECKS

ingest_release_job = dg.define_asset_job(
    "ingest_release",
    # The release_unchanged check, but not the event log's dbt source tests: those run inside the
    # rebuild, not once per release.
    selection=dg.AssetSelection.assets(release_events).without_checks()
    | dg.AssetSelection.checks(UNCHANGED_CHECK),
    executor_def=dg.in_process_executor,
    description="Ingest one release (a partition) into the event log.",
)

build_warehouse_job = dg.define_asset_job(
    "build_warehouse",
    # The dbt tests on the event log (a source) run inside `dbt build`, so their checks belong here.
    selection=(dg.AssetSelection.all() - dg.AssetSelection.assets(release_events))
    | (dg.AssetSelection.checks_for_assets(release_events) - dg.AssetSelection.checks(UNCHANGED_CHECK)),
    executor_def=dg.in_process_executor,
    description="Rebuild every projection from the event log, run the gates, publish if they pass.",
)


def build_run_config(full: bool, as_of_release: str = "") -> dict:
    """Run config of build_warehouse. In full (`foil build --full`, --as-of, the daily schedule) every model
    is derived again, every gate checks every row and the published file is written afresh; otherwise
    each does only what the new events change."""
    config = {"as_of_release": as_of_release}
    ops = {"warehouse_models": {"config": {**config, "full_refresh": full}},
           "published_warehouse": {"config": {**config, "full": full}}}
    return {"ops": ops | {check.node_def.name: {"config": {"full": full}} for check in GX_CHECKS}}


release_job = dg.define_asset_job(
    "process_release",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Ingest one release, then rebuild, gate and publish the warehouse.",
)

defs = dg.Definitions(jobs=[ingest_release_job, build_warehouse_job, release_job])
