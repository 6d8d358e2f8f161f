"""DuckDB connections with the project's resource limits (one place, so every step obeys them).

A build runs ingest, dbt and the gates one after another on a 2-core machine; without a limit each
DuckDB instance may take 80% of RAM. FOIL_DUCKDB_MEMORY (default 384MB) caps each connection; the
dbt profile reads the same variable.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb


def config() -> dict[str, str]:
    return {"memory_limit": os.environ.get("FOIL_DUCKDB_MEMORY", "384MB"), "preserve_insertion_order": "false"}


def connect(path: Path | str | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to `path` (in-memory when None) under the project's memory limit."""
    return duckdb.connect(str(path) if path is not None else ":memory:", read_only=read_only, config=config())
