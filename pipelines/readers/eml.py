"""`.eml`: one RFC 822 message per file."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Reader, UnreadableFile, read_bytes, to_batches
from .email_message import message_observations, utf8_json


class EmlReader(Reader):
    name = "eml"
    version = "3"
    media_type = "message/rfc822"

    sniffed = frozenset({"rfc822"})  # an RFC 822 message however it is named (.msg, no extension, ...)
    extensions = frozenset({".eml", ".rfc822"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        data = read_bytes(path)
        if not data.strip():
            raise UnreadableFile("empty file")
        # the message, then each attached message (message/rfc822 part) as one of its own, index 1, 2, ...
        obs, _ = message_observations(data, index=0, offset=0, next_index=1)
        stats.expected_items = stats.extracted_items = len(obs)
        yield from to_batches(iter(obs), dumps=utf8_json)
