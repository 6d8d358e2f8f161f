"""The append-only event log (`raw.events` in the build database).

Event ids are sha256 over everything that identifies an observation — release, type, source pointer,
parser name/version and the canonical payload — computed per Arrow batch before it is inserted.
Appending the same observation twice is a no-op, so re-ingesting a release appends nothing.
"""
from __future__ import annotations

from hashlib import sha256
from itertools import repeat
from typing import Iterable

import duckdb
import pyarrow as pa

from pipelines.readers.base import BATCH_SCHEMA, batch_table, canonical_json
from pipelines.readers.columns import array

SCHEMA = "raw"
TABLE = f"{SCHEMA}.events"
TAG_COLUMNS = ("event_id", "source_path", "source_sha256", "parser", "parser_version")  # what `tag` adds to a batch
TAGGED_SCHEMA = pa.schema([*BATCH_SCHEMA, *(pa.field(name, pa.string()) for name in TAG_COLUMNS)])

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {TABLE} (
    event_id        varchar not null,
    release_id      varchar not null,
    event_type      varchar not null,
    occurred_at     timestamptz,
    recorded_at     date not null,
    source_path     varchar not null,
    source_sha256   varchar,
    source_offset   bigint,
    source_row      bigint,
    source_bates    varchar,
    parser          varchar not null,
    parser_version  varchar not null,
    payload         json not null,
    ingested_at     timestamptz not null
);
"""


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
    con.execute(DDL)


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


def insert(con: duckdb.DuckDBPyConnection, tables: list[pa.Table], *, release_id: str, recorded_at,
           dedupe: bool) -> int:
    """Insert tagged batches of one release; returns the number of new events.

    `dedupe` probes the log for ids already there: needed only for files that already have events from
    the same reader version (a read that an interrupt cut short). A file never read before has nothing
    to collide with, and skipping the probe keeps its cost flat however large the log grows."""
    if not tables:
        return 0
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    ids = table.column("event_id").to_pylist()
    if len(set(ids)) < len(ids):  # rare (the same observation twice in one file): keep each id's first row
        first = {}
        for i, event_id in enumerate(ids):
            first.setdefault(event_id, i)
        table = table.take(list(first.values()))
    # ids hash the source path, so only the same file's earlier events can collide
    probe = f"""where not exists (select 1 from {TABLE} e
                                  where e.release_id = ? and e.source_path = i.source_path and e.event_id = i.event_id)"""
    con.register("_batch", table)
    try:
        inserted = con.execute(
            f"""
            insert into {TABLE}
            select event_id, ?::varchar, event_type, occurred_at, ?::date, source_path, source_sha256, source_offset,
                   source_row, source_bates, parser, parser_version, payload::json, now()
            from _batch i {probe if dedupe else ""}
            """,
            [release_id, recorded_at] + ([release_id] if dedupe else []),
        ).fetchone()
        return int(inserted[0]) if inserted else 0
    finally:
        try:
            con.unregister("_batch")
        except duckdb.Error:
            pass  # the transaction already failed (e.g. out of memory): that error is the one to report


def append(con: duckdb.DuckDBPyConnection, batch: pa.Table, *, release_id: str, recorded_at, source_path: str,
           source_sha256: str | None, parser: str, parser_version: str, dedupe: bool = True) -> int:
    """Append one reader batch of one file; returns the number of new events."""
    tagged = tag(batch, release_id=release_id, source_path=source_path, source_sha256=source_sha256, parser=parser,
                 parser_version=parser_version)
    return insert(con, [tagged], release_id=release_id, recorded_at=recorded_at, dedupe=dedupe)
