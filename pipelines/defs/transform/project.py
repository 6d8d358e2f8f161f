"""The dbt project, parsed lazily and re-parsed when its sources are newer than the manifest."""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.metadata
import os
import pickle
import sys
from pathlib import Path

from dagster._utils import run_with_concurrent_update_guard
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
# without activating the venv, and dagster-dbt's resource refuses to load unless `dbt` is on PATH.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


@functools.cache
def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    manifest = project.manifest_path
    # Parse whenever the manifest is missing or older than the project files (the CLI, tests, CI and
    # `dagster dev` alike), or the saved Manifest is missing or older than it. The lock (dagster-dbt's
    # own, for its preparer) lets one process parse while the others wait and reuse its result.
    if (not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime()
            or not _saved_is_fresh(project)):
        run_with_concurrent_update_guard(_saved_path(project), _parse, project=project)
    return project


def _saved_path(project: DbtProject) -> Path:
    # dbt's serialized Manifest is only readable by the dbt version that wrote it
    return project.manifest_path.with_name(f"manifest-dbt{importlib.metadata.version('dbt-core')}.pickle")


def _saved_is_fresh(project: DbtProject) -> bool:
    path = _saved_path(project)
    return path.exists() and path.stat().st_mtime >= project.manifest_path.stat().st_mtime


def _parse(project: DbtProject) -> None:
    """Parse the project in this process: dbt writes manifest.json (and its partial parse) to target/,
    and dbt's Manifest object is saved beside it.

    Builds run dbt in-process (in_process.DbtThread) from that object: unpickling it takes ~0.03 s,
    where dbt's own start-up (partial parse included) took ~2 s and its msgpack form ~0.45 s.
    """
    from dbt.cli.main import dbtRunner

    from .in_process import release_dbt

    with _default_profile():
        result = dbtRunner().invoke(["--quiet", "parse", "--project-dir", str(project.project_dir),
                                     "--profiles-dir", str(project.profiles_dir),
                                     "--log-path", str(project.manifest_path.parent)])
    release_dbt()
    if not result.success:
        raise RuntimeError(f"dbt could not parse {project.project_dir}: {result.exception}. "
                           "Fix the project (cd dbt_project && ../.venv/bin/dbt parse --profiles-dir .), then rerun.")
    path = _saved_path(project)
    part = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with part.open("wb") as fh:
        pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = {type(result.result): _reduce_manifest}
        pickler.dump(result.result)
    os.replace(part, path)


def _reduce_manifest(manifest):
    # Manifest.__reduce_ex__ passes its fields by position but leaves out `fixtures`, so every later
    # field lands in the wrong place; by name, and without the lookups and lock it rebuilds itself.
    fields = {f.name: getattr(manifest, f.name) for f in dataclasses.fields(manifest) if not f.name.startswith("_")}
    return _manifest_from_fields, (fields,)


def _manifest_from_fields(fields: dict):
    from dbt.contracts.graph.manifest import Manifest

    return Manifest(**fields)


def parsed_manifest():
    """A fresh copy of the parsed project (dbt's Manifest) for one dbt invocation in this process."""
    return pickle.loads(_saved_path(dbt_project()).read_bytes())


@contextlib.contextmanager
def _default_profile():
    """Parse with the profile as it renders by default (FOIL_BUILD_DB unset; parsing opens no database).

    dbt keys its partial parse on the rendered profile, so every parse then reuses the last one's work,
    whatever build database the caller's environment names.
    """
    saved = os.environ.pop("FOIL_BUILD_DB", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["FOIL_BUILD_DB"] = saved
