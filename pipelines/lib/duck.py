"""DuckDB connections with the project's resource limits (one place, so every step obeys them).

A build runs ingest, dbt and the gates one after another on a 2-core machine; without a limit each
DuckDB instance may take 80% of RAM. FOIL_DUCKDB_MEMORY (default 384MB) caps each connection; the
dbt profile reads the same variable.

Tables written to the build database use row groups of ROW_GROUP_ROWS rows instead of DuckDB's
122,880: DuckDB scans a table in parallel one row group per thread, so a 100,000-row table in one
row group was read (JSON parsed, joined) on one core. The size is an ATTACH option and not stored in
the file, so every writer of the build database opens it through `connect` (dbt: profiles.yml).
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

ROW_GROUP_ROWS = 16384  # a multiple of DuckDB's 2,048-row vector; ~6 groups per 100k rows on 2 cores


def config(spill: Path | str | None = None) -> dict[str, str]:
    found = {"memory_limit": os.environ.get("FOIL_DUCKDB_MEMORY", "384MB"), "preserve_insertion_order": "false"}
    if spill is not None:
        found["temp_directory"] = str(spill)
    return found


def spill_folder(db: Path | str) -> str:
    """Where a connection working on the database file `db` spills: beside it, as DuckDB itself would."""
    return f"{db}.tmp"


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(path: Path | str | None = None, read_only: bool = False,
            spill: Path | str | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to `path` (in-memory when None) under the project's memory limit.

    What does not fit spills to `spill`, by default `<path>.tmp` next to the file as DuckDB itself would
    put it: an in-memory instance would spill to `.tmp` in whatever folder the process runs in, so one
    without a path must be given its place.

    A writable file is attached to an in-memory instance with the small row groups (see above) and made
    the default catalog, under the name DuckDB would give it (the file's stem), so queries read the same."""
    from . import storage

    if spill is None and path is not None:
        spill = spill_folder(path)
    if path is None or read_only:
        con = duckdb.connect(str(path) if path is not None else ":memory:", read_only=read_only, config=config(spill))
        storage.register(con)  # event-log segments in object storage
        return con
    con = duckdb.connect(":memory:", config=config(spill))
    try:
        storage.register(con)
        catalog = sql_ident(Path(path).stem)
        con.execute(f"attach {sql_str(str(path))} as {catalog} (row_group_size {ROW_GROUP_ROWS})")
        con.execute(f"use {catalog}")
    except BaseException:
        con.close()
        raise
    return con
