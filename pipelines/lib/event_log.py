"""The append-only event log: immutable Parquet segments, recorded in the build database.

Event ids are sha256 over everything that identifies an observation — release, type, source pointer,
parser name/version and the canonical payload — computed per Arrow batch before it is written.
Appending the same observation twice is a no-op, so re-ingesting a release appends nothing.

Events are written as segments: one Parquet file per (release, parser and version, commit group), named
by the sha256 of its bytes, in a segment store (`<build database>.segments/` beside the build database,
or FOIL_SEGMENTS_DIR: another folder or an `s3://bucket/prefix`). Segments in object storage are read
from local copies (`<build database>.segments-cache/`, checked against their names): immutable files
need no invalidation, and dbt's many scans of the log stay on local disk. A segment is written first and then
recorded in `raw.segments` in one transaction with the view `raw.events` over every recorded segment, so
a crash in between leaves a file nobody reads (removed when the release is next ingested, `clean`), never
events counted twice or a file recorded as read without its events. `raw.events` keeps the columns the
log always had; dbt's source and every query read it unchanged.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from hashlib import sha256
from itertools import repeat
from pathlib import Path
from typing import Iterable

import duckdb
import pyarrow as pa

from pipelines.readers.base import BATCH_SCHEMA, batch_table, canonical_json
from pipelines.readers.columns import array

from . import storage
from .duck import ROW_GROUP_ROWS, sql_str

SCHEMA = "raw"
TABLE = f"{SCHEMA}.events"  # a view over the recorded segments
SEGMENTS = f"{SCHEMA}.segments"
TAG_COLUMNS = ("event_id", "source_path", "source_sha256", "parser", "parser_version")  # what `tag` adds to a batch
TAGGED_SCHEMA = pa.schema([*BATCH_SCHEMA, *(pa.field(name, pa.string()) for name in TAG_COLUMNS)])

COLUMNS = (
    ("event_id", "varchar"), ("release_id", "varchar"), ("event_type", "varchar"), ("occurred_at", "timestamptz"),
    ("recorded_at", "date"), ("source_path", "varchar"), ("source_sha256", "varchar"), ("source_offset", "bigint"),
    ("source_row", "bigint"), ("source_bates", "varchar"), ("parser", "varchar"), ("parser_version", "varchar"),
    ("payload", "json"), ("ingested_at", "timestamptz"),
)
NAMES = ", ".join(name for name, _ in COLUMNS)
SEGMENT_SUFFIX = ".parquet"

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SEGMENTS} (
    path            varchar primary key,  -- <store>/<release_id>/<sha256 of the file>.parquet
    release_id      varchar not null,
    parser          varchar not null,
    parser_version  varchar not null,
    events          bigint not null,
    bytes           bigint not null,
    committed_at    timestamptz not null
);
"""
EMPTY = "select " + ", ".join(f"null::{kind} as {name}" for name, kind in COLUMNS) + " where false"


def event_ids(batch: pa.Table, release_id: str, source_path: str, source_sha256: str | None, parser: str,
              parser_version: str) -> list[str]:
    """sha256 over '|'-joined release, type, source pointer, parser and payload (missing parts empty).

    Hashed here rather than in SQL: OpenSSL's sha256 is faster than DuckDB's, and ids known before the
    insert let a batch without duplicates skip the window that deduped it. As DuckDB's concat_ws did, a
    NULL type or payload is skipped (the insert then fails on NOT NULL)."""
    return _ids(release_id, repeat(source_path), repeat(source_sha256), repeat(parser), repeat(parser_version),
                *(batch.column(n).to_pylist() for n in ID_COLUMNS))


ID_COLUMNS = ("event_type", "source_offset", "source_row", "source_bates", "payload")  # a batch's part of the id


