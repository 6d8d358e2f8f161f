"""dagster-dbt's CLI resource, running dbt in this process instead of a subprocess.

dagster-dbt launches `dbt` as a subprocess, which re-imports dbt and re-loads the project on every
build (about 4.5 s before the first node), runs `dbt --version` (about 2 s) and builds a dbt adapter in
the Dagster process (about 1 s) for column metadata and row counts. Here dbt runs on a thread of the
step's process from the project parsed once (in_process.DbtThread); selection, event translation, errors
and artifacts are dagster-dbt's own. Row counts come from a dbt post-hook (assets.with_row_counts).
"""
from __future__ import annotations

import importlib.metadata
from functools import cached_property
from pathlib import Path
from typing import Sequence

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource
from dagster_dbt.asset_utils import extract_runtime_selection_from_args, get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from packaging import version

from .in_process import DbtThread
from .project import parsed_manifest


class FoilDbtCliResource(DbtCliResource):
    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def cli(self, args: Sequence[str], *, context: AssetExecutionContext, target_path: Path,
            env: dict[str, str] | None = None, raise_on_error: bool = True) -> DbtCliInvocation:
        """Start `dbt <args>` for the assets `context` selected; `env` is set while dbt runs."""
        cleaned, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context, manifest={}, dagster_dbt_translator=None,
            runtime_selects=selects, runtime_excludes=excludes,
        )
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        indirect = ["--indirect-selection", params.indirect_selection] if params.indirect_selection else []
        dbt_args = [
            *self.global_config_flags, "--log-level", "none", *cleaned, *indirect, *params.selection_args,
            "--project-dir", str(project_dir), "--profiles-dir", str(self.profiles_dir or project_dir),
            "--target-path", str(target_path), "--log-path", str(target_path),
            # dbt's end-of-run artifacts re-serialize the whole manifest (~0.5 s) beside run_results.json;
            # the thread writes run_results.json alone (the manifest is dbt_project/target's).
            "--no-write-json",
        ]
        target_path.mkdir(parents=True, exist_ok=True)
        return DbtCliInvocation(
            process=DbtThread(dbt_args, parsed_manifest(), env or {}, run_results=target_path / "run_results.json"),
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            project_dir=project_dir,
            target_path=target_path,
            raise_on_error=raise_on_error,
            cli_version=self._cli_version,
            project=params.dbt_project,
            context=context,
        )
