"""Opticon `.opt` image cross-reference: one line per page image, seven comma-separated fields
`ImageKey,Volume,ImagePath,DocBreak,FolderBreak,BoxBreak,PageCount` (production-formats.md §3.3).

Each non-blank line becomes a `page_image` observation; a line without an image key or with too few
fields is quarantined as an item. Checking the `Y` document breaks against the DAT's Bates ranges is a
dbt concern (both sides are in the event log).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, to_batches
from .text_encoding import detect_encoding, text_lines

FIELDS = 7


def split_opt_line(line: str) -> list[str] | None:
    """Seven fields; a path containing commas is re-joined (the four flag fields are always last)."""
    parts = [p.strip() for p in line.rstrip("\r\n").split(",")]
    if len(parts) > FIELDS:
        parts = parts[:2] + [",".join(parts[2:len(parts) - 4])] + parts[-4:]
    if len(parts) < 3:
        return None
    return parts + [""] * (FIELDS - len(parts))


class OpticonOptReader(Reader):
    name = "opticon_opt"
    version = "1"
    media_type = "application/vnd.opticon.opt"

    sniffed = frozenset({"opticon_opt"})
    extensions = frozenset({".opt"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        if path.stat().st_size == 0:
            raise UnreadableFile("empty file")
        enc = detect_encoding(path)
        stats.extra["encoding"] = enc.name
        yield from to_batches(self._observations(path, enc, stats))

    def _observations(self, path: Path, enc, stats: FileStats) -> Iterator[Observation]:
        offset, index = enc.bom, 0
        for line_no, line in enumerate(text_lines(path, enc), 1):
            start, offset = offset, offset + enc.byte_len(line)
            if not line.strip():
                continue
            stats.expected_items += 1
            parts = split_opt_line(line)
            if parts is None or not parts[0]:
                stats.quarantined_items += 1
                got = "no image key" if parts else f"{len(line.split(','))} fields"
                yield Observation("item_quarantined", {"index": index, "reason": f"line {line_no}: {got}, expected {FIELDS} fields"},
                                  offset=start, row=line_no)
                index += 1
                continue
            key, volume, image_path, doc_break, folder_break, box_break, page_count = parts
            defects = []
            count = None
            if page_count:
                try:
                    count = int(page_count)
                except ValueError:
                    defects.append(f"page_count: not a number {page_count!r}")
            payload = {
                "index": index,
                "image_key": key,
                "volume": volume or None,
                "image_path": image_path.replace("\\", "/") or None,
                "image_path_raw": image_path or None,
                "doc_break": doc_break.upper().startswith("Y"),
                "folder_break": folder_break.upper().startswith("Y"),
                "box_break": box_break.upper().startswith("Y"),
                "page_count": count,
                "encoding": enc.name,
                "defects": defects,
            }
            stats.extracted_items += 1
            yield Observation("page_image", payload, offset=start, row=line_no, bates=key)
            index += 1
