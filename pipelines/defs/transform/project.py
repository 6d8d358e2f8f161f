"""The dbt project, parsed lazily and re-parsed when its sources are newer than the manifest."""
from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.lib.paths import DBT_PROJECT_DIR

_SOURCES = ("models", "seeds", "macros", "tests", "analyses", "dbt_project.yml", "profiles.yml")


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in _SOURCES:
        root = DBT_PROJECT_DIR / name
        paths = [root] if root.is_file() else root.rglob("*") if root.is_dir() else []
        newest = max([newest, *(p.stat().st_mtime for p in paths if p.is_file())])
    return newest


# dbt is installed in the same environment as this code; `.venv/bin/foil` and the UI are often run
# without activating the venv, so make its bin directory visible to dagster-dbt's `dbt` lookups.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


@functools.cache
def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    manifest = project.manifest_path
    # `dagster dev` prepares through prepare_if_dev(); the CLI, tests and CI need the same, so parse
    # whenever the manifest is missing or older than the project files.
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime():
        # Parsing opens no database; its partial-parse file is reused by each warehouse's first build
        # only when the profile renders the same, so parse with the profile's default path.
        with dbt_environment():
            project.preparer.prepare(project)
    return project


@contextlib.contextmanager
def dbt_environment(home: Path | None = None):
    """The environment a dbt process starts with (dagster-dbt copies os.environ when it launches dbt).

    The profile opens `~/build.duckdb` unless FOIL_BUILD_DB names a file; here FOIL_BUILD_DB is unset and
    HOME is `home` (a warehouse's state folder), so the build database is `<home>/build.duckdb` while
    the profile text stays the same for every warehouse. dbt keys its partial parse on the rendered
    profile, so a first build reuses the parse made when the project was prepared (dbt_project/target)
    instead of spending ~5 s on a full parse.
    """
    saved = {key: os.environ.get(key) for key in ("HOME", "FOIL_BUILD_DB")}
    os.environ.pop("FOIL_BUILD_DB", None)
    if home is not None:
        os.environ["HOME"] = str(home)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
