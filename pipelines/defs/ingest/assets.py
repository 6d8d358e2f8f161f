"""Release ingest: one dynamic partition per release folder, appending observations to raw.events."""

import dagster as dg

from pipelines.defs.resources import BuildLock, DaskCluster, FoilPaths
from pipelines.lib import duck, recovery, storage
from pipelines.lib.ingest import ReleaseChanged, ingest_release
from pipelines.lib.manifest import ManifestError, load_manifest

releases = dg.DynamicPartitionsDefinition(name="release")
EVENTS_KEY = dg.AssetKey(["raw", "events"])
UNCHANGED_CHECK = dg.AssetCheckKey(EVENTS_KEY, "release_unchanged")


@dg.asset(
    key=EVENTS_KEY,
    partitions_def=releases,
    group_name="ingest",
    kinds={"python", "duckdb"},
    pool="duckdb_build",
    owners=["team:ingest"],
    check_specs=[
        dg.AssetCheckSpec(
            "release_unchanged",
            asset=EVENTS_KEY,
            blocking=True,
            description="Fails when files of an already-ingested release changed; the release is refused, not re-ingested.",
        )
    ],
    description=(
        "Append-only event log: every file of a release becomes observations (messages, roster rows, "
        "search-log rows) or a quarantine row. Event ids are content hashes, so re-ingesting appends nothing."
    ),
)
def release_events(context: dg.AssetExecutionContext, foil: FoilPaths, build_lock: BuildLock,
                   dask: DaskCluster) -> dg.MaterializeResult:
    paths = foil.paths()
    if paths.raw_url:  # object storage: this release's objects into the local copy (lib/storage.py)
        storage.sync_raw(paths.raw_url, paths.raw_dir, context.partition_key)
    folder = paths.raw_dir / context.partition_key
    try:
        manifest = load_manifest(folder)
    except ManifestError as err:
        raise dg.Failure(description=str(err)) from None
    paths.build_db.parent.mkdir(parents=True, exist_ok=True)
    try:
        with duck.connect(paths.build_db) as con:
            result = ingest_release(con, manifest, context.log.info, scratch=recovery.scratch_dir(paths),
                                    cluster=dask.cluster())
    except ReleaseChanged as err:
        # Nothing is appended: the materialisation records the refusal and the blocking check fails,
        # so nothing downstream runs on this release and the reason shows in the UI.
        context.log.error(str(err))
        return dg.MaterializeResult(
            metadata={"refused": True, "changes": dg.MetadataValue.json(err.changes), "new_events": 0},
            check_results=[dg.AssetCheckResult(
                check_name="release_unchanged", passed=False, severity=dg.AssetCheckSeverity.ERROR,
                description=str(err), metadata={"changes": dg.MetadataValue.json(err.changes)},
            )],
        )
    summary = result.summary()
    quarantined = [{"path": f.path, "reason": f.quarantine_reason} for f in result.files if f.quarantine_reason]
    return dg.MaterializeResult(
        check_results=[dg.AssetCheckResult(check_name="release_unchanged", passed=True)],
        metadata={
            **{k: v for k, v in summary.items() if k != "release_id"},
            "quarantine": dg.MetadataValue.json(quarantined),
            "per_file": dg.MetadataValue.md(
                "| file | reader | expected | extracted | quarantined |\n|---|---|---|---|---|\n"
                + "\n".join(
                    f"| {f.path} | {f.reader or '-'} | {f.stats.expected_items} | {f.stats.extracted_items} | "
                    f"{f.quarantine_reason or f.stats.quarantined_items} |"
                    for f in result.files
                )
            ),
        }
    )


defs = dg.Definitions(assets=[release_events])
