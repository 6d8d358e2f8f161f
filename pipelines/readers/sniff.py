"""What a file is, judged by its bytes: magic numbers first, then the structure of its text.

`sniff(path, head)` runs on every file of a release (100k-file releases are normal), so it works on the
head the caller already read (`HEAD_BYTES`) and opens the file again only when the head says it is a zip
(to list its members: OOXML, ODF or a plain zip) or an OLE compound file (to tell an Outlook .msg from a
Word/Excel/PowerPoint 97-2003 file). It never reads a whole file.

Each result has a `confidence`: `strong` when a signature or an unambiguous structure was seen (a PDF, an
Outlook .msg, RFC 822 transport headers, ...), `weak` when the content was only guessed (text with no
recognisable structure, text that might be CSV, unrecognised binary data, an OLE file or zip that could
not be looked into). `reader_for` lets strong content decide, and lets the extension decide for weak
content (see pipelines/readers/__init__.py).

The vocabulary of types is `TYPES` below; readers declare which of them they take (`Reader.sniffed`).
"""
from __future__ import annotations

import codecs
import json
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .text_encoding import utf16_without_bom


@dataclass(frozen=True)
class FileType:
    label: str                    # for people: "unsupported file type: detected <label> (.ext)"
    media_type: str
    extensions: tuple[str, ...]   # names such content normally has; any other known extension is a mismatch
    textual: bool = False         # text: a weak textual guess conflicts only with a non-textual extension


