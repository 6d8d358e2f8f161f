"""`.txt`: extracted-text files (a load file's TEXTPATH targets, cover letters) as documents of their own."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, read_bytes, to_batches
from .text_encoding import decode_bytes

MAX_BYTES = 50 * 1024 * 1024  # extracted text beyond this is not plausible; refuse rather than load it


class PlainTextReader(Reader):
    name = "plain_text"
    version = "1"
    media_type = "text/plain"

    sniffed = frozenset({"text"})  # text of no recognised structure (named .txt, or not named as another format)
    extensions = frozenset({".txt", ".text", ".log"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UnreadableFile(f"text file of {size} bytes is over the {MAX_BYTES}-byte limit")
        text, encoding = decode_bytes(read_bytes(path))
        stats.expected_items = stats.extracted_items = 1
        yield from to_batches(iter([Observation("text_document", {"text": text, "encoding": encoding, "chars": len(text)})]))
