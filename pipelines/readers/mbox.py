"""`.mbox` (mboxo and mboxrd): many messages in one file, split by scanning bytes.

The file is memory-mapped and scanned for line-initial `From ` separators (real From_ lines
only, see FROM_LINE), so memory stays flat however large the mailbox is. Each separator counts as one expected message; a message that cannot be parsed is
quarantined as an item with its byte offset instead of being lost. Large mailboxes are parsed by the
workers of the build's Dask cluster (lib/cluster.py), a range of messages per task whose bytes the task
carries, in order, so the events are the same as a sequential read.
"""
from __future__ import annotations

import contextlib
import mmap
import os
import re
from collections import deque
from itertools import chain, islice
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, batch_table, rebatch, to_batches
from .email_message import may_carry_messages, message_observation, message_observations, utf8_json
from pipelines.lib import cluster as dask_cluster


RELEASE_BYTES = 16 << 20
PARALLEL_MIN = int(os.environ.get("FOIL_MBOX_PARALLEL_MIN", "20000"))  # messages; below this one process is faster
CHUNK = 2000  # messages per task
AHEAD = 4  # tasks in flight per worker: they keep parsing while the parent commits (~1 s per 100k rows)
# mboxrd escapes every '>*From ' body line with one more '>'; undoing that also undoes mboxo's escape.
ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


# A line-initial 'From ' separates messages only when the line looks like a real From_ line: 'From ', a
# sender (any, MAILER-DAEMON, '-', empty), then a date: asctime ('Mon Oct  1 10:00:00 2018', a zone or
# offset before the year allowed, words after it too) or RFC 2822 style ('Sat, 20 Nov 2004 10:00:00 -0500').
# Day names are optional, days take 1-2 digits, seconds are optional. Any other 'From ' line (mboxo does not
# escape body lines such as 'From time to time') is part of the message body. Every repetition is bounded,
# so whether a separator is accepted depends only on the SCAN_MARGIN bytes after it, never on how the scan
# is chunked; the sequential and parallel reads share this one scan.
_DATE = (rb"(?:[A-Za-z]{3},?[ \t]{1,8})?(?:"
         rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[ \t]{1,8}\d\d?[ \t]{1,8}\d\d?:\d\d(?::\d\d)?"
         rb"[ \t][^\n]{0,64}?\d{4}"
         rb"|\d\d?[ \t]{1,8}(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[ \t]{1,8}\d{4}[ \t]{1,8}\d\d?:\d\d)")
FROM_LINE = re.compile(rb"From [ \t]{0,8}\S{0,512}[ \t]{1,8}" + _DATE)
# one compiled pattern finds the separators: sre's literal-prefix search for '\nFrom ' is as fast as
# bytes.find, and the lookahead validates each candidate without a Python call per message
_SEPARATOR_LINE = re.compile(rb"\n(?=" + FROM_LINE.pattern + rb")")
SCAN_MARGIN = 2048  # > the longest text FROM_LINE can look at


def is_from_line(line: bytes) -> bool:
    """Whether `line` (starting with 'From ') is a real mbox From_ separator line."""
    return FROM_LINE.match(line) is not None


def split_offsets(mm: mmap.mmap | bytes) -> list[int]:
    """Byte offsets of each message's `From ` line (scanned pages are released as the scan goes)."""
    return list(_scan(mm))


def _scan(mm: mmap.mmap | bytes) -> Iterator[int]:
    # The first line is taken as the first separator whenever it starts with 'From ' (batches refuses files
    # that do not), so no bytes are ever left out of a message.
    if mm[:5] == b"From ":
        yield 0
    size, pos, released = len(mm), 0, 0
    while pos < size:
        end = min(pos + RELEASE_BYTES, size)
        # separators starting in [pos, end), each judged on the same bytes whatever the chunk; the list is
        # complete before it is yielded, so no buffer of the mmap stays exported while the caller holds it
        found = [m.start() + 1 for m in _SEPARATOR_LINE.finditer(mm, pos, min(end + SCAN_MARGIN, size)) if m.start() < end]
        yield from found
        if isinstance(mm, mmap.mmap) and end < size:
            upto = end - end % mmap.PAGESIZE  # pages already scanned are released as the scan goes
            mm.madvise(mmap.MADV_DONTNEED, released, upto - released)
            released = upto
        pos = end
    if isinstance(mm, mmap.mmap):
        mm.madvise(mmap.MADV_DONTNEED)


