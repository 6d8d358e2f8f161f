"""What the document readers share: the `text_document` payload, its positions, metadata and refusals.

Every office or text document becomes one `text_document` event (see docs/events.md) whose payload is
{text, chars, format, positions, defects, encoding[, metadata]}. `TextBuilder` assembles the text and the
positions (`{"kind": "page"|"sheet"|"slide"|"section", "n": 1-based, "name": str|None, "start", "end"}`,
character offsets into `text`) so that a citation can say "sheet Budget" or "slide 3".

Also here: the safe XML parser for OOXML/ODF parts, the OOXML core properties and ODF meta.xml as
`metadata`, the zip-bomb limits, and the refusal of encrypted (password-protected) documents.
"""
from __future__ import annotations

import datetime as dt
import posixpath
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, to_batches

MAX_CHARS = 50_000_000            # text beyond this is cut (with a defect) rather than held in one event
MAX_UNCOMPRESSED = 1 << 30        # a zip document whose members expand to more than this is refused
MAX_PART_BYTES = 256 << 20        # one XML part (document.xml, a sheet) larger than this is refused
MAX_RATIO = 200                   # an XML part compressed more than this is a zip bomb, not a document
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
METADATA_KEYS = ("title", "subject", "author", "last_modified_by", "created", "modified")


class TextBuilder:
    """Collects the text of a document piece by piece, with its positions and defects."""

    def __init__(self, limit: int = MAX_CHARS):
        self._parts: list[str] = []
        self._length = 0
        self._limit = limit
        self.truncated = False
        self.positions: list[dict[str, Any]] = []
        self.defects: list[str] = []

    def __len__(self) -> int:
        return self._length

    def add(self, text: str) -> None:
        if not text or self.truncated:
            return
        room = self._limit - self._length
        if len(text) > room:
            text = text[:max(room, 0)]
            self.truncated = True
            self.defects.append(f"truncated: text over {self._limit} characters; the rest was not read")
        self._parts.append(text)
        self._length += len(text)

    def separate(self) -> None:
        """Start a new block: the text so far ends with a blank line (nothing is added to empty text)."""
        if self._length:
            tail = self._tail(2)
            self.add("\n" * (2 - (len(tail) - len(tail.rstrip("\n")))))

    def _since(self, start: int) -> str:
        return self._tail(self._length - start) if self._length > start else ""

    def _tail(self, n: int) -> str:
        got, size = [], 0
        for part in reversed(self._parts):
            if size >= n:
                break
            got.append(part)
            size += len(part)
        return "".join(reversed(got))[-n:] if n > 0 else ""

    @contextmanager
    def position(self, kind: str, n: int, name: str | None = None) -> Iterator[None]:
        """Everything added inside the block is one position (trailing line breaks excluded)."""
        self.separate()
        start = self._length
        yield
        end = self._length
        tail = self._tail(min(end - start, 64)) if end > start else ""
        end -= len(tail) - len(tail.rstrip())
        self.positions.append({"kind": kind, "n": n, "name": name, "start": start, "end": max(end, start)})

    def mark(self, kind: str, name: str | None = None) -> None:
        """A boundary inside a flow of text (a page break): closes the open position of `kind`, opens the next."""
        open_ = [p for p in self.positions if p["kind"] == kind and p["end"] is None]
        if open_:
            if not self._since(open_[-1]["start"]).strip():
                return  # nothing on the open one yet (Word marks the page after an explicit break twice)
            self._close(open_[-1])
        n = sum(1 for p in self.positions if p["kind"] == kind) + 1
        self.positions.append({"kind": kind, "n": n, "name": name, "start": self._length, "end": None})

    def close_marks(self) -> None:
        for p in self.positions:
            if p["end"] is None:
                self._close(p)

    def _close(self, p: dict[str, Any]) -> None:
        """End an open position here, without the white space at either end of its text."""
        text = self._since(p["start"])
        p["end"] = p["start"] + len(text.rstrip())
        p["start"] = min(p["start"] + len(text) - len(text.lstrip()), p["end"])

    def text(self) -> str:
        return "".join(self._parts)


def text_document(stats: FileStats, fmt: str, text: str, positions: list[dict] | None = None,
                  defects: list[str] | None = None, encoding: str | None = None,
                  metadata: dict[str, Any] | None = None) -> Iterator[pa.Table]:
    """The one `text_document` event of a file."""
    payload: dict[str, Any] = {"text": text, "chars": len(text), "format": fmt, "positions": positions or [],
                               "defects": defects or [], "encoding": encoding}
    if metadata is not None:
        payload["metadata"] = metadata
    stats.expected_items = stats.extracted_items = 1
    yield from to_batches(iter([Observation("text_document", payload)]))


