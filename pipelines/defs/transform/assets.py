"""dbt build over the whole event log: staging -> intermediate -> marts, with dbt tests as blocking checks."""

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import weakref
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource, dbt_assets

from pipelines.defs.resources import BuildLock, FoilPaths
from pipelines.lib.paths import Paths

from .project import DBT_EXECUTABLE, dbt_project
from .translator import FoilTranslator


class DbtBuildConfig(dg.Config):
    as_of_release: str = ""  # build the marts as of this release (inclusive); empty = all releases
    full_refresh: bool = False  # rebuild incremental models from the whole event log (dbt --full-refresh)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=FoilTranslator(),
    pool="duckdb_build",
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, foil: FoilPaths, build_lock: BuildLock,
                     config: DbtBuildConfig):
    paths = foil.paths()
    args = build_args(paths, config.as_of_release, config.full_refresh)
    invocation = dbt.cli(args, context=context, target_path=target_path(paths))
    # dbt must not outlive this step, however it ends: a dbt left running holds the build database's
    # lock. An interrupt Dagster defers to its next checkpoint abandons this generator without resuming
    # it, so the finalizer also runs when the invocation is collected or this process exits.
    stop_dbt = weakref.finalize(invocation, stop, invocation.process)
    try:
        yield from with_row_counts(context, invocation)
    finally:
        stop_dbt()


def stop(process: subprocess.Popen, grace: float = 5.0) -> None:
    """End dbt if it still runs: SIGINT (dbt stops its threads and closes its connections), then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def build_args(paths: Paths, as_of_release: str = "", full_refresh: bool = False) -> list[str]:
    """`dbt build` for one warehouse: its build database, the release to build the marts as of, and whether
    incremental models are rebuilt from scratch."""
    # The profile reads the build database from this var (dbt_project/profiles.yml): it reaches the
    # dbt process on its command line, whichever warehouse this process builds.
    dbt_vars = {"build_db": str(paths.build_db)}
    if as_of_release:
        dbt_vars["as_of_release"] = as_of_release
    # Unit tests check the SQL against fixed fixtures, not the data: `make test` runs them
    # (tests/test_build.py), so production builds skip them, as dbt recommends.
    args = ["build", "--no-use-colors", "--exclude-resource-type", "unit_test", "--vars", json.dumps(dbt_vars)]
    return args + ["--full-refresh"] if full_refresh else args


def target_path(paths: Paths) -> Path:
    """dbt's target folder (artifacts, logs, partial parse) for this warehouse: concurrent builds of two
    warehouses never share artifacts, and each keeps the partial parse that matches its own vars."""
    return paths.state_dir / "dbt_target"


# "<n> rows in <table>", written by the log_row_count post-hook (macros/log_row_count.sql)
ROW_COUNT_LOG = re.compile(r"(\d+) rows in \S+$")
# Set to "progress" by `foil build` without --verbose: dagster-dbt echoes every dbt line to stdout
# (~300 for the sample); the console then gets the row counts, problems and dbt's closing summary.
# Unset (the UI, `foil build -v`), every line goes to stdout as dagster-dbt writes it.
DBT_OUTPUT_ENV = "FOIL_DBT_OUTPUT"
SUMMARY_EVENTS = {"FinishedRunningStats", "StatsLine"}


def _shown_in_progress(raw_event: dict) -> bool:
    info = raw_event["info"]
    return (info.get("level") in ("warn", "error") or info.get("name") in SUMMARY_EVENTS
            or (info.get("name") == "JinjaLogInfo" and bool(ROW_COUNT_LOG.match(info.get("msg", "")))))


def _dbt_events(invocation: DbtCliInvocation):
    """dagster-dbt's raw events; with FOIL_DBT_OUTPUT=progress its echo is muted and only the lines
    `_shown_in_progress` picks are printed."""
    events = invocation.stream_raw_events()
    if os.environ.get(DBT_OUTPUT_ENV) != "progress":
        yield from events
        return
    while True:
        with contextlib.redirect_stdout(io.StringIO()):  # only while dagster-dbt reads the next event
            raw = next(events, None)
        if raw is None:
            return
        if _shown_in_progress(raw.raw_event):
            print(raw.raw_event["info"].get("msg", ""), flush=True)
        yield raw


def with_row_counts(context: dg.AssetExecutionContext, invocation: DbtCliInvocation):
    """dbt's events as Dagster events while dbt runs, each model's output carrying `dagster/row_count`.

    Streaming lets Dagster record each model and test result while dbt builds the next one. The counts
    come from dbt itself (a post-hook logs them): the build database cannot be opened while dbt holds it.
    """
    rows: dict[str, int] = {}
    for raw in _dbt_events(invocation):
        info, unique_id = raw.raw_event["info"], raw.raw_event["data"].get("node_info", {}).get("unique_id")
        logged = ROW_COUNT_LOG.match(info.get("msg", "")) if info.get("name") == "JinjaLogInfo" else None
        if logged and unique_id:
            rows[unique_id] = int(logged.group(1))
            continue
        for event in raw.to_default_asset_events(
            manifest=invocation.manifest, dagster_dbt_translator=invocation.dagster_dbt_translator,
            context=context, target_path=invocation.target_path, project=invocation.project,
        ):
            if isinstance(event, dg.Output) and unique_id in rows:
                event = event.with_metadata({**event.metadata, "dagster/row_count": dg.MetadataValue.int(rows[unique_id])})
            yield event


defs = dg.Definitions(
    assets=[warehouse_models],
    # dbt logs every node at debug level to dbt.log by default (~6,000 JSON lines per build); info keeps
    # what a person reading the log after a failure needs, and errors still carry their SQL.
    resources={"dbt": DbtCliResource(project_dir=dbt_project(), dbt_executable=DBT_EXECUTABLE,
                                     global_config_flags=["--log-level-file", "info"])},
)
