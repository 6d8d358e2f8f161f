"""The append-only event log (`raw.events` in the build database).

Event ids are sha256 over everything that identifies an observation — release, type, source pointer,
parser name/version and the canonical payload — computed inside DuckDB over whole Arrow batches.
Appending the same observation twice is a no-op, so re-ingesting a release appends nothing.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa

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

_EVENT_ID = """sha256(concat_ws('|', release_id, event_type, source_path, coalesce(source_sha256, ''),
    coalesce(source_offset::varchar, ''), coalesce(source_row::varchar, ''), coalesce(source_bates, ''),
    parser, parser_version, payload))"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def append(
    con: duckdb.DuckDBPyConnection,
    batch: pa.Table,
    *,
    release_id: str,
    recorded_at,
    source_path: str,
    source_sha256: str | None,
    parser: str,
    parser_version: str,
    dedupe: bool = True,
) -> int:
    """Append one reader batch (readers.BATCH_SCHEMA); returns the number of new events.

    `dedupe=False` skips probing the log for ids already there: only for a file that has no events
    from this reader version yet (the probe's hash table would otherwise grow with the file)."""
    con.register("_batch", batch)
    try:
        inserted = con.execute(
            f"""
            insert into {TABLE}
            with staged as (
                select ?::varchar as release_id, event_type, occurred_at, ?::date as recorded_at,
                       ?::varchar as source_path, ?::varchar as source_sha256, source_offset, source_row,
                       source_bates, ?::varchar as parser, ?::varchar as parser_version, payload
                from _batch
            ),
            identified as (
                select {_EVENT_ID} as event_id, * from staged
                qualify row_number() over (partition by event_id) = 1
            )
            select event_id, release_id, event_type, occurred_at, recorded_at, source_path, source_sha256,
                   source_offset, source_row, source_bates, parser, parser_version, payload::json,
                   now() as ingested_at
            from identified i
            -- ids hash the source path, so only this file's earlier events can collide: probing just
            -- those keeps the check cheap however large the log grows
            where not ? or not exists (
                select 1 from {TABLE} e
                where e.release_id = ? and e.source_path = ? and e.event_id = i.event_id
            )
            """,
            [release_id, recorded_at, source_path, source_sha256, parser, parser_version, dedupe, release_id, source_path],
        ).fetchone()
        return int(inserted[0]) if inserted else 0
    finally:
        con.unregister("_batch")