def _ids(release_id: str, paths: Iterable[str], shas: Iterable[str | None], parsers: Iterable[str],
         versions: Iterable[str], types: list, offsets: list, rows: list, bates_: list, payloads: list) -> list[str]:
    """event_ids of rows from many files: each row's source columns and its batch columns."""
    head = f"{release_id}|"
    ids = []
    for path, sha, parser, version, event_type, offset, row, bates, payload in zip(
            paths, shas, parsers, versions, types, offsets, rows, bates_, payloads):
        offset = "" if offset is None else offset
        row = "" if row is None else row
        if event_type is None or payload is None:
            parts = (release_id, event_type, path, sha or "", str(offset), str(row), bates or "", parser, version, payload)
            text = "|".join(p for p in parts if p is not None)
        else:
            text = f"{head}{event_type}|{path}|{sha or ''}|{offset}|{row}|{bates or ''}|{parser}|{version}|{payload}"
        ids.append(sha256(text.encode()).hexdigest())
    return ids


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The segment catalog and the `raw.events` view over it. A log kept as a table (before segments) is
    moved into segments once, in one transaction."""
    con.execute(DDL)
    kind = con.execute(
        """select table_type from information_schema.tables
           where table_catalog = current_database() and table_schema = ? and table_name = 'events'""",
        [SCHEMA]).fetchone()
    if kind is not None and kind[0] == "BASE TABLE":
        _migrate(con)
    else:  # (again each time: the view names local copies of remote segments, which may have been deleted)
        refresh_view(con)


def _folder(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> Path | None:
    """The folder of the database file (None in memory): local segment paths are recorded relative to
    it, so a deployment folder copied or moved elsewhere keeps reading its own segments."""
    row = con.execute("select path from duckdb_databases() where database_name = coalesce(?, current_database())",
                      [catalog]).fetchone()
    return Path(row[0]).resolve().parent if row and row[0] else None


def _beside(con: duckdb.DuckDBPyConnection, suffix: str) -> Path | None:
    """`<build database's name><suffix>` in its folder (None in memory)."""
    folder = _folder(con)
    if folder is None:
        return None
    name = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0]
    return folder / f"{Path(name).stem}{suffix}"


def store(con: duckdb.DuckDBPyConnection) -> str:
    """Where new segments go: FOIL_SEGMENTS_DIR, else `<build database>.segments` beside the build database.

    One store per build database: `clean` removes what its catalog does not record."""
    configured = os.environ.get(storage.SEGMENTS_ENV)
    if configured:
        return configured.rstrip("/") if storage.is_remote(configured) else str(Path(configured).resolve())
    local = _beside(con, ".segments")
    if local is None:
        raise ValueError(f"an in-memory database has no place for event-log segments: set {storage.SEGMENTS_ENV}")
    return str(local)


def _readable(con: duckdb.DuckDBPyConnection, paths: list[str]) -> list[str]:
    """What DuckDB reads for these segments: a segment in object storage through its local copy
    (storage.local_copy), a local one where it is. In memory there is no cache: remote paths stay."""
    cache = _beside(con, ".segments-cache") if any(storage.is_remote(p) for p in paths) else None
    if cache is None:
        return paths
    return [storage.local_copy(p, cache) if storage.is_remote(p) else p for p in paths]


def _resolved(folder: Path | None, path: str) -> str:
    return path if storage.is_remote(path) or os.path.isabs(path) or folder is None else str(folder / path)


def segments(con: duckdb.DuckDBPyConnection, release_id: str | None = None, catalog: str | None = None) -> list[str]:
    """Paths of the recorded segments (of one release), resolved."""
    where, params = ("where release_id = ?", [release_id]) if release_id is not None else ("", [])
    table = f"{catalog}.{SEGMENTS}" if catalog else SEGMENTS
    folder = _folder(con, catalog)
    return [_resolved(folder, r[0]) for r in con.execute(f"select path from {table} {where} order by path", params).fetchall()]


def relation(paths: list[str]) -> str:
    """A subquery of the events in these segments (the log's columns, in order)."""
    if not paths:
        return f"({EMPTY})"
    files = ", ".join(sql_str(p) for p in paths)
    return f"(select {NAMES} from read_parquet([{files}]))"


def of_release(con: duckdb.DuckDBPyConnection, release_id: str) -> str:
    """The events of one release, reading only its own segments (the view would open every segment)."""
    return relation(_readable(con, segments(con, release_id)))


def refresh_view(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create or replace view {TABLE} as select * from {relation(_readable(con, segments(con)))}")


def copy_catalog(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Make this database's log the log of the attached database `source` (an as-of build): its catalog
    and view, not its events, which stay in their segments. Returns the number of events."""
    ensure_schema(con)
    folder = _folder(con, source)
    rows = con.execute(f"select * from {source}.{SEGMENTS}").fetchall()
    con.begin()
    try:
        con.execute(f"delete from {SEGMENTS}")
        _record(con, [(_resolved(folder, path), *rest) for path, *rest in rows])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return con.execute(f"select count(*) from {TABLE}").fetchone()[0]


def clean(con: duckdb.DuckDBPyConnection, release_id: str) -> int:
    """Remove the release's segment files that its catalog does not record (written by a build killed
    before it recorded them) and unfinished temporary files; returns how many were removed."""
    root = store(con)
    fs, folder = storage.filesystem(root), storage.join(root, release_id)
    storage.refresh(root)
    try:
        names = fs.ls(folder, detail=False)
    except FileNotFoundError:
        return 0
    recorded = {p.rsplit("/", 1)[-1] for p in segments(con, release_id) if p.startswith(folder + "/")}
    orphans = [n for n in names if n.rsplit("/", 1)[-1] not in recorded and n.endswith(SEGMENT_SUFFIX)]
    for name in orphans:
        fs.rm(name)
    return len(orphans)


def _write_segments(con: duckdb.DuckDBPyConnection, select: str, release_id: str) -> list[tuple]:
    """Write the rows of `select` (the log's columns, one release) as segments, one per parser and version;
    returns their catalog rows, not yet recorded."""
    root = store(con)
    remote = storage.is_remote(root)
    folder = storage.join(root, release_id)
    # written where it stays: the store's folder, or for a remote store the local cache (this machine then
    # reads its own segments without downloading them)
    cache = _beside(con, ".segments-cache") if remote else None
    here = Path(folder) if not remote else storage.cache_path(folder, cache) if cache is not None else None
    if here is not None:
        here.mkdir(parents=True, exist_ok=True)
    written, now = [], dt.datetime.now(dt.timezone.utc)
    for parser, version in con.execute(f"select distinct parser, parser_version from ({select}) order by all").fetchall():
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=SEGMENT_SUFFIX, dir=here)
        os.close(fd)
        try:
            rows = con.execute(
                f"""copy (select * from ({select}) where parser = {sql_str(parser)} and parser_version = {sql_str(version)})
                    to {sql_str(tmp)} (format parquet, compression zstd, row_group_size {ROW_GROUP_ROWS})""").fetchone()[0]
            if not rows:
                continue
            with open(tmp, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256")
            size = os.path.getsize(tmp)
            path = storage.join(folder, digest.hexdigest() + SEGMENT_SUFFIX)
            if remote:
                storage.filesystem(root).put_file(tmp, path)
                if cache is not None:
                    os.replace(tmp, storage.cache_path(path, cache))
            else:
                os.replace(tmp, path)
            written.append((path, release_id, parser, version, rows, size, now))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return written


def _record(con: duckdb.DuckDBPyConnection, written: list[tuple]) -> None:
    """Record written segments and show them in `raw.events`, together (call inside a transaction)."""
    folder = _folder(con)
    if written:
        def stored(path: str) -> str:
            inside = folder is not None and not storage.is_remote(path) and Path(path).is_relative_to(folder)
            return Path(path).relative_to(folder).as_posix() if inside else path
        con.executemany(f"insert into {SEGMENTS} values (?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
                        [(stored(path), *rest) for path, *rest in written])
    refresh_view(con)


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """A log kept in the table raw.events: its events into segments, then the table gives way to the view."""
    written = []
    for (release_id,) in con.execute(f"select distinct release_id from {TABLE} order by 1").fetchall():
        written += _write_segments(con, f"select {NAMES} from {TABLE} where release_id = {sql_str(release_id)}", release_id)
    con.begin()
    try:
        con.execute(f"drop table {TABLE}")
        _record(con, written)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def single(event_type: str, payload: dict, occurred_at=None) -> pa.Table:
    """A batch of one event (a release's or a file's own record, a withdrawal)."""
    return batch_table({"event_type": [event_type], "occurred_at": [occurred_at], "source_offset": [None],
                        "source_row": [None], "source_bates": [None], "payload": [canonical_json(payload)]})


def tag(batch: pa.Table, *, release_id: str, source_path: str, source_sha256: str | None, parser: str,
        parser_version: str) -> pa.Table:
    """A reader batch (readers.BATCH_SCHEMA) with its event ids and source columns, ready for `insert`."""
    rows = TaggedRows(release_id)
    rows.add(batch, source_path, source_sha256, parser, parser_version)
    return rows.table()


class TaggedRows:
    """Reader batches and single events of many files with their event ids and source columns, as one
    table in the order they were added (`tag` of each, concatenated).

    Tagged batches of many files are written in one statement (a release of 100,000 small files costs a
    few inserts, not 100,000). The ingest's workers gather a group of small files here and hand the parent
    one table per group: ids are hashed and the table is built once per group, since Arrow calls per
    file would cost more than the file's own rows."""

    def __init__(self, release_id: str):
        self.release_id = release_id
        self.rows = 0
        self._batches: list[pa.Table] = []
        self._singles: dict[str, list] = {name: [] for name in ("event_type", "payload")}
        self._sources: dict[bool, dict[str, list]] = {single: {name: [] for name in TAG_COLUMNS[1:]} for single in (False, True)}
        self._runs: list[tuple[bool, int]] = []  # (single events?, rows): the order rows were added in

    def add(self, batch: pa.Table, source_path: str, source_sha256: str | None, parser: str, parser_version: str) -> None:
        """A reader batch (readers.BATCH_SCHEMA) of one file."""
        self._batches.append(batch)
        self._source(False, batch.num_rows, source_path, source_sha256, parser, parser_version)

    def add_single(self, event_type: str, payload: dict, source_path: str, source_sha256: str | None, parser: str,
                   parser_version: str) -> None:
        """One event (what `single` makes), without a table of its own."""
        self._singles["event_type"].append(event_type)
        self._singles["payload"].append(canonical_json(payload))
        self._source(True, 1, source_path, source_sha256, parser, parser_version)

    def _source(self, single: bool, n: int, *values) -> None:
        for column, value in zip(self._sources[single].values(), values):
            column += [value] * n
        if self._runs and self._runs[-1][0] == single:
            self._runs[-1] = (single, self._runs[-1][1] + n)
        else:
            self._runs.append((single, n))
        self.rows += n

    def table(self) -> pa.Table | None:
        """Every row added, in order (TAGGED_SCHEMA); None if there are none."""
        parts = []
        if self._batches:
            batches = pa.concat_tables(self._batches) if len(self._batches) > 1 else self._batches[0]
            parts.append(self._tagged(batches, False, [batches.column(n).to_pylist() for n in ID_COLUMNS]))
        if self._singles["payload"]:
            n = len(self._singles["payload"])
            nothing = [None] * n
            columns = {"event_type": self._singles["event_type"], "occurred_at": nothing, "source_offset": nothing,
                       "source_row": nothing, "source_bates": nothing, "payload": self._singles["payload"]}
            parts.append(self._tagged(batch_table(columns), True, [columns[name] for name in ID_COLUMNS]))
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0].combine_chunks()  # one buffer per column: cheap to send from a worker and to scan
        return pa.concat_tables(parts).take(self._order())

    def _tagged(self, batch: pa.Table, single: bool, id_columns: list[list]) -> pa.Table:
        sources = self._sources[single]
        ids = _ids(self.release_id, *sources.values(), *id_columns)
        batch = batch.append_column("event_id", array(ids, pa.string()))
        for name, values in sources.items():
            batch = batch.append_column(name, array(values, pa.string()))
        return batch

    def _order(self) -> pa.Array:
        """Row positions in concat(batches, singles) in the order the rows were added."""
        order, at = [], {False: 0, True: sum(n for single, n in self._runs if not single)}
        for single, n in self._runs:
            order.extend(range(at[single], at[single] + n))
            at[single] += n
        return array(order, pa.int64())


def write(con: duckdb.DuckDBPyConnection, parts: list[tuple[pa.Table, bool]], *, release_id: str,
          recorded_at) -> int:
    """Write tagged batches of one release as segments and record them in one transaction; returns the
    number of new events. Nothing is recorded if anything fails (a segment written by then is an orphan).

    Each part says whether its rows need the duplicate probe: only rows of files that already have events
    from the same reader version (a read an interrupt cut short). A file never read before has nothing to
    collide with, and skipping the probe keeps its cost flat however large the log grows."""
    parts = [(table, dedupe) for table, dedupe in parts if table is not None and table.num_rows]
    if not parts:
        return 0
    probing = any(dedupe for _, dedupe in parts)
    if probing:
        parts = [(t.append_column("probe", pa.array([d] * t.num_rows, pa.bool_())), d) for t, d in parts]
    table = pa.concat_tables([t for t, _ in parts]) if len(parts) > 1 else parts[0][0]
    ids = table.column("event_id").to_pylist()
    if len(set(ids)) < len(ids):  # rare (the same observation twice in one group): keep each id's first row
        first = {}
        for i, event_id in enumerate(ids):
            first.setdefault(event_id, i)
        table = table.take(list(first.values()))
    # ids hash the source path, so only the same file's earlier events can collide
    existing = segments(con, release_id) if probing else []
    probe = f"""where not i.probe or not exists (select 1 from {relation(existing)} e
                                                 where e.source_path = i.source_path and e.event_id = i.event_id)"""
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    select = f"""
        select event_id, {sql_str(release_id)}::varchar as release_id, event_type, occurred_at,
               {sql_str(str(recorded_at))}::date as recorded_at, source_path, source_sha256, source_offset, source_row,
               source_bates, parser, parser_version, payload::json as payload, {sql_str(now)}::timestamptz as ingested_at
        from _batch i {probe if existing else ""}"""
    con.register("_batch", table)
    try:
        written = _write_segments(con, select, release_id)
    finally:
        con.unregister("_batch")
    con.begin()
    try:
        _record(con, written)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return sum(row[4] for row in written)


def append(con: duckdb.DuckDBPyConnection, batch: pa.Table, *, release_id: str, recorded_at, source_path: str,
           source_sha256: str | None, parser: str, parser_version: str, dedupe: bool = True) -> int:
    """Append one reader batch of one file; returns the number of new events."""
    tagged = tag(batch, release_id=release_id, source_path=source_path, source_sha256=source_sha256, parser=parser,
                 parser_version=parser_version)
    return write(con, [(tagged, dedupe)], release_id=release_id, recorded_at=recorded_at)
