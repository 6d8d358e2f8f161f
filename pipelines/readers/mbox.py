"""`.mbox` (mboxo and mboxrd): many messages in one file, split by scanning bytes.

The file is memory-mapped and scanned for line-initial `From ` separators, so memory stays flat however
large the mailbox is. Each separator counts as one expected message; a message that cannot be parsed is
quarantined as an item with its byte offset instead of being lost.
"""
from __future__ import annotations

import mmap
import re
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, to_batches
from .email_message import message_observations

SEPARATOR = b"\nFrom "
RELEASE_BYTES = 16 << 20
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
            yield from to_batches(self._observations(mm, offsets, stats))

    def _observations(self, mm: mmap.mmap, offsets: list[int], stats: FileStats) -> Iterator[Observation]:
        ends = offsets[1:] + [len(mm)]
        next_index = len(offsets)  # attached messages are numbered after the mailbox's own messages
        released = 0
        for index, (start, end) in enumerate(zip(offsets, ends)):
            if start - released >= RELEASE_BYTES:
                # Pages already parsed are dropped from this process's resident memory, so a
                # multi-gigabyte mailbox costs no more RAM than a small one.
                upto = start - start % mmap.PAGESIZE
                mm.madvise(mmap.MADV_DONTNEED, released, upto - released)
                released = upto
            chunk = mm[start:end]
            newline = chunk.find(b"\n")
            body = chunk[newline + 1:] if newline != -1 else b""
            body = ESCAPED_FROM.sub(rb"\1", body)
            if not body.strip():
                stats.quarantined_items += 1
                yield Observation("item_quarantined", {"index": index, "reason": "empty message after separator"}, offset=start)
                continue
            try:
                obs, next_index = message_observations(body, index=index, offset=start, next_index=next_index)
            except Exception as exc:  # one bad message must not lose the rest of the mailbox
                stats.quarantined_items += 1
                yield Observation("item_quarantined", {"index": index, "reason": f"unparseable message: {exc}"}, offset=start)
                continue
            stats.expected_items += len(obs) - 1  # its attached messages
            stats.extracted_items += len(obs)
            yield from obs
