"""The dbt project, parsed when its manifest is missing or older than the project files.

`@dbt_assets` reads `target/manifest.json` when the definitions load, and a fresh clone has none. dbt
writes it with `dbt parse`, run here through dbt's own CLI (a process of its own, so nothing of dbt's
stays loaded in this one) under a lock: when several processes load the definitions at once, one
parses and the others wait for it and reuse its manifest.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.lib.lock import file_lock
from pipelines.lib.paths import DBT_PROJECT_DIR

_SOURCES = ("models", "seeds", "macros", "tests", "analyses", "dbt_project.yml", "profiles.yml")

# dbt is installed beside this interpreter: `.venv/bin/foil` and the UI are often run without
# activating the venv, so `dbt` need not be on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
# dbt's anonymous usage statistics would be a network call at build time (dagster-dbt turns them off
# for the commands it runs; the parse here is ours).
DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        root = project_dir / name
        paths = [root] if root.is_file() else root.rglob("*") if root.is_dir() else []
        newest = max([newest, *(p.stat().st_mtime for p in paths if p.is_file())])
    return newest


def _is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(project.project_dir)


@functools.cache
def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    prepare(project)
    return project


def prepare(project: DbtProject) -> bool:
    """Parse the project if its manifest is missing or older than the project files (the CLI, tests, CI
    and `dagster dev` alike); True if this process parsed it."""
    if not _is_stale(project):
        return False
    with file_lock(project.manifest_path.with_name(".parse.lock")):
        if not _is_stale(project):  # parsed by the process this one waited for
            return False
        parse(project)
        return True


def parse(project: DbtProject) -> None:
    """`dbt parse`: dbt writes manifest.json (and its partial parse) to the project's target folder."""
    target = project.project_dir / project.target_path
    proc = subprocess.run(
        [DBT_EXECUTABLE, "--quiet", "--no-use-colors", "parse", "--project-dir", str(project.project_dir),
         "--profiles-dir", str(project.profiles_dir), "--target-path", str(target), "--log-path", str(target)],
        cwd=project.project_dir, env={**os.environ, **DBT_ENV}, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        said = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"dbt could not parse {project.project_dir}:\n{said}\nFix the project "
                           "(cd dbt_project && ../.venv/bin/dbt parse --profiles-dir .), then rerun.")
