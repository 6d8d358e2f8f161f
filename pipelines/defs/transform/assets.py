"""dbt build over the whole event log: staging -> intermediate -> marts, with dbt tests as blocking checks."""

import json
import os
from pathlib import Path


import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.defs.resources import FoilPaths
from pipelines.lib import duck

from .project import dbt_project
from .translator import FoilTranslator


class DbtBuildConfig(dg.Config):
    as_of_release: str = ""  # build the marts as of this release (inclusive); empty = all releases


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=FoilTranslator(),
    pool="duckdb_build",
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, foil: FoilPaths, config: DbtBuildConfig):
    # The dbt profile reads the build database path from the environment.
    build_db = foil.paths().build_db
    os.environ["FOIL_BUILD_DB"] = str(build_db)
    args = ["build", "--no-use-colors"]
    if config.as_of_release:
        args += ["--vars", json.dumps({"as_of_release": config.as_of_release})]
    events = list(dbt.cli(args, context=context).stream())
    yield from with_row_counts(context, events, build_db)


def with_row_counts(context: dg.AssetExecutionContext, events: list, build_db: Path):
    """Attach `dagster/row_count` to each model's output, read after dbt has exited.

    dagster-dbt's own fetch_row_counts() opens the file through the dbt adapter in this process and
    leaves that connection open, which then blocks the read-only connections of the gates.
    """
    with duck.connect(build_db, read_only=True) as con:
        tables = {(s, t) for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
        for event in events:
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name).path
                if len(key) == 2 and tuple(key) in tables:
                    rows = con.execute(f'select count(*) from "{key[0]}"."{key[1]}"').fetchone()[0]
                    event = event.with_metadata({**event.metadata, "dagster/row_count": dg.MetadataValue.int(rows)})
            yield event


defs = dg.Definitions(
    assets=[warehouse_models],
    resources={"dbt": DbtCliResource(project_dir=dbt_project())},
)
