-- Empty raw.events with the documented columns (same DDL as pipelines/lib/event_log.py), so that
-- `dbt parse`, `dbt run --empty` and unit tests work before any ingestion has run:
--   duckdb /tmp/empty.duckdb < scripts/create_empty_events.sql   (or via python, see README)
create schema if not exists raw;
create table if not exists raw.events (
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
