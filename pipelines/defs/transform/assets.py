"""dbt build over the whole event log: staging -> intermediate -> marts, with dbt tests as blocking checks."""

import json
import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.defs.resources import FoilPaths

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
    os.environ["FOIL_BUILD_DB"] = str(foil.paths().build_db)
    args = ["build", "--no-use-colors"]
    if config.as_of_release:
        args += ["--vars", json.dumps({"as_of_release": config.as_of_release})]
    yield from dbt.cli(args, context=context).stream()


defs = dg.Definitions(
    assets=[warehouse_models],
    resources={"dbt": DbtCliResource(project_dir=dbt_project())},
)
