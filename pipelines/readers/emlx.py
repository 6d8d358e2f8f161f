"""Apple Mail `.emlx` / `.partial.emlx`: one RFC 822 message per file.

Layout: a first line holding the message's length in bytes (decimal, space-padded), the message itself,
then an XML property list of Apple Mail's flags (read status, dates, remote id). The message is read as
an `.eml` is (email_message.py: attached messages become messages of their own, index 1, 2, ...), with
`source_offset` = where the message starts in the file. A `.partial.emlx` is a message whose attachments
Apple Mail stored outside it (in an `Attachments/` folder next to the mailbox): the message is kept and
the missing attachments are recorded as a defect. Problems with the wrapper (a length that disagrees with
the file, a missing or unreadable property list) are defects of the message, never a lost message.
"""
from __future__ import annotations

import plistlib
import re
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Reader, UnreadableFile, read_bytes, to_batches
from .email_message import message_observations, utf8_json

LENGTH_LINE = re.compile(rb"\A[ \t]*(\d{1,12})[ \t]*\r?\n")
PARTIAL_DEFECT = "emlx: partial message (.partial.emlx), attachments Apple Mail stored outside it are not included"


class AppleEmlxReader(Reader):
    name = "emlx"
    version = "1"
    media_type = "message/x-emlx"

    # .partial.emlx too; a bad length line is quarantined with why
    sniffed = frozenset({"emlx"})
    extensions = frozenset({".emlx"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        data = read_bytes(path)
        if not data.strip():
            raise UnreadableFile("empty file")
        m = LENGTH_LINE.match(data)
        if m is None:
            raise UnreadableFile("not an emlx: the first line is not the message's length in bytes")
        start, declared = m.end(), int(m.group(1))
        message, trailer = data[start:start + declared], data[start + declared:]
        if not message.strip():
            raise UnreadableFile("emlx holds no message")
        defects = []
        if start + declared > len(data):
            defects.append(f"emlx: length line says {declared} bytes, the file holds {len(data) - start}")
        elif trailer.strip():
            try:
                if not isinstance(plistlib.loads(trailer.strip()), dict):
                    defects.append("emlx: property list is not a dictionary")
            except Exception as exc:  # plistlib raises several kinds (InvalidFileException, ExpatError, ...)
                defects.append(f"emlx: unreadable property list ({type(exc).__name__})")
        else:
            defects.append("emlx: no property list after the message")
        if path.name.lower().endswith(".partial.emlx"):
            defects.append(PARTIAL_DEFECT)
        # the message, then each attached message (message/rfc822 part) as one of its own, index 1, 2, ...
        obs, _ = message_observations(message, index=0, offset=start, next_index=1)
        obs[0].payload["defects"].extend(defects)
        stats.expected_items = stats.extracted_items = len(obs)
        yield from to_batches(iter(obs), dumps=utf8_json)
