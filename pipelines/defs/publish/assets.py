"""The published analyst file: written only after every blocking check (dbt tests, GX suites) passed."""

import dagster as dg

from pipelines.defs.ingest.assets import EVENTS_KEY
from pipelines.defs.resources import BuildLock, FoilPaths
from pipelines.defs.transform.assets import warehouse_models
from pipelines.lib.publish import publish

MART_KEYS = sorted((k for k in warehouse_models.keys if k.path[0] == "marts"), key=lambda k: k.to_user_string())
PUBLISHED_KEY = dg.AssetKey("published_warehouse")


class PublishConfig(dg.Config):
    as_of_release: str = ""  # recorded in build_info when the marts were built as of a release
    # after a full rebuild the file is written afresh; otherwise a copy of the published one is updated
    full: bool = False


def gate_results(instance: dg.DagsterInstance, run_id: str) -> list[dict]:
    """The asset checks (dbt tests, GX suites) this run evaluated, as build_info.checks records them: a
    blocking check has passed before publish runs, whether the CLI or the UI's sensor started the run."""
    records = instance.get_records_for_run(run_id=run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
                                           limit=100_000).records
    checks = []
    for record in records:
        ev = record.event_log_entry.dagster_event.event_specific_data
        suite = ev.metadata.get("suite_sha256")  # a GX gate's suite (pipelines/defs/quality/checks.py)
        checks.append({"asset": ev.asset_key.to_user_string(), "check": ev.check_name, "passed": ev.passed,
                       "description": (ev.description or "")[:2000],
                       **({"suite_sha256": suite.value} if suite is not None else {})})
    return checks


@dg.asset(
    key=PUBLISHED_KEY,
    deps=[*MART_KEYS, EVENTS_KEY],
    group_name="publish",
    kinds={"duckdb"},
    owners=["team:warehouse"],
    description=(
        "The analyst-facing DuckDB file (FOIL_WAREHOUSE): marts plus the event log, replaced atomically. "
        "Open it read-only; reconnect to see a new version."
    ),
)
def published_warehouse(context: dg.AssetExecutionContext, foil: FoilPaths, build_lock: BuildLock,
                        config: PublishConfig) -> dg.MaterializeResult:
    paths = foil.paths()
    checks = gate_results(context.instance, context.run_id)
    info = publish(paths.build_db, paths.warehouse, paths.previous,
                   {"run_id": context.run_id, "as_of_release": config.as_of_release, "checks": checks},
                   full=config.full)
    updated = sorted(t for t, how in info["written"].items() if how.startswith("updated"))
    context.log.info(f"published {paths.warehouse} with releases {', '.join(info['releases'])}; "
                     + (f"updated in a copy of the last file: {', '.join(updated)}" if updated else "written afresh"))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.warehouse)),
            "releases": dg.MetadataValue.json(info["releases"]),
            "row_counts": dg.MetadataValue.json(info["row_counts"]),
            "sha256": info["sha256"],
            "as_of_release": config.as_of_release or "(all)",
            "checks_passed": f"{sum(c['passed'] for c in checks)}/{len(checks)}",
            "tables_updated": dg.MetadataValue.json(updated),
            # of those, the marts compared by their kept row hashes alone (lib/publish.py)
            "tables_updated_by_row_hash": dg.MetadataValue.json(
                sorted(t for t, how in info["written"].items() if how == "updated by hash")),
        }
    )


defs = dg.Definitions(assets=[published_warehouse])
