"""When a build may be incremental, and when it must rebuild in full.

Models incremental by release (dbt_project/macros/incremental_releases.sql) notice changes to the event
log and to their own SQL, not to the macros and seeds they read. So the build rebuilds in full when the
dbt project's models, macros, seeds or settings changed since the last published build (a new foil
version, an edited rule), when there is no record of one, and when asked (`foil build --full`, the daily
schedule). An as-of build is always full: its warehouse is a cut of the log, not the next step of one.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .paths import DBT_PROJECT_DIR, Paths

PARTS = ("models", "macros", "seeds")
SETTINGS = ("dbt_project.yml",)


def project_digest(project: Path = DBT_PROJECT_DIR) -> str:
    """sha256 over the path and content of every file the dbt models are built from."""
    files = [project / name for name in SETTINGS]
    for part in PARTS:
        files += sorted(p for p in (project / part).rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(project)).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


def _record(paths: Paths) -> Path:
    return paths.state_dir / "dbt_project.sha256"


def full_reason(paths: Paths) -> str | None:
    """Why this build must rebuild in full (a sentence), or None when it can be incremental."""
    record = _record(paths)
    if not record.exists():
        # dbt never built here (every model is new anyway), or a build before incremental models
        return "no record of the dbt project the last build used" if _has_models(paths) else None
    if record.read_text().strip() != project_digest():
        return "the dbt project (models, macros, seeds) changed since the last build"
    return None


def _has_models(paths: Paths) -> bool:
    from . import duck

    if not paths.build_db.exists():
        return False
    with duck.connect(paths.build_db, read_only=True) as con:
        return bool(con.execute("select count(*) from duckdb_tables() where schema_name in ('intermediate', 'marts')"
                                ).fetchone()[0])


def remember(paths: Paths) -> None:
    """Record the dbt project a successful build used."""
    record = _record(paths)
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_suffix(".tmp")
    tmp.write_text(project_digest() + "\n")
    tmp.replace(record)