# type -> what it is. Readers name these in `sniffed`; the ingest records the type as `detected_type`.
TYPES: dict[str, FileType] = {
    # binary signatures
    "outlook_msg": FileType("Outlook message (.msg)", "application/vnd.ms-outlook", (".msg",)),
    "doc": FileType("Word 97-2003 document", "application/msword", (".doc", ".dot")),
    "xls": FileType("Excel 97-2003 workbook", "application/vnd.ms-excel", (".xls", ".xlt")),
    "ppt": FileType("PowerPoint 97-2003 presentation", "application/vnd.ms-powerpoint", (".ppt", ".pps", ".pot")),
    "ole": FileType("OLE compound file", "application/x-ole-storage",
                    (".msg", ".doc", ".dot", ".xls", ".xlt", ".ppt", ".pps", ".pot", ".vsd", ".pub", ".mpp", ".oft")),
    "pst": FileType("Outlook data file (PST/OST)", "application/vnd.ms-outlook-pst", (".pst", ".ost")),
    "pdf": FileType("PDF document", "application/pdf", (".pdf",)),
    "zip": FileType("zip archive", "application/zip", (".zip",)),
    "docx": FileType("Word document (OOXML)", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                     (".docx", ".docm", ".dotx", ".dotm")),
    "xlsx": FileType("Excel workbook (OOXML)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     (".xlsx", ".xlsm", ".xltx", ".xltm")),
    "pptx": FileType("PowerPoint presentation (OOXML)",
                     "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                     (".pptx", ".pptm", ".ppsx", ".potx")),
    "odt": FileType("OpenDocument text", "application/vnd.oasis.opendocument.text", (".odt", ".ott")),
    "ods": FileType("OpenDocument spreadsheet", "application/vnd.oasis.opendocument.spreadsheet", (".ods", ".ots")),
    "odp": FileType("OpenDocument presentation", "application/vnd.oasis.opendocument.presentation", (".odp", ".otp")),
    "odf": FileType("OpenDocument file", "application/vnd.oasis.opendocument", (".odg", ".odf", ".odc", ".odb")),
    "7z": FileType("7-Zip archive", "application/x-7z-compressed", (".7z",)),
    "gzip": FileType("gzip file", "application/gzip", (".gz", ".tgz")),
    "tar": FileType("tar archive", "application/x-tar", (".tar",)),
    "bzip2": FileType("bzip2 file", "application/x-bzip2", (".bz2", ".tbz2", ".tbz")),
    "xz": FileType("xz file", "application/x-xz", (".xz", ".txz")),
    "tiff": FileType("TIFF image", "image/tiff", (".tif", ".tiff")),
    "jpeg": FileType("JPEG image", "image/jpeg", (".jpg", ".jpeg", ".jpe")),
    "png": FileType("PNG image", "image/png", (".png",)),
    "gif": FileType("GIF image", "image/gif", (".gif",)),
    # text structures
    "rfc822": FileType("RFC 822 email message", "message/rfc822", (".eml", ".rfc822"), textual=True),
    "mbox": FileType("mbox mailbox", "application/mbox", (".mbox", ".mbx"), textual=True),
    "emlx": FileType("Apple Mail message (.emlx)", "message/x-emlx", (".emlx",), textual=True),
    "concordance_dat": FileType("Concordance/DOJ load file (DAT)", "application/vnd.concordance.dat", (".dat",), textual=True),
    "opticon_opt": FileType("Opticon image cross-reference (OPT)", "application/vnd.opticon.opt", (".opt", ".lfp"), textual=True),
    "jsonl": FileType("JSON Lines", "application/x-ndjson", (".jsonl", ".ndjson", ".json"), textual=True),
    "json": FileType("JSON", "application/json", (".json", ".jsonl", ".ndjson"), textual=True),
    "csv": FileType("CSV", "text/csv", (".csv", ".tsv", ".tab", ".txt"), textual=True),
    "html": FileType("HTML", "text/html", (".html", ".htm", ".xhtml"), textual=True),
    "xml": FileType("XML", "application/xml", (".xml",), textual=True),
    "rtf": FileType("RTF document", "application/rtf", (".rtf",), textual=True),
    "icalendar": FileType("iCalendar", "text/calendar", (".ics", ".ical", ".ifb", ".vcs"), textual=True),
    "vcard": FileType("vCard", "text/vcard", (".vcf", ".vcard"), textual=True),
    "text": FileType("plain text", "text/plain", (".txt", ".text", ".log", ".md"), textual=True),
    # nothing recognised
    "binary": FileType("unrecognised binary data", "application/octet-stream", ()),
    "empty": FileType("empty file", "application/x-empty", ()),
}

# every extension some type claims: only these can contradict the content ("extension .msg but content rfc822")
KNOWN_EXTENSIONS = frozenset(ext for t in TYPES.values() for ext in t.extensions)
TEXTUAL_EXTENSIONS = frozenset(ext for t in TYPES.values() if t.textual for ext in t.extensions)


@dataclass(frozen=True)
class Sniffed:
    type: str                 # a key of TYPES
    confidence: str           # "strong" (content decides) | "weak" (a guess: the extension decides)
    evidence: str             # what was seen, for people and tests
    encoding: str | None = None  # for text: the encoding the head decoded with

    @property
    def weak(self) -> bool:
        return self.confidence == "weak"

    @property
    def label(self) -> str:
        return TYPES[self.type].label

    @property
    def media_type(self) -> str:
        return TYPES[self.type].media_type

    def mismatch(self, extension: str) -> str | None:
        """The defect when the file's extension names another format than its content; None if it agrees
        (or the extension is absent or unknown). A weak textual guess (plain text, CSV, JSON) conflicts only
        with an extension of a non-textual format (a CSV named .txt is no defect)."""
        ext = extension.lower()
        kind = TYPES[self.type]
        if not ext or ext not in KNOWN_EXTENSIONS or ext in kind.extensions or self.type == "empty":
            return None
        if self.weak and kind.textual and ext in TEXTUAL_EXTENSIONS:
            return None
        return f"extension {ext} but content {self.type}"


def extension(name: str) -> str:
    """The lower-case suffix ('.msg'), '' when there is none (as Path.suffix)."""
    return Path(name.rsplit("/", 1)[-1]).suffix.lower()


def _strong(kind: str, evidence: str, encoding: str | None = None) -> Sniffed:
    return Sniffed(kind, "strong", evidence, encoding)


def _weak(kind: str, evidence: str, encoding: str | None = None) -> Sniffed:
    return Sniffed(kind, "weak", evidence, encoding)


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------

HEAD_BYTES = 4096  # what reader_for reads of every file; sniff() needs no more
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"7z\xbc\xaf\x27\x1c", "7z", "7z signature"),
    (b"\x1f\x8b", "gzip", "gzip signature 1F 8B"),
    (b"\xfd7zXZ\x00", "xz", "xz signature"),
    (b"!BDN", "pst", "!BDN signature"),
    (b"II*\x00", "tiff", "little-endian TIFF signature"),
    (b"MM\x00*", "tiff", "big-endian TIFF signature"),
    (b"\xff\xd8\xff", "jpeg", "JPEG SOI marker"),
    (b"\x89PNG\r\n\x1a\n", "png", "PNG signature"),
    (b"GIF87a", "gif", "GIF87a signature"),
    (b"GIF89a", "gif", "GIF89a signature"),
)


