"""dagster-dbt's CLI resource without its two per-run start-up costs we do not use.

Before every invocation DbtCliResource runs `dbt --version` in a subprocess (about 2 s) and builds a dbt
adapter inside the Dagster process (about 1 s) for column metadata and row counts. dbt-core is
installed in this same environment, so its version is read from the package metadata; row counts come
from a dbt post-hook (assets.with_row_counts), so no adapter is needed.
"""
from __future__ import annotations

import importlib.metadata
from functools import cached_property

from dagster_dbt import DbtCliResource
from packaging import version


class FoilDbtCliResource(DbtCliResource):
    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None
