"""CSV record dumps (account rosters, search logs, usage reports), read with polars and emitted as Arrow.

The kind of dump is recognised from its header; every row becomes one event whose payload is the row
as strings (typing and interpretation happen in dbt). Rows are never built one by one in Python.
The kinds (`KINDS`) and the frame -> events step (`record_events`) are shared with the JSONL and XLSX
readers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Iterable, Iterator

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


@dataclass(frozen=True)
class RecordKind:
    """A kind of record dump: recognised when its columns include `required`."""

    name: str
    event_type: str
    required: frozenset[str]
    time_column: str  # becomes occurred_at


ACCOUNT_ROSTER = RecordKind("account_roster", "roster_row", frozenset({"account_ref", "holder_email", "created_at"}), "created_at")
SEARCH_LOG = RecordKind("search_log", "search_log_row", frozenset({"account_ref", "searched_at"}), "searched_at")
USAGE_REPORT = RecordKind("usage_report", "usage_report_row",
                          frozenset({"account_ref", "period_start", "period_end", "searches"}), "period_start")
KINDS = (ACCOUNT_ROSTER, SEARCH_LOG, USAGE_REPORT)  # the first kind whose columns match wins


def normalise_column(name: str) -> str:
    return name.strip().strip('"').lower()


def kind_for(columns: Iterable[str]) -> RecordKind | None:
    names = {normalise_column(c) for c in columns}
    return next((k for k in KINDS if k.required <= names), None)


def record_events(frame: pl.DataFrame, kind: RecordKind, row: pl.Expr, extra: dict[str, str] | None = None) -> pl.DataFrame:
    """String columns (already normalised) -> one event row per record, in BATCH_SCHEMA column order.
    `row` gives source_row; `extra` adds constant payload keys (e.g. the sheet), replacing a column of
    the same name."""
    extra = extra or {}
    payload = [pl.col(c) for c in frame.columns if c not in extra] + [pl.lit(v, dtype=pl.String).alias(k) for k, v in extra.items()]
    return frame.select(
        pl.lit(kind.event_type).alias("event_type"),
        iso_timestamp(kind.time_column).alias("occurred_at"),
        pl.lit(None, dtype=pl.Int64).alias("source_offset"),
        row.cast(pl.Int64).alias("source_row"),
        pl.lit(None, dtype=pl.String).alias("source_bates"),
        pl.struct(payload).struct.json_encode().alias("payload"),
    )


def arrow_batches(events: pl.DataFrame) -> Iterator[pa.Table]:
    for start in range(0, events.height, BATCH_ROWS):
        yield events.slice(start, BATCH_ROWS).to_arrow().cast(BATCH_SCHEMA)


def header_columns(head: bytes) -> set[str]:
    first = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    return {c.strip().strip('"').lower() for c in first.split(",")}


class _RecordCsvReader(Reader):
    media_type = "text/csv"
    sniffed = frozenset({"csv"})
    extensions = frozenset({".csv"})
    kind: ClassVar[RecordKind]

    def accepts(self, path: Path, head: bytes) -> bool:
        return kind_for(header_columns(head)) is self.kind  # roster, search log or usage report: by the header's columns

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        # Streamed in chunks: a multi-gigabyte log never has to fit in memory.
        lazy = pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy")
        rows = 0
        try:
            for chunk in lazy.collect_batches(chunk_size=BATCH_ROWS):
                chunk = chunk.rename({c: c.strip().lower() for c in chunk.columns})
                if chunk.height == 0:
                    continue
                events = record_events(chunk, self.kind, row=pl.int_range(rows + 1, rows + pl.len() + 1))
                rows += chunk.height
                yield from arrow_batches(events)
        except (pl.exceptions.PolarsError, UnicodeError) as exc:
            raise UnreadableFile(f"unreadable CSV: {exc}") from None
        stats.expected_items = stats.extracted_items = rows


class AccountRosterCsvReader(_RecordCsvReader):
    name = "account_roster_csv"
    version = "1"
    kind = ACCOUNT_ROSTER


class SearchLogCsvReader(_RecordCsvReader):
    name = "search_log_csv"
    version = "1"
    kind = SEARCH_LOG


class UsageReportCsvReader(_RecordCsvReader):
    name = "usage_report_csv"
    version = "1"
    kind = USAGE_REPORT