def sniff(source: Path | BinaryIO, head: bytes) -> Sniffed:
    """The type of a file from its first bytes (`head`); `source` (a path or a seekable binary file) is
    opened only for a zip or an OLE compound file. Never raises on odd content (only on a failing disk)."""
    try:
        return _sniff(source, head)
    except (ValueError, RecursionError, struct.error, IndexError, KeyError, UnicodeError) as exc:
        return _weak("binary", f"unrecognised ({type(exc).__name__} while sniffing)")


def _sniff(source: Path | BinaryIO, head: bytes) -> Sniffed:
    if not head:
        return _strong("empty", "no bytes")
    if head.startswith(OLE_MAGIC):
        return _ole(source)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip(source, head)
    pdf = head.find(b"%PDF-", 0, 1024)
    if pdf == 0:
        return _strong("pdf", "%PDF- signature")
    for magic, kind, evidence in _MAGIC:
        if head.startswith(magic):
            if kind == "pst":
                client = head[8:10]
                evidence = "!BDN signature, " + {b"SM": "PST", b"SO": "OST"}.get(client, f"client {client!r}")
            return _strong(kind, evidence)
    if re.match(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)", head):
        return _strong("bzip2", "bzip2 signature")
    if head[257:262] == b"ustar":
        return _strong("tar", "ustar magic at offset 257")
    text, encoding = _decode(head)
    found = _weak("binary", "no known signature; not text") if text is None else _text_type(text, encoding, len(head) < HEAD_BYTES)
    if pdf > 0 and found.type in ("binary", "text"):  # junk before the signature (readers tolerate it)
        return _strong("pdf", f"%PDF- signature after {pdf} bytes")
    return found


# --------------------------------------------------------------------------------------------------
# Containers: OLE compound files and zips
# --------------------------------------------------------------------------------------------------

_OLE_DOCS = (("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"), ("PowerPoint Document", "ppt"))
_MSG_NAMES = ("__properties_version1.0", "__nameid_version1.0")


def _read_at(source, offset: int, size: int) -> bytes:
    if hasattr(source, "read"):
        source.seek(offset)
        return source.read(size)
    with open(source, "rb") as fh:
        fh.seek(offset)
        return fh.read(size)


def _ole_kind(names) -> str | None:
    names = set(names)
    for stream, kind in _OLE_DOCS:
        if stream in names:
            return kind
    if any(n in names for n in _MSG_NAMES) or any(n.startswith("__substg1.0_") for n in names):
        return "outlook_msg"
    return None


def _ole(source) -> Sniffed:
    """An Outlook .msg has `__substg1.0_…` / `__properties_version1.0` streams; Word, Excel and PowerPoint
    97-2003 have their own. The first directory sector (one read) usually tells; else olefile lists the
    root storage."""
    try:
        header = _read_at(source, 0, 512)
        sector = 1 << struct.unpack_from("<H", header, 0x1E)[0]
        first_dir = struct.unpack_from("<I", header, 0x30)[0]
        if sector in (512, 4096) and first_dir < 0xFFFFFFFA:
            block = _read_at(source, (first_dir + 1) * sector, sector)
            names = []
            for at in range(0, len(block) - 127, 128):
                length = struct.unpack_from("<H", block, at + 0x40)[0]
                if 2 <= length <= 64:
                    names.append(block[at:at + length - 2].decode("utf-16-le", "replace"))
            kind = _ole_kind(names)
            if kind:
                return _strong(kind, "OLE compound file; streams " + ", ".join(n for n in names if n)[:200])
    except (OSError, struct.error):
        pass
    try:
        import olefile

        if hasattr(source, "read"):
            source.seek(0)
        with olefile.OleFileIO(source if hasattr(source, "read") else str(source)) as ole:
            root = {entry[0] for entry in ole.listdir(streams=True, storages=True) if entry}
    except Exception as exc:  # noqa: BLE001 - olefile raises many kinds on a broken file
        return _weak("ole", f"OLE compound file signature; directory unreadable ({type(exc).__name__})")
    kind = _ole_kind(root)
    if kind:
        return _strong(kind, "OLE compound file; root streams " + ", ".join(sorted(root))[:200])
    return _weak("ole", "OLE compound file of no known application")


_ODF = {"application/vnd.oasis.opendocument.text": "odt", "application/vnd.oasis.opendocument.spreadsheet": "ods",
        "application/vnd.oasis.opendocument.presentation": "odp"}


def _odf(mimetype: bytes) -> Sniffed | None:
    value = mimetype.strip().decode("ascii", "replace")
    if value.startswith("application/vnd.oasis.opendocument"):
        return _strong(_ODF.get(value, "odf"), f"ODF mimetype {value}")
    return None


