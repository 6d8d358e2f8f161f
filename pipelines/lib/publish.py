"""Publish: copy the audited marts (and the event log) into a fresh file and swap it in atomically.

Analysts hold the published file open read-only, which would block any writer, so it is never written
in place: a new file is written beside it and renamed over it (`os.replace`, atomic on one filesystem).
Readers that are already open keep their old snapshot; new readers see the new file. The previous file
is kept as a hard link (or copy) first, so there is never a moment without a published file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path

from . import duck

# Older DuckDB clients (DBeaver, R, JDBC < 2.0) cannot read the 2.0 storage format.
STORAGE_VERSION = "v1.4.0"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def temp_files(warehouse: Path) -> list[Path]:
    """Candidate files of unfinished publishes (and their write-ahead logs) beside `warehouse`."""
    return sorted(warehouse.parent.glob(f".{warehouse.name}.*.tmp")) + sorted(
        warehouse.parent.glob(f".{warehouse.name}.*.tmp.wal"))


def remove_temp_files(warehouse: Path) -> list[Path]:
    """Clear what a killed publish left behind; call only while holding the build lock."""
    removed = temp_files(warehouse)
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def publish(build_db: Path, warehouse: Path, previous: Path, build_info: dict) -> dict:
    """Write marts + events into a temp file next to `warehouse`, then atomically replace it."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse.parent / f".{warehouse.name}.{os.getpid()}.tmp"
    wal = tmp.with_name(tmp.name + ".wal")
    tmp.unlink(missing_ok=True)
    wal.unlink(missing_ok=True)
    con = duck.connect()
    try:
        con.execute(f"attach {duck.sql_str(str(build_db))} as build (read_only)")
        # Small row groups (pipelines/lib/duck.py) let analysts' scans of a 100k-row mart use every core,
        # and wrote the events table a third faster; DuckDB 1.4.0 reads such a file (checked by hand).
        con.execute(f"attach {duck.sql_str(str(tmp))} as pub "
                    f"(storage_version '{STORAGE_VERSION}', row_group_size {duck.ROW_GROUP_ROWS})")
        marts = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'build' and schema_name = 'marts' order by 1"
        ).fetchall()]
        counts = {}
        for table in marts:
            con.execute(f"create table pub.main.{table} as select * from build.marts.{table}")
            counts[table] = con.execute(f"select count(*) from pub.main.{table}").fetchone()[0]
        # With --as-of the marts cover only some releases; the published log covers the same ones.
        con.execute("""create table pub.main.events as select * from build.raw.events
                       where release_id in (select release_id from build.marts.releases)""")
        counts["events"] = con.execute("select count(*) from pub.main.events").fetchone()[0]
        releases = [r[0] for r in con.execute("select distinct release_id from pub.main.events order by 1").fetchall()]
        info = {**build_info, "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "releases": releases, "row_counts": counts}
        con.execute(
            "create table pub.main.build_info as select ?::timestamptz as published_at, ?::varchar[] as releases, "
            "?::varchar as as_of_release, ?::varchar as run_id, ?::json as row_counts, ?::json as checks",
            [info["published_at"], releases, info.get("as_of_release") or None, info.get("run_id"),
             json.dumps(counts), json.dumps(info.get("checks", []))],
        )
        con.execute("checkpoint pub")
        con.execute("detach pub")
        con.execute("detach build")
    except BaseException:  # a full disk, an interrupt: nothing half-written stays beside the published file
        con.close()
        tmp.unlink(missing_ok=True)
        wal.unlink(missing_ok=True)
        raise
    con.close()
    if warehouse.exists():
        previous.parent.mkdir(parents=True, exist_ok=True)
        previous.unlink(missing_ok=True)
        try:
            os.link(warehouse, previous)
        except OSError:
            shutil.copy2(warehouse, previous)
    os.replace(tmp, warehouse)
    info["sha256"] = file_sha256(warehouse)
    info["tables"] = marts + ["events", "build_info"]
    return info
