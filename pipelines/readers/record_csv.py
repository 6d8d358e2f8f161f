"""CSV record dumps (account rosters, search logs), read with polars and emitted as Arrow batches.

The kind of dump is recognised from its header; every row becomes one event whose payload is the row
as strings (typing and interpretation happen in dbt). Rows are never built one by one in Python.
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Iterator

import polars as pl
import pyarrow as pa

from .base import BATCH_ROWS, BATCH_SCHEMA, FileStats, Reader, UnreadableFile


# ISO 8601 variants seen in vendor exports; zone-less values are taken as UTC.
_ZONED = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%#z", "%Y-%m-%d %H:%M:%S%#z")
_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def iso_timestamp(column: str) -> pl.Expr:
    col = pl.col(column).str.strip_chars()
    zoned = [col.str.to_datetime(f, strict=False, time_unit="us").dt.convert_time_zone("UTC") for f in _ZONED]
    naive = [col.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC") for f in _NAIVE]
    return pl.coalesce(zoned + naive)


def _header(head: bytes) -> set[str]:
    first = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    return {c.strip().strip('"').lower() for c in first.split(",")}


class _RecordCsvReader(Reader):
    media_type = "text/csv"
    event_type: ClassVar[str]
    required: ClassVar[frozenset[str]]
    time_column: ClassVar[str]

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() == ".csv" and self.required <= _header(head)

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        try:
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
        except (pl.exceptions.PolarsError, UnicodeError) as exc:
            raise UnreadableFile(f"unreadable CSV: {exc}") from None
        frame = frame.rename({c: c.strip().lower() for c in frame.columns})
        stats.expected_items = frame.height
        if frame.height == 0:
            return
        events = frame.with_row_index("source_row", offset=1).select(
            pl.lit(self.event_type).alias("event_type"),
            iso_timestamp(self.time_column).alias("occurred_at"),
            pl.lit(None, dtype=pl.Int64).alias("source_offset"),
            pl.col("source_row").cast(pl.Int64),
            pl.lit(None, dtype=pl.String).alias("source_bates"),
            pl.struct(frame.columns).struct.json_encode().alias("payload"),
        )
        stats.extracted_items = events.height
        for start in range(0, events.height, BATCH_ROWS):
            yield events.slice(start, BATCH_ROWS).to_arrow().cast(BATCH_SCHEMA)


class AccountRosterCsvReader(_RecordCsvReader):
    name = "account_roster_csv"
    version = "1"
    event_type = "roster_row"
    required = frozenset({"account_ref", "holder_email", "created_at"})
    time_column = "created_at"


class SearchLogCsvReader(_RecordCsvReader):
    name = "search_log_csv"
    version = "1"
    event_type = "search_log_row"
    required = frozenset({"account_ref", "searched_at"})
    time_column = "searched_at"