class _Offsets:
    """Message offsets found as the tasks need them, so workers start before the scan ends (about
    1.4 s per million messages); `count()` finishes the scan, keeping the offsets not used yet."""

    def __init__(self, mm: mmap.mmap):
        self.found, self._ahead, self._scan = 0, deque(), self._counted(mm)

    def _counted(self, mm: mmap.mmap) -> Iterator[int]:
        for offset in _scan(mm):
            self.found += 1
            yield offset

    def __iter__(self):
        return self

    def __next__(self) -> int:
        return self._ahead.popleft() if self._ahead else next(self._scan)

    def count(self) -> int:
        self._ahead.extend(self._scan)
        return self.found


class MboxReader(Reader):
    name = "mbox"
    version = "4"
    media_type = "application/mbox"

    sniffed = frozenset({"mbox"})  # a 'From ' line then headers, whatever the name (.txt, no extension)
    extensions = frozenset({".mbox", ".mbx"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        if path.stat().st_size == 0:
            raise UnreadableFile("empty file")
        with path.open("rb") as fh, _mapped(fh) as mm:
            if mm[:5] != b"From ":
                raise UnreadableFile("not an mbox: the file does not start with a 'From ' separator line")
            offsets = _Offsets(mm)
            head = list(islice(offsets, max(PARALLEL_MIN, 0)))
            with dask_cluster.active() as cluster:  # the ingest's, or one started here if it is needed
                if cluster.parallel and len(head) >= PARALLEL_MIN:
                    yield from rebatch(self._parallel(cluster, mm, head, offsets, stats))
                    return
            head += offsets
            stats.expected_items = len(head)
            yield from to_batches(self._observations(mm, head, stats), dumps=utf8_json)

    def _observations(self, mm: mmap.mmap, offsets: list[int], stats: FileStats) -> Iterator[Observation]:
        ends = offsets[1:] + [len(mm)]
        state = {"next_index": len(offsets)}  # attached messages are numbered after the mailbox's own messages
        released = 0
        for index, (start, end) in enumerate(zip(offsets, ends)):
            if start - released >= RELEASE_BYTES:
                # Pages already parsed are dropped from this process's resident memory, so a
                # multi-gigabyte mailbox costs no more RAM than a small one.
                upto = start - start % mmap.PAGESIZE
                mm.madvise(mmap.MADV_DONTNEED, released, upto - released)
                released = upto
            yield from _message(mm, index, start, end, stats, state)

    def _parallel(self, cluster: dask_cluster.Cluster, mm: mmap.mmap, head: list[int], offsets: _Offsets,
                  stats: FileStats) -> Iterator[pa.Table]:
        """Workers parse ranges of plain messages into Arrow tables; carriers of attached messages are
        parsed here, in order, so attached-message numbering is exactly the sequential one."""
        state = {"next_index": None}  # the message count: attached messages are numbered after them
        tasks = _tasks(mm, chain(head, offsets))
        for pieces, extracted, quarantined in cluster.map(_parse_range, tasks, ahead=AHEAD * cluster.slots()):
            stats.extracted_items += extracted
            stats.quarantined_items += quarantined
            for piece in pieces:
                if isinstance(piece, pa.Table):
                    yield piece
                elif isinstance(piece, Observation):  # payload text Arrow refuses: fail here, as before
                    yield from to_batches([piece])
                else:  # (index, start, end) of a message carrying attached messages: parse here, in order
                    if state["next_index"] is None:
                        state["next_index"] = offsets.count()
                    yield from to_batches(_message(mm, *piece, stats, state), dumps=utf8_json)
        stats.expected_items += offsets.count()


def _tasks(mm: mmap.mmap, offsets: Iterator[int]) -> Iterator[tuple]:
    """(bytes, starts, ends, first index) of each CHUNK messages, as the offsets are found: the task
    carries the bytes of its messages, so a worker needs no access to the file."""
    starts, first = [], 0
    for offset in offsets:
        if len(starts) == CHUNK:
            yield mm[starts[0]:offset], starts, starts[1:] + [offset], first
            starts, first = [], first + CHUNK
        starts.append(offset)
    if starts:
        yield mm[starts[0]:], starts, starts[1:] + [len(mm)], first


def _body(mm, start: int, end: int) -> bytes:
    newline = mm.find(b"\n", start, end)
    if newline == -1:
        return b""
    body = mm[newline + 1:end]
    # every escaped line contains '>From ': most messages skip the (slow, multiline) substitution
    return ESCAPED_FROM.sub(rb"\1", body) if b">From " in body else body


def _message(mm, index: int, start: int, end: int, stats: FileStats, state: dict) -> Iterator[Observation]:
    body = _body(mm, start, end)
    if not body.strip():
        stats.quarantined_items += 1
        yield Observation("item_quarantined", {"index": index, "reason": "empty message after separator"}, offset=start)
        return
    try:
        obs, state["next_index"] = message_observations(body, index=index, offset=start, next_index=state["next_index"])
    except Exception as exc:  # one bad message must not lose the rest of the mailbox
        stats.quarantined_items += 1
        yield Observation("item_quarantined", {"index": index, "reason": f"unparseable message: {exc}"}, offset=start)
        return
    stats.expected_items += len(obs) - 1  # its attached messages
    stats.extracted_items += len(obs)
    yield from obs


@contextlib.contextmanager
def _mapped(fh) -> Iterator[mmap.mmap]:
    """The file mapped read-only. An interrupt during a scan can leave the scanner's view of the map
    alive in the traceback; closing then raises BufferError, which would hide the interrupt. The map is
    then freed with the last view instead."""
    mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        yield mm
    finally:
        try:
            mm.close()
        except BufferError:
            pass


def _parse_range(data: bytes, starts: list[int], ends: list[int], first_index: int) -> tuple[list, int, int]:
    """Worker: parse one range of messages (`data`: the mailbox's bytes from starts[0] to ends[-1])
    into (pieces in order, extracted, quarantined); a piece is an Arrow table of rows, the (index,
    start, end) of a message to parse in the parent, or a row whose payload is not valid UTF-8 (an
    Observation, converted in the parent so the failure is the same)."""
    pieces, rows, extracted, quarantined = [], _Rows(), 0, 0
    base = starts[0]
    for index, (start, end) in enumerate(zip(starts, ends), first_index):
        body = _body(data, start - base, end - base)
        if not body or body.isspace():  # `not body.strip()` without copying the body
            quarantined += 1
            rows.add(pieces, "item_quarantined", None, start, {"index": index, "reason": "empty message after separator"})
        elif may_carry_messages(body):
            rows.flush(pieces)
            pieces.append((index, start, end))
        else:
            try:
                obs = message_observation(body, index=index, offset=start)
                rows.add(pieces, "email_message", obs.occurred_at, start, obs.payload)
                extracted += 1
            except Exception as exc:
                quarantined += 1
                rows.add(pieces, "item_quarantined", None, start, {"index": index, "reason": f"unparseable message: {exc}"})
    rows.flush(pieces)
    return pieces, extracted, quarantined


class _Rows:
    """Columns of BATCH_SCHEMA rows built in a worker, so the parent receives Arrow buffers."""

    def __init__(self):
        self.types, self.times, self.offsets, self.payloads = [], [], [], []

    def add(self, pieces: list, event_type: str, occurred_at, offset: int, payload: dict) -> None:
        text = utf8_json(payload)  # may raise, as canonical_json did here before
        if isinstance(text, str):
            self.flush(pieces)
            pieces.append(Observation(event_type, payload, occurred_at=occurred_at, offset=offset, payload_json=text))
            return
        self.types.append(event_type)
        self.times.append(occurred_at)
        self.offsets.append(offset)
        self.payloads.append(text)

    def flush(self, pieces: list) -> None:
        if self.types:
            none = [None] * len(self.types)
            pieces.append(batch_table({"event_type": self.types, "occurred_at": self.times, "source_offset": self.offsets,
                                       "source_row": none, "source_bates": none, "payload": self.payloads}))
            self.__init__()
