"""Excel workbooks (.xlsx) of record dumps: every sheet whose header row names a known kind is read.

Read with polars (`pl.read_excel`, calamine engine via `fastexcel`), every cell as a string. Each sheet is
matched against `record_csv.KINDS` like a CSV header; its rows become events of that kind whose payload
is the row as strings plus `sheet` (the sheet name); `source_row` is the 1-based row below the header.
Sheets of no known kind (cover notes, pivots, empty sheets) are listed in `stats.extra["ignored_sheets"]`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import polars as pl
import pyarrow as pa

from .base import FileStats, Reader, UnreadableFile
from .record_csv import arrow_batches, kind_for, normalise_column, record_events

class RecordXlsxReader(Reader):
    name = "record_xlsx"
    version = "1"
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    sniffed = frozenset({"xlsx"})  # a zip with [Content_Types].xml and xl/
    extensions = frozenset({".xlsx", ".xlsm"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        if path.stat().st_size == 0:
            raise UnreadableFile("empty file")
        try:
            sheets = pl.read_excel(path, sheet_id=0, engine="calamine", infer_schema_length=0,
                                   drop_empty_rows=False, drop_empty_cols=False, raise_if_empty=False)
        except Exception as exc:  # calamine/fastexcel raise their own error types for a broken workbook
            raise UnreadableFile(f"unreadable XLSX: {type(exc).__name__}: {str(exc)[:300]}") from None
        matched, ignored = [], []
        for sheet, frame in sheets.items():
            kind = kind_for(frame.columns)
            names = {c: normalise_column(c) for c in frame.columns}
            if kind is None or len(set(names.values())) != len(names):
                ignored.append(sheet)
                continue
            frame = frame.rename(names).with_columns(pl.all().cast(pl.String))
            frame = frame.with_row_index("__row", offset=1).filter(~pl.all_horizontal(pl.exclude("__row").is_null()))
            matched.append((sheet, kind, frame))
        stats.extra["ignored_sheets"] = ignored
        if not matched:
            listed = ", ".join(repr(s) for s in sheets) or "none"
            raise UnreadableFile(f"no sheet with a known header: sheets {listed}")
        stats.expected_items = sum(frame.height for _, _, frame in matched)
        for sheet, kind, frame in matched:
            if frame.height == 0:
                continue
            events = record_events(frame.drop("__row"), kind, row=frame["__row"], extra={"sheet": sheet})
            stats.extracted_items += events.height
            yield from arrow_batches(events)