def _zip(source, head: bytes) -> Sniffed:
    """OOXML by `[Content_Types].xml` + `word/`, `xl/` or `ppt/`; ODF by its `mimetype` member (stored first,
    so usually read from the head); else a plain zip. Only the central directory is read."""
    if head.startswith(b"PK\x03\x04") and len(head) >= 30:
        size, name_len, extra_len = struct.unpack_from("<I", head, 18)[0], *struct.unpack_from("<HH", head, 26)
        if head[30:30 + name_len] == b"mimetype" and 0 < size <= 100:
            found = _odf(head[30 + name_len + extra_len:30 + name_len + extra_len + size])
            if found:
                return found
    try:
        if hasattr(source, "read"):
            source.seek(0)
        with zipfile.ZipFile(source) as zf:
            names = zf.namelist()
            if "mimetype" in names and zf.getinfo("mimetype").file_size <= 100:
                found = _odf(zf.read("mimetype"))
                if found:
                    return found
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError, NotImplementedError) as exc:
        return _weak("zip", f"zip signature; unreadable ({type(exc).__name__}: {str(exc)[:80]})")
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                return _strong(kind, f"zip with [Content_Types].xml and {prefix}")
    return _strong("zip", f"zip of {len(names)} members")


# --------------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# control characters text does not contain (tab, LF, CR, FF, VT, 0x14 Concordance, ESC and SUB are allowed)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x13\x15-\x19\x1c-\x1f\x7f]")


