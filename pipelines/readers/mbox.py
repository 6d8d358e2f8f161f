"""`.mbox` (mboxo and mboxrd): many messages in one file, split by scanning bytes.

The file is memory-mapped and scanned for line-initial `From ` separators, so memory stays flat however
large the mailbox is. Each separator counts as one expected message; a message that cannot be parsed is
quarantined as an item with its byte offset instead of being lost. Large mailboxes are parsed by one
worker process per core, in order, so the events are the same as a sequential read.
"""
from __future__ import annotations

import mmap
import multiprocessing
from collections import deque
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, canonical_json, to_batches
from .email_message import _may_carry_messages, message_observation, message_observations

SEPARATOR = b"\nFrom "
RELEASE_BYTES = 16 << 20
PARALLEL_MIN = int(os.environ.get("FOIL_MBOX_PARALLEL_MIN", "20000"))  # messages; below this one process is faster
CHUNK = 2000  # messages per task
# mboxrd escapes every '>*From ' body line with one more '>'; undoing that also undoes mboxo's escape.
ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def split_offsets(mm: mmap.mmap | bytes) -> list[int]:
    """Byte offsets of each message's `From ` line (scanned pages are released as the scan goes)."""
    offsets = [0] if mm[:5] == b"From " else []
    pos, released = mm.find(SEPARATOR), 0
    while pos != -1:
        offsets.append(pos + 1)
        if isinstance(mm, mmap.mmap) and pos - released >= RELEASE_BYTES:
            upto = pos - pos % mmap.PAGESIZE
            mm.madvise(mmap.MADV_DONTNEED, released, upto - released)
            released = upto
        pos = mm.find(SEPARATOR, pos + 1)
    if isinstance(mm, mmap.mmap):
        mm.madvise(mmap.MADV_DONTNEED)
    return offsets


class MboxReader(Reader):
    name = "mbox"
    version = "2"
    media_type = "application/mbox"

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() == ".mbox" or (path.suffix == "" and head.startswith(b"From "))

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        if path.stat().st_size == 0:
            raise UnreadableFile("empty file")
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            if mm[:5] != b"From ":
                raise UnreadableFile("not an mbox: the file does not start with a 'From ' separator line")
            offsets = split_offsets(mm)
            stats.expected_items = len(offsets)
            workers = min(os.cpu_count() or 1, 4)
            if workers > 1 and len(offsets) >= PARALLEL_MIN:
                items = self._parallel(path, mm, offsets, stats, workers)
            else:
                items = self._observations(mm, offsets, stats)
            yield from to_batches(items)

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

    def _parallel(self, path: Path, mm: mmap.mmap, offsets: list[int], stats: FileStats, workers: int) -> Iterator[Observation]:
        """Workers parse ranges of plain messages; carriers of attached messages are parsed here, in
        order, so attached-message numbering is exactly the sequential one."""
        ends = offsets[1:] + [len(mm)]
        state = {"next_index": len(offsets)}
        tasks = [(str(path), offsets[i:i + CHUNK], ends[i:i + CHUNK], i) for i in range(0, len(offsets), CHUNK)]
        # fork: workers need nothing but this module, and spawn/forkserver would re-run the caller's
        # __main__ (breaking unguarded scripts and notebooks); the workers never touch DuckDB or threads
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for results in _bounded_map(pool, _parse_range, tasks, ahead=2 * workers):
                for kind, index, start, value in results:
                    if kind == "obs":
                        occurred_at, payload_json = value
                        stats.extracted_items += 1
                        yield Observation("email_message", {}, occurred_at=occurred_at, offset=start, payload_json=payload_json)
                    elif kind == "quarantine":
                        stats.quarantined_items += 1
                        yield Observation("item_quarantined", {"index": index, "reason": value}, offset=start)
                    else:  # carries attached messages: parse here, in order
                        yield from _message(mm, index, start, value, stats, state)


def _bounded_map(pool: ProcessPoolExecutor, fn, tasks: list, ahead: int) -> Iterator:
    """Results in task order with at most `ahead` tasks in flight: Executor.map submits every task at
    once, and finished chunks then pile up in memory whenever the consumer is slower than the workers."""
    pending = deque()
    for task in tasks:
        pending.append(pool.submit(fn, task))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _body(mm, start: int, end: int) -> bytes:
    chunk = mm[start:end]
    newline = chunk.find(b"\n")
    return ESCAPED_FROM.sub(rb"\1", chunk[newline + 1:] if newline != -1 else b"")


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


def _parse_range(task) -> list[tuple]:
    """Worker: parse one range of messages; canonical JSON is produced here, off the main process."""
    path, starts, ends, first_index = task
    out = []
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        for index, (start, end) in enumerate(zip(starts, ends), first_index):
            body = _body(mm, start, end)
            if not body.strip():
                out.append(("quarantine", index, start, "empty message after separator"))
            elif _may_carry_messages(body):
                out.append(("defer", index, start, end))
            else:
                try:
                    obs = message_observation(body, index=index, offset=start)
                    out.append(("obs", index, start, (obs.occurred_at, canonical_json(obs.payload))))
                except Exception as exc:
                    out.append(("quarantine", index, start, f"unparseable message: {exc}"))
    return out
