"""The one small interface every format reader implements.

A reader turns one file into observation rows. It never interprets (that is dbt's job); it only says
what the file contains, where (offset / row / Bates), and what it could not read. Rows are yielded in
bounded batches so memory does not grow with the size of a file.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import pyarrow as pa

from .columns import array

BATCH_ROWS = 5_000

# Columns a reader produces; the ingest adds release and file columns and the event id.
BATCH_SCHEMA = pa.schema(
    [
        ("event_type", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("source_offset", pa.int64()),
        ("source_row", pa.int64()),
        ("source_bates", pa.string()),
        ("payload", pa.string()),
    ]
)


class UnreadableFile(Exception):
    """The whole file cannot be read by this reader; the message becomes the quarantine reason."""


@dataclass
class FileStats:
    """Expected vs extracted counts for one file (a container's completeness accounting)."""

    expected_items: int = 0
    extracted_items: int = 0
    quarantined_items: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Observation:
    event_type: str
    payload: dict[str, Any]
    occurred_at: dt.datetime | None = None
    offset: int | None = None
    row: int | None = None
    bates: str | None = None
    payload_json: str | bytes | None = None  # already canonical (e.g. email payloads: utf8_json), UTF-8 if bytes


def canonical_json(obj: Any) -> str:
    """Stable JSON text: the event id hashes it, so key order must not vary."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def to_batches(observations: Iterator[Observation], size: int = BATCH_ROWS, flush: frozenset[str] = frozenset(),
               dumps: Callable[[Any], str | bytes] = canonical_json) -> Iterator[pa.Table]:
    """Group observations into Arrow tables of at most `size` rows; an observation whose type is in
    `flush` ends its table at once (costly work such as a page's OCR is handed on as soon as it is done).
    `dumps` serialises payloads: canonical_json, or a faster function that writes the same text for the
    payloads the reader makes (email_message.utf8_json for messages)."""
    cols: dict[str, list] = {name: [] for name in BATCH_SCHEMA.names}
    for obs in observations:
        cols["event_type"].append(obs.event_type)
        cols["occurred_at"].append(obs.occurred_at)
        cols["source_offset"].append(obs.offset)
        cols["source_row"].append(obs.row)
        cols["source_bates"].append(obs.bates)
        cols["payload"].append(obs.payload_json if obs.payload_json is not None else dumps(obs.payload))
        if len(cols["event_type"]) >= size or obs.event_type in flush:
            yield batch_table(cols)
            cols = {name: [] for name in BATCH_SCHEMA.names}
    if cols["event_type"]:
        yield batch_table(cols)


def batch_table(cols: dict[str, list]) -> pa.Table:
    """BATCH_SCHEMA columns (Python lists) -> one Arrow table."""
    return pa.Table.from_arrays([array(cols[f.name], f.type) for f in BATCH_SCHEMA], schema=BATCH_SCHEMA)


def rebatch(tables: Iterator[pa.Table], size: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """Regroup tables (BATCH_SCHEMA) into tables of `size` rows, the last one shorter: the same
    batches to_batches would cut from the same rows (slices share the buffers, nothing is copied)."""
    held, rows = [], 0
    for table in tables:
        while table.num_rows:
            take = min(size - rows, table.num_rows)
            held.append(table.slice(0, take))
            table, rows = table.slice(take), rows + take
            if rows == size:
                yield pa.concat_tables(held)
                held, rows = [], 0
    if held:
        yield pa.concat_tables(held)


_CONTENT: ContextVar[tuple[Path, bytes] | None] = ContextVar("foil_file_content", default=None)


@contextlib.contextmanager
def content(path: Path, data: bytes | None) -> Iterator[None]:
    """Within the block, read_bytes(path) returns `data`: the bytes the ingest read (safely) and hashed,
    so a small file is opened once and what a reader parses is what its source_sha256 names."""
    if data is None:
        yield
        return
    token = _CONTENT.set((path, data))
    try:
        yield
    finally:
        _CONTENT.reset(token)


def read_bytes(path: Path) -> bytes:
    """A reader's whole-file read: the bytes the ingest handed over for this path, else read now."""
    held = _CONTENT.get()
    if held is not None and (held[0] is path or held[0] == path):
        return held[1]
    return path.read_bytes()


class Reader:
    """Base class: subclasses set name/version/media_type, say what they take, and implement batches().

    What a reader takes is declared, not coded: `sniffed` names the content types of readers/sniff.py it
    reads (`sniffed = frozenset({"pst"})`), `extensions` the names such files usually have
    (`extensions = frozenset({".pst", ".ost"})`).
    `reader_for` picks by content; the extension only breaks ties, and decides when the content was only
    guessed (plain text, text that might be CSV, unrecognised bytes). Override accepts() only to refine
    the choice by content (the CSV readers look at the header's columns). A reader that declares no
    `sniffed` is asked the old way, by its own accepts() alone, after the content-chosen readers.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    media_type: ClassVar[str]
    sniffed: ClassVar[frozenset[str] | set[str]] = frozenset()
    extensions: ClassVar[frozenset[str] | set[str]] = frozenset()
    # True for readers that OCR pages (readers/ocr.py): the ingest writes their events as they come and
    # hands them the pages the log already holds
    ocr_pages: ClassVar[bool] = False
    # True for readers that open other files of the release (load files citing their text files): the
    # ingest reads these files in the build process, where the whole release folder is at hand
    reads_other_files: ClassVar[bool] = False

    def accepts(self, path: Path, head: bytes) -> bool:
        """Refine the choice once the sniffed type matched (default: take it)."""
        return True

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:  # pragma: no cover - interface
        """Yield Arrow batches (BATCH_SCHEMA); update stats; raise UnreadableFile for a whole-file failure."""
        raise NotImplementedError
