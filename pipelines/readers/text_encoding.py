"""Text encodings of produced files (load files, extracted text): BOM, UTF-16 by zero bytes, strict
UTF-8, else windows-1252 — the order Relativity and Concordance users expect. Decode first, split second."""
from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .base import UnreadableFile

CHUNK = 1 << 16


@dataclass(frozen=True)
class Encoding:
    name: str          # recorded in payloads: utf-8, utf-8-sig, utf-16-le, utf-16-be, windows-1252
    codec: str         # Python codec used to read the text
    bom: int           # bytes skipped at the start
    errors: str = "strict"

    def byte_len(self, text: str) -> int:
        if self.codec == "cp1252":
            return len(text)  # single-byte codec, undecodable bytes become one U+FFFD each
        return len(text.encode(self.codec, "surrogatepass"))


def _valid(path: Path, codec: str, skip: int) -> bool:
    decoder = codecs.getincrementaldecoder(codec)("strict")
    with path.open("rb") as fh:
        fh.seek(skip)
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def utf16_without_bom(head: bytes) -> str | None:
    sample = head[: len(head) - len(head) % 2]
    # Judge the first line when there is one: a header of field names is ASCII, while the values below
    # it may be mostly non-Latin text (characters above U+FFFF put zeros in both byte positions).
    for newline in (b"\n\x00", b"\x00\n"):
        end = next((i for i in range(0, len(sample) - 1, 2) if sample[i:i + 2] == newline), None)
        if end is not None and end >= 4:
            sample = sample[:end]
            break
    if len(sample) < 4:
        return None
    # ASCII text (the header line at least) has a zero in every other byte; strict decoding checks the rest
    odd, even = sample[1::2].count(0) / (len(sample) // 2), sample[0::2].count(0) / (len(sample) // 2)
    if odd >= 0.7 and even < odd / 2:
        return "utf-16-le"
    if even >= 0.7 and odd < even / 2:
        return "utf-16-be"
    return None


def detect_encoding(path: Path) -> Encoding:
    """BOM, then UTF-16 by zero bytes, then strict UTF-8, then windows-1252 (two bytes are compared, never
    one: a cp1252 file starts with FE = þ followed by an ASCII letter, not FE FF)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(codecs.BOM_UTF8):
        if not _valid(path, "utf-8", 3):
            raise UnreadableFile("invalid UTF-8 after a UTF-8 byte-order mark")
        return Encoding("utf-8-sig", "utf-8", 3)
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            if not _valid(path, codec, 2):
                raise UnreadableFile(f"invalid {codec.upper()} after a byte-order mark")
            return Encoding(codec, codec, 2)
    codec = utf16_without_bom(head)
    if codec and _valid(path, codec, 0):
        return Encoding(codec, codec, 0)
    if _valid(path, "utf-8", 0):
        return Encoding("utf-8", "utf-8", 0)
    return Encoding("windows-1252", "cp1252", 0, errors="replace")


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Whole small file (an extracted-text file) -> (text, encoding name), same detection rules."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), "utf-8-sig"
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[2:].decode(codec, "replace"), codec
    codec = utf16_without_bom(data[:4096])
    for name in ([codec] if codec else []) + ["utf-8"]:
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            pass
    return data.decode("cp1252", "replace"), "windows-1252"


def text_lines(path: Path, enc: Encoding) -> Iterator[str]:
    """The file as text lines (line endings kept), streamed."""
    with path.open("rb") as raw:
        raw.seek(enc.bom)
        yield from io.TextIOWrapper(raw, encoding=enc.codec, errors=enc.errors, newline="")