def from_builder(stats: FileStats, fmt: str, doc: TextBuilder, encoding: str | None = None,
                 metadata: dict[str, Any] | None = None) -> Iterator[pa.Table]:
    doc.close_marks()
    text = doc.text().rstrip()
    positions = [dict(p, start=min(p["start"], len(text)), end=min(p["end"], len(text))) for p in doc.positions]
    return text_document(stats, fmt, text, positions, doc.defects, encoding, metadata)


def add_pages(doc: TextBuilder, pages: list[str]) -> None:
    """The text of a document cut at its page breaks (form feeds): one `page` position a piece when
    there are several, none when there is one."""
    if len(pages) > 1:
        doc.mark("page")
    for i, page in enumerate(pages):
        if i:
            doc.add("\n")
            doc.mark("page")
        doc.add(page)


def zip_document(path: Path, stats: FileStats, fmt: str, label: str,
                 read: Callable[[zipfile.ZipFile], tuple[TextBuilder, dict[str, Any]]]) -> Iterator[pa.Table]:
    """The `text_document` event of a zip document (OOXML, ODF): encrypted ones refused, the package
    opened within the limits, `read(zf)` giving (text, metadata); its errors become UnreadableFile."""
    refuse_encrypted(path, label)
    with open_zip(path, fmt.upper()) as zf:
        try:
            doc, meta = read(zf)
        except UnreadableFile:
            raise
        except Exception as exc:  # lxml's XMLSyntaxError, KeyError of a missing part, zlib errors …
            raise unreadable(fmt.upper(), exc) from exc
    yield from from_builder(stats, fmt, doc, metadata=meta)


class ZipDocumentReader(Reader):
    """A zip document (OOXML, ODF) of format `fmt`, which also names the reader and its sniffed type."""

    fmt: str
    label: str

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "fmt" in cls.__dict__:
            cls.name, cls.sniffed = cls.fmt, frozenset({cls.fmt})

    def accepts(self, path: Path, head: bytes) -> bool:
        return zip_or_ole(head)  # a zip, or an encrypted one (OLE): said so rather than 'unsupported'

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        yield from zip_document(path, stats, self.fmt, self.label, self._read)

    def _read(self, zf) -> tuple[TextBuilder, dict[str, Any]]:  # pragma: no cover - interface
        raise NotImplementedError


# --------------------------------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------------------------------

def zip_or_ole(head: bytes) -> bool:
    """Could these first bytes start an Office/ODF document (a zip, or an OLE file: legacy or encrypted)?
    A text file named .docx is not taken (it stays 'unsupported file type: detected plain text')."""
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06", OLE_MAGIC))


def unreadable(label: str, exc: BaseException) -> UnreadableFile:
    """An UnreadableFile for a parser's error (raise it `from exc`: the ingest still tells a full disk or
    an I/O error by the cause, see pipelines/lib/transient.py); a MemoryError is raised as it is."""
    if isinstance(exc, MemoryError):
        raise exc
    if isinstance(exc, UnreadableFile):
        return exc
    message = str(exc).strip().replace("\n", " ")[:300]
    return UnreadableFile(f"unreadable {label}: {type(exc).__name__}" + (f": {message}" if message else ""))


def refuse_encrypted(path: Path, label: str) -> None:
    """UnreadableFile("password required: …") for a password-protected document.

    An encrypted OOXML file (.docx/.xlsx/.pptx) is an OLE compound file holding `EncryptionInfo` and
    `EncryptedPackage`; a Word/Excel/PowerPoint 97-2003 file says so in its own header (msoffcrypto-tool
    reads it). An ODF file lists `encryption-data` in META-INF/manifest.xml."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        try:
            import olefile

            with olefile.OleFileIO(str(path)) as ole:
                streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=True)}
        except Exception:  # noqa: BLE001 - a broken directory: the reader will say what it can
            streams = set()
        if "EncryptedPackage" in streams:
            raise UnreadableFile(f"password required: {label} is an encrypted Office document (OLE EncryptedPackage); "
                                 "ask the agency for an unencrypted copy or the password")
        try:
            import msoffcrypto

            with path.open("rb") as fh:
                encrypted = msoffcrypto.OfficeFile(fh).is_encrypted()
        except Exception:  # noqa: BLE001 - msoffcrypto raises many kinds on files it does not know
            encrypted = False
        if encrypted:
            raise UnreadableFile(f"password required: {label} is password-protected; "
                                 "ask the agency for an unencrypted copy or the password")
    elif head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                manifest = zf.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in zf.namelist() else b""
        except Exception:  # noqa: BLE001
            manifest = b""
        if b"encryption-data" in manifest[:MAX_PART_BYTES]:
            raise UnreadableFile(f"password required: {label} is an encrypted OpenDocument file; "
                                 "ask the agency for an unencrypted copy or the password")


def open_zip(path: Path, label: str) -> zipfile.ZipFile:
    """The document's zip, refused when it is not one or would expand beyond the limits."""
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except Exception as exc:  # noqa: BLE001 - BadZipFile, EOFError, ValueError, NotImplementedError …
        raise unreadable(label, exc) from exc
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        zf.close()
        raise UnreadableFile(f"unreadable {label}: members expand to {total} bytes, over the {MAX_UNCOMPRESSED}-byte limit")
    for info in infos:
        if info.filename.endswith(".xml") and (info.file_size > MAX_PART_BYTES or
                                               info.file_size > MAX_RATIO * max(info.compress_size, 1) + (1 << 20)):
            zf.close()
            raise UnreadableFile(f"unreadable {label}: part {info.filename} expands to {info.file_size} bytes "
                                 f"from {info.compress_size} (zip bomb?)")
    return zf


