"""The append-only event log (`raw.events` in the build database).

Event ids are sha256 over everything that identifies an observation — release, type, source pointer,
parser name/version and the canonical payload — computed per Arrow batch before it is inserted.
Appending the same observation twice is a no-op, so re-ingesting a release appends nothing.
"""
from __future__ import annotations

from hashlib import sha256

import duckdb
import pyarrow as pa

from pipelines.readers.base import batch_table, canonical_json
from pipelines.readers.columns import array

SCHEMA = "raw"
TABLE = f"{SCHEMA}.events"

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
    head, sha = f"{release_id}|", source_sha256 or ""
    columns = (batch.column(n).to_pylist() for n in ("event_type", "source_offset", "source_row", "source_bates", "payload"))
    ids = []
    for event_type, offset, row, bates, payload in zip(*columns):
        offset = "" if offset is None else offset
        row = "" if row is None else row
        if event_type is None or payload is None:
            parts = (release_id, event_type, source_path, sha, str(offset), str(row), bates or "", parser, parser_version, payload)
            text = "|".join(p for p in parts if p is not None)
        else:
            text = f"{head}{event_type}|{source_path}|{sha}|{offset}|{row}|{bates or ''}|{parser}|{parser_version}|{payload}"
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
    """A reader batch (readers.BATCH_SCHEMA) with its event ids and source columns, ready for `insert`.

    Tagged batches of many files can then be written in one statement (a release of 100,000 small
    files costs a few inserts, not 100,000)."""
    n = batch.num_rows
    ids = event_ids(batch, release_id, source_path, source_sha256, parser, parser_version)
    return (batch.append_column("event_id", array(ids, pa.string()))
            .append_column("source_path", pa.array([source_path] * n, pa.string()))
            .append_column("source_sha256", pa.array([source_sha256] * n, pa.string()))
            .append_column("parser", pa.array([parser] * n, pa.string()))
            .append_column("parser_version", pa.array([parser_version] * n, pa.string())))


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