def _decode(head: bytes) -> tuple[str | None, str | None]:
    """The head as text, or (None, None) for binary data. A multi-byte character cut at the end of the
    head is not an error."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            codec = name.replace("-sig", "")
            text = codecs.getincrementaldecoder(codec)("replace").decode(head[len(bom):], final=False)
            return text, name
    utf16 = utf16_without_bom(head) if b"\x00" in head else None  # UTF-16 of ASCII is half zero bytes
    if utf16:
        try:
            return codecs.getincrementaldecoder(utf16)("strict").decode(head[: len(head) - len(head) % 2]), utf16
        except UnicodeDecodeError:
            pass
    if b"\x00" in head:
        return None, None
    try:
        text, encoding = codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False), "utf-8"
    except UnicodeDecodeError:
        text, encoding = head.decode("cp1252", "replace"), "windows-1252"
    if len(_CONTROL.findall(text)) > max(2, len(text) // 50):
        return None, None
    return text, encoding


_HEADER = re.compile(r"([!-9;-~]+):[ \t]*(.*)")
# the names the brief of issue #15 lists: any one of them in a run of header lines makes a message
_MAIL_NAMES = {"from", "to", "subject", "date", "message-id", "received", "return-path", "mime-version"}
# names only a transmitted message has (a printed email has From/Sent/To/Subject): these make it strong
_TRANSPORT_NAMES = {"date", "message-id", "received", "return-path", "mime-version", "content-type",
                    "in-reply-to", "references", "delivered-to", "dkim-signature", "x-mailer", "x-originating-ip"}


def _header_run(lines: list[str], full: bool) -> tuple[int, set[str]]:
    """(header lines at the start, their lower-case names) when the run ends at a blank line or the end of
    the head; (0, set()) otherwise."""
    names: set[str] = set()
    count = 0
    for i, line in enumerate(lines):
        if not line.strip():
            return count, names
        if line[0] in " \t" and count:
            continue  # folded continuation
        m = _HEADER.fullmatch(line)
        if not m:
            # the head may end inside a header line: only a complete line disqualifies
            last = i == len(lines) - 1 and not full
            return (count, names) if last and count else (0, set())
        count += 1
        names.add(m.group(1).lower())
    return count, names


def _rfc822(lines: list[str], full: bool, evidence_prefix: str = "") -> Sniffed | None:
    count, names = _header_run(lines, full)
    mail = names & _MAIL_NAMES
    if count < 2 or not mail:
        return None
    seen = ", ".join(sorted(mail))
    if len(mail) >= 2 and names & _TRANSPORT_NAMES:
        return _strong("rfc822", f"{evidence_prefix}{count} header lines ({seen})")
    return _weak("rfc822", f"{evidence_prefix}{count} header lines, none of a transmitted message ({seen})")


def _complete_lines(text: str, full: bool, limit: int = 50) -> list[str]:
    lines = text.splitlines()
    if not full and lines and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # cut by the end of the head
    return lines[:limit]


def _text_type(text: str, encoding: str, full: bool) -> Sniffed:
    body = text.lstrip("\ufeff")
    lines = body.splitlines()[:200]
    # mail: mbox, emlx, RFC 822
    if body.startswith("From "):
        after = _rfc822(lines[1:], full)
        if after is not None and not after.weak:
            return _strong("mbox", "'From ' separator line followed by message headers", encoding)
        return _weak("mbox", "'From ' separator line", encoding)
    if lines and re.fullmatch(r"[ \t]*\d{1,12}[ \t]*", lines[0]):
        after = _rfc822(lines[1:], full)
        if after is not None:
            return _strong("emlx", "a length line followed by message headers", encoding)
    stripped = body.lstrip()
    lines = stripped.splitlines()[:200]
    found = _rfc822(lines, full)
    if found is not None:
        return Sniffed(found.type, found.confidence, found.evidence, encoding)
    # markup and calendars
    low = stripped[:256].lower()
    if low.startswith("<!doctype html") or low.startswith("<html"):
        return _strong("html", "<!doctype html> / <html>", encoding)
    if low.startswith("<?xml"):
        if "<html" in stripped[:2048].lower():
            return _strong("html", "XHTML", encoding)
        return _strong("xml", "<?xml declaration", encoding)
    if low.startswith("{\\rtf"):
        return _strong("rtf", "{\\rtf", encoding)
    if low.startswith("begin:vcalendar"):
        return _strong("icalendar", "BEGIN:VCALENDAR", encoding)
    if low.startswith("begin:vcard"):
        return _strong("vcard", "BEGIN:VCARD", encoding)
    # load files
    first = lines[0] if lines else ""
    dat = _concordance(first)
    if dat:
        return _strong("concordance_dat", dat, encoding)
    complete = _complete_lines(stripped, full)
    if complete and _opticon(complete):
        return _strong("opticon_opt", f"{len(complete)} lines of 7 Opticon fields", encoding)
    # data
    if stripped[:1] in ("{", "["):
        return _json(complete, encoding)
    delimiter = _csv_delimiter(complete)
    if delimiter:
        return _weak("csv", f"{len(complete)} lines with the same count of {delimiter!r}", encoding)
    return _weak("text", "text of no recognised structure", encoding)


def _concordance(first: str) -> str | None:
    """Concordance 0x14 delimiter (þ quotes), or the DOJ/Summation ^|^ profile (see concordance_dat.py)."""
    if "\x14" in first:
        return "0x14 delimiter in the header line"
    if "^|^" in first:
        return "^|^ delimiters in the header line"
    if "|" in first and "," not in first:
        from .concordance_dat import map_fields

        names = [f.strip().strip("^").strip() for f in first.split("|")]
        if len(names) >= 2 and map_fields(names):
            return "| delimiter and known load-file field names in the header line"
    return None


def _opticon(lines: list[str]) -> bool:
    """Every line `ImageKey,Volume,ImagePath,DocBreak,FolderBreak,BoxBreak,PageCount` (opticon_opt.py)."""
    seen = 0
    for line in lines:
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 7:
            return False
        if len(parts) > 7:
            parts = parts[:2] + [",".join(parts[2:len(parts) - 4])] + parts[-4:]
        key, _, image, doc, folder, box, pages = parts
        if not key or not image or not all(f in ("", "Y", "y", "N", "n") for f in (doc, folder, box)):
            return False
        if pages and not pages.isdigit():
            return False
        if not re.search(r"[\\/]|\.\w{2,4}$", image):
            return False
        seen += 1
    return seen > 0


def _json(lines: list[str], encoding: str) -> Sniffed:
    values = [ln for ln in lines if ln.strip()]
    try:
        first = json.loads(values[0]) if values else None
    except (ValueError, RecursionError):
        first = None
    if isinstance(first, (dict, list)) and len(values) >= 2 and all(v.lstrip()[:1] in ("{", "[") for v in values[1:]):
        return _strong("jsonl", f"{len(values)} lines of JSON values", encoding)
    if isinstance(first, (dict, list)):
        return _weak("json", "one JSON value on the first line", encoding)
    return _weak("json", "starts with { or [", encoding)


_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def _csv_delimiter(lines: list[str]) -> str | None:
    rows = [_QUOTED.sub("", ln) for ln in lines if ln.strip()]
    if len(rows) < 2:
        return None
    for delimiter in (",", "\t", ";", "|"):
        counts = {row.count(delimiter) for row in rows}
        if len(counts) == 1 and counts.pop() >= 1:
            return delimiter
    return None
