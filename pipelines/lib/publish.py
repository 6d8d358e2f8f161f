"""Publish: copy the audited marts (and the event log) into a new file and swap it in atomically.

Analysts hold the published file open read-only, which would block any writer, so it is never written
in place: a new file is written beside it and renamed over it (`os.replace`, atomic on one filesystem).
Readers that are already open keep their old snapshot; new readers see the new file. The previous file
is kept as a hard link (or copy) first, so there is never a moment without a published file.

After an incremental build the new file starts as a byte copy of the published one, and each table
is brought level with the build: the rows that are gone are deleted and the new ones inserted, found by
comparing row hashes (the event log: release by release). A release of 1% thus writes about 1% of the
rows, not all of them.
A mart dbt keeps by row hash (macros/incremental_row_hash.sql) is compared by those hashes alone: the
state folder keeps the hashes of the rows last published (ROW_HASH_SNAPSHOT), so the published rows are
neither read nor hashed again. The snapshot is used only for the very file it was taken of (same inode,
size and modification time): after a rollback, a killed publish or any other file, rows are compared whole.
A table where much changed is written again, as is every table after a full rebuild (`full`), which so
also compacts the file. Either way the file ends with exactly the build's rows; counts are checked.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

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


# Beside the build database: the row hashes of the published hash-kept marts, and which file they describe.
ROW_HASH_SNAPSHOT = "published_row_hashes.duckdb"

# Above this share of a table's rows changed, writing the table again is cheaper than the delete and insert.
REWRITE_SHARE = 0.25


@dataclass(frozen=True)
class Source:
    """A table to publish: the query that gives its rows, the build table it comes from (database, schema,
    table: its comments are copied), and how rows are told apart when updating: by the hash of the whole
    row, or group by group for a table of many rows per value of `group` (search_postings: about 25 per
    unit; events: a release's), by each group's row count and `signature` (an aggregate over its rows r; by
    default a hash sum). A group that differs is replaced whole: far fewer rows to match than row by row."""
    query: str
    origin: tuple[str, str, str]
    order: str = ""
    group: str | None = None
    signature: str = "sum(hash(r))"
    hashes: str | None = None  # the build's (key, row_hash) table of a mart kept by row hash


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
    name = ".".join(duck.sql_ident(part) for part in target)
    for column, text in comments.items():
        if not (text or "").strip():
            continue
        what = f"table {name}" if column is None else f"column {name}.{duck.sql_ident(column)}"
        con.execute(f"comment on {what} is {duck.sql_str(text.strip())}")


def publish(build_db: Path, warehouse: Path, previous: Path, build_info: dict, full: bool = True) -> dict:
    """Write marts, reference seeds + events into a temp file next to `warehouse`, then atomically replace it.
    With full=False the temp file starts as a copy of the published file (when there is one) and is updated."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse.parent / f".{warehouse.name}.{os.getpid()}.tmp"
    wal = tmp.with_name(tmp.name + ".wal")
    tmp.unlink(missing_ok=True)
    wal.unlink(missing_ok=True)
    snapshot = build_db.with_name(ROW_HASH_SNAPSHOT)
    identity = file_identity(warehouse)
    con = duck.connect(spill=duck.spill_folder(build_db))  # the build's, in its state folder
    try:
        con.execute(f"attach {duck.sql_str(str(build_db))} as build (read_only)")
        con.execute(f"attach {duck.sql_str(str(snapshot))} as snap")
        snapshot_valid = identity is not None and snapshot_of(con) == identity
        con.execute("create or replace table snap.main.taken_of as select null::varchar as identity")  # in flux
        copied = not full and start_from_copy(con, warehouse, tmp)
        if not copied:
            # Small row groups (pipelines/lib/duck.py) let analysts' scans of a 100k-row mart use every core,
            # and wrote the events table a third faster; DuckDB 1.4.0 reads such a file (checked by hand).
            con.execute(f"attach {duck.sql_str(str(tmp))} as pub "
                        f"(storage_version '{STORAGE_VERSION}', row_group_size {duck.ROW_GROUP_ROWS})")
        sources = build_sources(con)
        existing = set(tables_in(con, "pub"))
        for table in existing - set(sources) - {"build_info"}:
            con.execute(f'drop table pub.main."{table}"')  # a mart this build no longer has
        snapshots = set(tables_in(con, "snap")) - {"taken_of"}
        counts, written = {}, {}
        for table, source in sources.items():
            kept = f"snap.main.{duck.sql_ident(table)}"
            usable = snapshot_valid and copied and table in snapshots
            counts[table], written[table] = write_table(con, table, source, table in existing,
                                                        kept if usable else None)
            copy_comments(con, source.origin, ("pub", "main", table))
            if source.hashes and written[table] != "updated by hash":  # updated by hash: already level
                con.execute(f"create or replace table {kept} as select * from {source.hashes}")
        for table in snapshots - {t for t, s in sources.items() if s.hashes}:
            con.execute(f"drop table snap.main.{duck.sql_ident(table)}")
        releases = [r[0] for r in con.execute("select distinct release_id from pub.main.events order by 1").fetchall()]
        info = {**build_info, "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "releases": releases, "row_counts": counts, "written": written}
        con.execute("drop table if exists pub.main.build_info")
        con.execute(
            "create table pub.main.build_info as select ?::timestamptz as published_at, ?::varchar[] as releases, "
            "?::varchar as as_of_release, ?::varchar as run_id, ?::json as row_counts, ?::json as checks",
            [info["published_at"], releases, info.get("as_of_release") or None, info.get("run_id"),
             json.dumps(counts), json.dumps(info.get("checks", []))],
        )
        comment_on(con, ("pub", "main", "build_info"), BUILD_INFO_COMMENTS)
        if "search_settings" in sources:  # search_tokens(text), search_bm25(q) for any client
            search.install_macros(con, "pub")
        con.execute("checkpoint pub")
        con.execute("detach pub")
        con.execute("detach build")
        con.execute("detach snap")
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
    with duckdb.connect(str(snapshot)) as snap:  # the hashes now describe the published file
        snap.execute("update taken_of set identity = ?", [file_identity(warehouse)])
    info["sha256"] = file_sha256(warehouse)
    info["tables"] = list(sources) + ["build_info"]
    return info


def build_sources(con) -> dict[str, Source]:
    """The published tables, in the order they are written: marts, reference seeds (ref_<seed>), events."""
    sources = {}
    hash_kept = set(tables_in(con, "build", "row_hashes"))
    for table in tables_in(con, "build", "marts", views=True):  # a mart may be a view (search_postings)
        # the search index keeps its sort order (zone maps prune by term); other marts need none
        hashes = f"build.row_hashes.{table}" if table in hash_kept else None
        sources[table] = Source(f"select * from build.marts.{table}", ("build", "marts", table),
                                search.TABLE_ORDER.get(table, ""), group=search.TABLE_GROUP.get(table),
                                hashes=hashes)
    for seed in tables_in(con, "build", "seeds"):
        if seed in REFERENCE_SEEDS:
            sources[f"ref_{seed}"] = Source(f"select * from build.seeds.{seed}", ("build", "seeds", seed))
    # With --as-of the marts cover only some releases; the published log covers the same ones. The log is
    # append-only, so a release's events changed exactly when their number did: compared release by
    # release (count, newest ingested_at: dbt's release fingerprints), not event by event.
    sources["events"] = Source("select * from build.raw.events "
                               "where release_id in (select release_id from build.marts.releases)",
                               ("build", "raw", "events"), group="release_id", signature="max(r.ingested_at)")
    return sources


def tables_in(con, database: str, schema: str = "main", views: bool = False) -> list[str]:
    kinds = ["BASE TABLE", "VIEW"] if views else ["BASE TABLE"]
    return [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_catalog = ? and table_schema = ? "
        "and list_contains(?, table_type) order by 1", [database, schema, kinds]).fetchall()]


def start_from_copy(con, warehouse: Path, tmp: Path) -> bool:
    """Attach a copy of the published file as `pub`, if there is one this module wrote and DuckDB opens;
    False (and no copy left) otherwise. Only the copy is opened: readers of the published file in this
    process may hold it with another configuration, which DuckDB refuses to open again."""
    if not warehouse.is_file():
        return False
    shutil.copyfile(warehouse, tmp)  # the kernel's copy (copy_file_range/sendfile)
    try:
        # the copy keeps the storage version it was written with
        con.execute(f"attach {duck.sql_str(str(tmp))} as pub (row_group_size {duck.ROW_GROUP_ROWS})")
        con.execute("select published_at from pub.main.build_info").fetchall()
        return True
    except duckdb.Error:
        if "pub" in [r[0] for r in con.execute("select database_name from duckdb_databases()").fetchall()]:
            con.execute("detach pub")
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        return False


def write_table(con, table: str, source: Source, exists: bool, snapshot: str | None = None) -> tuple[int, str]:
    """Make pub.main.<table> hold exactly the rows of `source`: updated in place when it `exists` with the
    same columns and little changed, written again otherwise. `snapshot`: the kept hashes of the rows
    published (when they describe this file), compared with the build's hashes instead of whole rows.
    Returns its row count and which was done ("updated by hash", "updated", "written")."""
    target = f"pub.main.{duck.sql_ident(table)}"
    rows = con.execute(f"select count(*) from ({source.query})").fetchone()[0]
    if exists and columns(con, target) == columns(con, f"({source.query})"):
        hashed = columns(con, source.hashes) if snapshot and source.hashes else None
        if hashed and columns(con, snapshot) == hashed and hashed[0] in columns(con, target):
            if update_by_hashes(con, target, source, snapshot, rows):
                return rows, "updated by hash"
        else:
            update = update_groups if source.group else update_rows
            if update(con, target, source, rows):
                return rows, "updated"
    order = f" order by {source.order}" if source.order else ""
    con.execute(f"create or replace table {target} as {source.query}{order}")
    return rows, "written"


def update_rows(con, target: str, source: Source, rows: int) -> bool:
    """Delete the rows of `target` the source no longer has and insert the source's new ones, told apart by
    the row's hash. False (nothing changed) when that would touch more than REWRITE_SHARE of
    the rows; False after the change when the result does not count as the source does."""
    order = f" order by {source.order}" if source.order else ""
    try:
        con.execute(f"create or replace temp table publish_gone as select rid from "
                    f"(select p.rowid as rid, hash(p) as m from {target} p) "
                    f"anti join (select hash(s) as m from ({source.query}) s) using (m)")
        gone = con.execute("select count(*) from publish_gone").fetchone()[0]
        kept = con.execute(f"select count(*) from {target}").fetchone()[0] - gone
        if gone + (rows - kept) > REWRITE_SHARE * max(rows, 1):
            return False
        con.execute(f"delete from {target} where rowid in (select rid from publish_gone)")
        con.execute(f"insert into {target} select s.* from ({source.query}) s "
                    f"anti join (select hash(p) as m from {target} p) k on hash(s) = k.m{order}")
        # rows repeated in full (which no mart has: keys are gated) would be matched once; then rewrite
        return con.execute(f"select count(*) from {target}").fetchone()[0] == rows
    finally:
        con.execute("drop table if exists publish_gone")


def update_by_hashes(con, target: str, source: Source, snapshot: str, rows: int) -> bool:
    """Replace, in `target`, the rows of every key whose row hashes differ between the published `snapshot`
    and the build's (source.hashes, its first column the key): the stored rows are never read whole. On
    success the snapshot is brought level too. False as update_rows says it."""
    key = duck.sql_ident(columns(con, source.hashes)[0][0])
    try:
        con.execute(f"create or replace temp table publish_gone as select * from {snapshot} anti join {source.hashes} using (row_hash)")
        con.execute(f"create or replace temp table publish_came as select * from {source.hashes} anti join {snapshot} using (row_hash)")
        changed = con.execute("select (select count(*) from publish_gone) + (select count(*) from publish_came)").fetchone()[0]
        if changed > REWRITE_SHARE * max(rows, 1):
            return False
        order = f" order by {source.order}" if source.order else ""
        keys = f"(select {key} from publish_gone union select {key} from publish_came)"
        con.execute(f"delete from {target} where {key} in {keys}")
        con.execute(f"insert into {target} select s.* from ({source.query}) s where s.{key} in {keys}{order}")
        if con.execute(f"select count(*) from {target}").fetchone()[0] != rows:
            return False
        con.execute(f"delete from {snapshot} where row_hash in (select row_hash from publish_gone)")
        con.execute(f"insert into {snapshot} select * from publish_came")
        return True
    finally:
        con.execute("drop table if exists publish_gone")
        con.execute("drop table if exists publish_came")


def snapshot_of(con) -> str | None:
    """Which published file the attached snapshot (`snap`) describes, if any."""
    if "taken_of" not in tables_in(con, "snap"):
        return None
    row = con.execute("select identity from snap.main.taken_of").fetchone()
    return row[0] if row else None


def file_identity(path: Path) -> str | None:
    """Inode, size and modification time: a file replaced, rolled back or written again differs."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def update_groups(con, target: str, source: Source, rows: int) -> bool:
    """Replace, in `target`, the groups of rows (source.group) whose row count or signature differs from the
    source's: delete them, insert the source's. False as update_rows says it."""
    group, order = source.group, f" order by {source.order}" if source.order else ""

    def sums(relation: str) -> str:
        return f"select {group} as g, count(*) as n, {source.signature} as h from {relation} r group by {group}"

    con.execute(f"create or replace temp table publish_old as {sums(target)}")
    con.execute(f"create or replace temp table publish_new as {sums(f'({source.query})')}")
    con.execute("create or replace temp table publish_gone as select g, n from publish_old anti join publish_new using (g, n, h)")
    con.execute("create or replace temp table publish_came as select g, n from publish_new anti join publish_old using (g, n, h)")
    changed = con.execute("select coalesce(sum(n), 0) from (select n from publish_gone union all select n from publish_came)").fetchone()[0]
    try:
        if changed > REWRITE_SHARE * max(rows, 1):
            return False
        con.execute(f"delete from {target} where {group} in (select g from publish_gone)")
        con.execute(f"insert into {target} select s.* from ({source.query}) s "
                    f"where s.{group} in (select g from publish_came){order}")
        return con.execute(f"select count(*) from {target}").fetchone()[0] == rows
    finally:
        for temp in ("publish_old", "publish_new", "publish_gone", "publish_came"):
            con.execute(f"drop table if exists {temp}")


def columns(con, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe {relation}").fetchall()]
