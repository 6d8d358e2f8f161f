"""JSON Lines record dumps (account rosters, search logs, usage reports): one JSON object per line.

The kind is recognised from the keys, as for CSV (`record_csv.KINDS`). Each object becomes one event
whose payload is the object with every value as a string (nested values JSON-encoded); `source_row`
is the 1-based line number. The file is streamed in blocks of whole lines (BLOCK_BYTES), so a
multi-gigabyte dump never sits in memory. A clean block is read by polars in one go; only when polars
refuses it (a bad line, blank lines, clashing nested types) is the block split into lines to find the
bad ones, each of which becomes an `item_quarantined` event {index: line number, reason}. The record
kind is set by the first block; a later block whose keys name another kind makes the file unreadable.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Iterator

import polars as pl
import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, to_batches
from .record_csv import RecordKind, arrow_batches, kind_for, normalise_column, record_events

BLANK_LINE = re.compile(rb"(?:^|\n)[ \t\r]*(?:\n|$)")
BLOCK_BYTES = 32 << 20


def _line_blocks(path: Path, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(number of the block's first line, block) for successive blocks that end at a line break."""
    first_line, carry = 1, b""
    with path.open("rb") as fh:
        while chunk := fh.read(block_bytes):
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # one line longer than a block: keep reading it
                carry = data
                continue
            block, carry = data[:cut], data[cut:]
            yield first_line, block
            first_line += block.count(b"\n")
    if carry:
        yield first_line, carry


def _as_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class RecordJsonlReader(Reader):
    name = "record_jsonl"
    version = "1"
    media_type = "application/x-ndjson"

    sniffed = frozenset({"jsonl"})  # a pretty-printed .json is not taken; a .jsonl whose first line is long is
    extensions = frozenset({".jsonl", ".ndjson"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        kind, first_bad = None, None
        for first_line, data in _line_blocks(path, BLOCK_BYTES):
            if first_line == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            data = data.rstrip()  # trailing blank lines are not items
            if not data:
                continue
            frame = None if BLANK_LINE.search(data) else self._read_clean(data)
            if frame is not None:
                numbers, bad = pl.int_range(first_line, first_line + pl.len()), []
            else:
                frame, line_numbers, bad = self._read_line_by_line(data, first_line)
                numbers = pl.lit(pl.Series(line_numbers, dtype=pl.Int64))
            first_bad = first_bad or (bad[0] if bad else None)
            stats.expected_items += frame.height + len(bad)
            stats.quarantined_items += len(bad)
            if bad:
                yield from to_batches(Observation("item_quarantined", {"index": n, "reason": r}, row=n) for n, r in bad)
            if frame.height == 0:
                continue
            if frame.width == 0:
                raise UnreadableFile("no keys: every line is an empty JSON object" if first_line == 1
                                     else f"no keys: the lines from line {first_line} are empty JSON objects")
            block_kind = self._kind(frame)
            if kind is not None and block_kind is not kind:
                raise UnreadableFile(f"line {first_line} on holds {block_kind.event_type} records, "
                                     f"the lines before {kind.event_type} records")
            kind = block_kind
            events = record_events(frame, kind, row=numbers)
            stats.extracted_items += events.height
            yield from arrow_batches(events)
        if stats.expected_items == 0:
            raise UnreadableFile("empty file")
        if stats.extracted_items == 0:
            number, reason = first_bad
            raise UnreadableFile(f"not JSON lines: no line is a JSON object (line {number}: {reason})")

    @staticmethod
    def _kind(frame: pl.DataFrame) -> RecordKind:
        kind = kind_for(frame.columns)
        if kind is None:
            raise UnreadableFile(f"no known record kind for keys: {', '.join(sorted(frame.columns)[:20])}")
        return kind

    @staticmethod
    def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
        names = {c: normalise_column(c) for c in frame.columns}
        return frame.rename(names) if len(set(names.values())) == len(names) else frame

    def _read_clean(self, data: bytes) -> pl.DataFrame | None:
        """The whole file through polars, every value read as a string; None if polars refuses it."""
        try:
            keys = pl.scan_ndjson(io.BytesIO(data), infer_schema_length=None).collect_schema().names()
            frame = pl.read_ndjson(io.BytesIO(data), schema={k: pl.String for k in keys})
        except Exception:  # polars raises several error types for bad input; the slow path says why
            return None
        if frame.height != data.count(b"\n") + 1:
            return None
        return self._normalise(frame)

    def _read_line_by_line(self, data: bytes, first_line: int) -> tuple[pl.DataFrame, list[int], list[tuple[int, str]]]:
        """Fallback: parse each line to find the bad ones; good objects go to a frame of strings."""
        objects, line_numbers, bad = [], [], []
        for number, line in enumerate(data.split(b"\n"), first_line):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (ValueError, UnicodeDecodeError) as exc:
                bad.append((number, f"invalid JSON: {exc}"))
                continue
            if not isinstance(obj, dict):
                bad.append((number, f"not a JSON object: {type(obj).__name__}"))
                continue
            objects.append(obj)
            line_numbers.append(number)
        keys = list(dict.fromkeys(k for obj in objects for k in obj))
        frame = pl.DataFrame({k: [_as_text(obj.get(k)) for obj in objects] for k in keys},
                             schema={k: pl.String for k in keys})
        return self._normalise(frame), line_numbers, bad
