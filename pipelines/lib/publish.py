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

from . import duck, search

# Older DuckDB clients (DBeaver, R, JDBC < 2.0) cannot read the 2.0 storage format.
STORAGE_VERSION = "v1.4.0"

# The rules and mappings (dbt seeds) an analyst needs to read the marts, published as ref_<seed>.
REFERENCE_SEEDS = ("contract_periods", "vendor_aliases", "org_domains", "redaction_codes", "affiliation_rules",
                   "signal_rules")

# build_info is written here, not by dbt, so its descriptions live here too.
BUILD_INFO_COMMENTS = {
    None: "One row about this file: when it was published, from which releases and run, its tables' row counts "
          "and the gates it passed.",
    "published_at": "When this file was published (UTC).",
    "releases": "Release ids whose events this file holds.",
    "as_of_release": "The release a `foil build --as-of` stopped at; null for a build of every release.",
    "run_id": "Dagster run that built and published this file.",
    "row_counts": "Rows per published table (JSON object table -> rows).",
    "checks": "The gates this file passed (JSON list).",
}


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


def copy_comments(con, source: tuple[str, str, str], target: tuple[str, str, str]) -> None:
    """Copy the table and column comments (dbt descriptions, persist_docs) of `source` onto `target`, each
    (database, schema, table or view): `create table as select` drops them, and analysts read them with
    `describe`. The event log raw.events is a view over its segments, listed in duckdb_views()."""
    where = "database_name = ? and schema_name = ? and table_name = ?"
    table_comment = con.execute(f"select comment from duckdb_tables() where {where} union all select comment "
                                f"from duckdb_views() where {where.replace('table_name', 'view_name')}",
                                list(source) * 2).fetchone()
    columns = con.execute(f"select column_name, comment from duckdb_columns() where {where} and comment is not null",
                          list(source)).fetchall()
    comment_on(con, target, {None: table_comment[0] if table_comment else None, **dict(columns)})


def comment_on(con, target: tuple[str, str, str], comments: dict) -> None:
    """COMMENT ON the table `target` (key None) and its columns (other keys), trimmed (a folded yml
    description ends with a newline); empty comments are skipped."""
    def ident(part: str) -> str:
        return '"' + part.replace('"', '""') + '"'

    name = ".".join(ident(part) for part in target)
    for column, text in comments.items():
        if not (text or "").strip():
            continue
        what = f"table {name}" if column is None else f"column {name}.{ident(column)}"
        con.execute(f"comment on {what} is {duck.sql_str(text.strip())}")


def publish(build_db: Path, warehouse: Path, previous: Path, build_info: dict) -> dict:
    """Write marts, reference seeds + events into a temp file next to `warehouse`, then atomically replace it."""
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
            # the search index keeps its sort order (zone maps prune by term); other marts need none
            order = f" order by {search.TABLE_ORDER[table]}" if table in search.TABLE_ORDER else ""
            con.execute(f"create table pub.main.{table} as select * from build.marts.{table}{order}")
            copy_comments(con, ("build", "marts", table), ("pub", "main", table))
            counts[table] = con.execute(f"select count(*) from pub.main.{table}").fetchone()[0]
        seeds = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'build' and schema_name = 'seeds' "
            "and list_contains(?, table_name) order by 1", [list(REFERENCE_SEEDS)]).fetchall()]
        for seed in seeds:
            con.execute(f"create table pub.main.ref_{seed} as select * from build.seeds.{seed}")
            copy_comments(con, ("build", "seeds", seed), ("pub", "main", f"ref_{seed}"))
            counts[f"ref_{seed}"] = con.execute(f"select count(*) from pub.main.ref_{seed}").fetchone()[0]
        # With --as-of the marts cover only some releases; the published log covers the same ones.
        con.execute("""create table pub.main.events as select * from build.raw.events
                       where release_id in (select release_id from build.marts.releases)""")
        copy_comments(con, ("build", "raw", "events"), ("pub", "main", "events"))
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
        comment_on(con, ("pub", "main", "build_info"), BUILD_INFO_COMMENTS)
        if "search_settings" in marts:  # search_tokens(text), search_bm25(q) for any client
            search.install_macros(con, "pub")
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
    info["tables"] = marts + [f"ref_{seed}" for seed in seeds] + ["events", "build_info"]
    return info