# --------------------------------------------------------------------------------------------------
# XML (OOXML and ODF parts)
# --------------------------------------------------------------------------------------------------

def parse_xml(data: bytes):
    """An lxml element tree of untrusted XML: no entities resolved, no network, no huge trees."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
                             remove_pis=True, load_dtd=False)
    return etree.fromstring(data, parser=parser)


def read_part(zf: zipfile.ZipFile, name: str):
    """A member parsed as XML, or None when it is absent."""
    try:
        data = zf.read(name)
    except KeyError:
        return None
    return parse_xml(data)


def local(tag) -> str:
    """'{ns}name' -> 'name' (comments and processing instructions have no string tag)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def rels(zf: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(type suffix, target part name, id) of a part's relationships ('' for the package's own)."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels") if part else "_rels/.rels"
    root = read_part(zf, rels_name)
    out = []
    for rel in (root if root is not None else []):
        if local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out.append(((rel.get("Type") or "").rsplit("/", 1)[-1], target, rel.get("Id") or ""))
    return out


def _iso(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text  # kept as written
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc)
    return parsed.isoformat()


def metadata(**values: Any) -> dict[str, Any]:
    """The `metadata` payload: METADATA_KEYS always present (null when the file has none), extra keys kept."""
    out: dict[str, Any] = {k: None for k in METADATA_KEYS}
    for key, value in values.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, dt.datetime):
            value = (value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)).isoformat()
        elif isinstance(value, str):
            value = value.strip().replace("\x00", "") or None
        if value is not None or key in METADATA_KEYS:
            out[key] = value
    return out


def ooxml_metadata(zf: zipfile.ZipFile) -> dict[str, Any]:
    """docProps/core.xml (Dublin Core) of a .docx/.xlsx/.pptx."""
    try:
        target = next((t for kind, t, _ in rels(zf, "") if kind == "core-properties"), "docProps/core.xml")
        root = read_part(zf, target)
    except Exception:  # noqa: BLE001 - a broken core.xml loses the metadata, not the document
        return metadata()
    found = {local(el.tag): (el.text or "") for el in (root if root is not None else [])}
    return metadata(title=found.get("title"), subject=found.get("subject"), author=found.get("creator"),
                    last_modified_by=found.get("lastModifiedBy"), created=_iso(found.get("created")),
                    modified=_iso(found.get("modified")))


def odf_metadata(zf: zipfile.ZipFile) -> dict[str, Any]:
    """meta.xml of an OpenDocument file."""
    try:
        root = read_part(zf, "meta.xml")
    except Exception:  # noqa: BLE001
        return metadata()
    found: dict[str, str] = {}
    for el in (root.iter() if root is not None else []):
        name = local(el.tag)
        if name and name not in found and el.text and el.text.strip():
            found[name] = el.text
    return metadata(title=found.get("title"), subject=found.get("subject"),
                    author=found.get("initial-creator") or found.get("creator"),
                    last_modified_by=found.get("creator"), created=_iso(found.get("creation-date")),
                    modified=_iso(found.get("date")))


def ole_metadata(path: Path) -> dict[str, Any]:
    """The SummaryInformation stream of a Word/Excel/PowerPoint 97-2003 file."""
    try:
        import olefile

        with olefile.OleFileIO(str(path)) as ole:
            meta = ole.get_metadata()
    except Exception:  # noqa: BLE001
        return metadata()

    def text(value):
        return value.decode("cp1252", "replace") if isinstance(value, bytes) else value

    return metadata(title=text(meta.title), subject=text(meta.subject), author=text(meta.author),
                    last_modified_by=text(meta.last_saved_by), created=meta.create_time, modified=meta.last_saved_time)
