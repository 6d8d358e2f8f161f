"""`.eml`: one RFC 822 message per file."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Reader, UnreadableFile, to_batches
from .email_message import message_observation


class EmlReader(Reader):
    name = "eml"
    version = "1"
    media_type = "message/rfc822"

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in (".eml", ".rfc822")

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        data = path.read_bytes()
        if not data.strip():
            raise UnreadableFile("empty file")
        stats.expected_items = 1
        obs = message_observation(data, index=0, offset=0)
        stats.extracted_items = 1
        yield from to_batches(iter([obs]))
