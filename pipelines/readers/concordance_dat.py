"""Concordance / Relativity `.dat` load files: one document record per line, metadata only.

Decode first, split second (production-formats.md §3.1): the encoding is detected from the bytes (BOM;
UTF-16 without BOM; strict UTF-8; else windows-1252), the file is streamed as text and records are split
by the `csv` module with the detected delimiter profile (Concordance 0x14/þ/® or DOJ-Summation |/^/~), so
an embedded CR/LF inside a qualified value never ends a record. Records that look like email become
`email_message` observations (same payload shape as the eml/mbox readers, plus Bates and family keys);
the rest become `load_file_record`. A record whose field count differs from the header's is quarantined
as an item; the rest of the file still ingests. Extracted text (`TEXTPATH`) and natives are looked up
only inside the load file's root (the release folder; for a zip member, the zip's extraction folder),
never through a symbolic link and never outside it.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import re
from dataclasses import dataclass
from itertools import chain
from pathlib import Path, PureWindowsPath
from typing import Iterable, Iterator

import pyarrow as pa

from pipelines.lib.release_files import UnsafeFile, open_regular, root_for

from .base import FileStats, Observation, Reader, UnreadableFile, to_batches
from .email_message import FAR_FUTURE, REDACTION_TOKEN, parse_addresses
from .text_encoding import Encoding, decode_bytes, detect_encoding, text_lines

# csv's default per-field cap (128 KiB) is too small for inline text fields; raising it is harmless.
csv.field_size_limit(2**31 - 1)
CHUNK = 1 << 16
TEXT_MAX_BYTES = 50 * 1024 * 1024
RECORD_MAX_BYTES = 64 * 1024 * 1024


# --------------------------------------------------------------------------------------------------
# Delimiter profiles and field names
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    name: str
    sep: str
    quote: str
    newline: str
    multi: str = ";"


CONCORDANCE = Profile("concordance", "\x14", "\u00fe", "\u00ae")
DOJ_SUMMATION = Profile("doj_summation", "|", "^", "~")

# canonical key -> accepted header names (compared upper-case without spaces, '_', '#', '-', '.')
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "bates_begin": ("BEGBATES", "BEGDOC", "PRODBEG", "PRODBEGBATES", "BEGBATESNUMBER", "BATESBEG", "BATESBEGIN",
                    "BEGINBATES", "BEGNO", "STARTBATES", "BEGPROD"),
    "bates_end": ("ENDBATES", "ENDDOC", "PRODEND", "PRODENDBATES", "ENDBATESNUMBER", "BATESEND", "ENDINGBATES",
                  "ENDNO", "ENDPROD"),
    "attach_begin": ("BEGATTACH", "BEGATT", "BEGFAMILY", "ATTACHBEG", "PRODBEGATTACH", "BEGATTACHMENT"),
    "attach_end": ("ENDATTACH", "ENDATT", "ENDFAMILY", "ATTACHEND", "PRODENDATTACH", "ENDATTACHMENT"),
    "parent_id": ("PARENTID", "PARENTBATES", "PARENTDOCID", "PARENTDOC"),
    "attach_ids": ("ATTCHIDS", "ATTACHIDS", "ATTACHMENTIDS", "CHILDIDS"),
    "family_range": ("FAMLYRNG", "FAMILYRANGE", "FAMRANGE"),
    "custodian": ("CUSTODIAN", "CUSTDIAN", "CUSTODIANS", "ALLCUSTODIANS", "DUPCUSTODIAN"),
    "from": ("FROM", "EMAILFROM", "SENDER"),
    "to": ("TO", "EMAILTO", "RECIPIENTS", "RECIPIENT"),
    "cc": ("CC", "EMAILCC"),
    "bcc": ("BCC", "EMAILBCC"),
    "subject": ("SUBJECT", "EMAILSUBJECT"),
    "date_sent": ("DATESENT", "SENTDATE", "DOCDATE", "DATE", "DATERCVD", "DATECRTD"),
    "time_sent": ("TIMESENT", "SENTTIME", "TIME", "TIMERCVD"),
    "message_id": ("MESSAGEID", "MSGID", "INTERNETMESSAGEID", "EMAILMESSAGEID"),
    "in_reply_to": ("INREPLYTO", "INREPLYTOID"),
    "text_path": ("TEXTPATH", "TEXTLINK", "EXTRACTEDTEXT", "TEXTFILE", "FULLTEXT", "OCRPATH", "TEXTFILEPATH"),
    "native_path": ("NATIVEPATH", "NATIVELINK", "DOCLINK", "NATIVEFILE", "NATIVE", "FILEPATH"),
    "filename": ("FILENAME", "ORIGINALFILENAME", "ORIGFILENAME"),
    "file_ext": ("FILEEXT", "FILEEXTENSION", "EXTENSION"),
    "doctype": ("DOCTYPE", "RECORDTYPE", "DOCUMENTTYPE"),
    "page_count": ("PGCOUNT", "PAGECOUNT", "PAGES", "NUMPAGES"),
    "md5": ("MD5HASH", "MD5"),
    "sha1": ("SHA1HASH", "SHA1"),
    "volume": ("PRODVOL", "VOLUME", "VOLUMENAME"),
}


def norm_name(name: str) -> str:
    return re.sub(r"[\s_#\-.]", "", name).upper()


def detect_profile(header: str) -> Profile | None:
    if CONCORDANCE.sep in header:
        return CONCORDANCE
    if DOJ_SUMMATION.sep in header:
        return DOJ_SUMMATION
    return None


def map_fields(names: list[str]) -> dict[str, int]:
    """canonical key -> column index (first alias in priority order that the header has)."""
    by_norm: dict[str, int] = {}
    for i, name in enumerate(names):
        by_norm.setdefault(norm_name(name), i)
    out = {}
    for key, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            if alias in by_norm:
                out[key] = by_norm[alias]
                break
    return out


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        name = name.strip() or "(blank)"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


# --------------------------------------------------------------------------------------------------
# People and dates (shared with the printed-PDF reader)
# --------------------------------------------------------------------------------------------------

_MAILTO = re.compile(r"^(?P<name>.*?)\s*\[\s*mailto:\s*(?P<addr>[^\]\s]+)\s*\]\s*$", re.IGNORECASE)
_ANGLE = re.compile(r"^(?P<name>.*?)\s*<\s*(?P<addr>[^<>\s]+)\s*>\s*$")


def parse_person(entry: str) -> list[dict]:
    """One multi-value entry ("Last, First", "Name <addr>", "Name [mailto:addr]", a bare address or a
    redaction mark) -> address dicts as email_message.parse_addresses makes them. Commas inside a name
    never split it."""
    entry = " ".join(entry.split())
    if len(entry) >= 2 and entry[0] == entry[-1] and entry[0] in "'\"":
        entry = entry[1:-1].strip()
    if not entry:
        return []
    if REDACTION_TOKEN.search(entry):  # what is left beside the mark may be nothing an address list can hold
        return [a for a in parse_addresses(entry) if a["name"] or a["email"] or a["redacted"]]
    match = _MAILTO.match(entry) or _ANGLE.match(entry)
    if match:
        name = match.group("name").strip().strip('"').strip("'").strip() or None
        addr = match.group("addr").strip().lower()
        return [{"name": name, "email": addr if "@" in addr else None, "redacted": False}]
    if "@" in entry and " " not in entry:
        return parse_addresses(entry)
    return [{"name": entry, "email": None, "redacted": False}]


def parse_people(raw: str | None, sep: str = ";") -> list[dict]:
    """A multi-value people field, split on `;` only (names are "Last, First")."""
    if not raw:
        return []
    return [p for entry in raw.replace("\n", sep).split(sep) for p in parse_person(entry)]


_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_WEEKDAY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
_DATE_FORMS = (
    (re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})\b"), "mdy"),
    (re.compile(r"(?P<m>\d{1,2})-(?P<d>\d{1,2})-(?P<y>\d{4})\b"), "mdy"),
    (re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?=\b|T)"), "ymd"),
    (re.compile(r"\b(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})\b"), "ymd"),
    (re.compile(r"(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})"), "named"),
    (re.compile(r"(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3,9})\.?,?\s+(?P<y>\d{4})"), "named"),
)
_TIME = re.compile(r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\.\d+)?\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?")
_ZONE = re.compile(r"(?:(?P<utc>\bZ\b|\bUTC\b|\bGMT\b)|(?P<off>[+-]\d{2}:?\d{2})\b)\s*$")


def parse_loose_datetime(raw: str | None, defects: list[str]) -> dt.datetime | None:
    """Dates as load files and printed emails write them: MM/DD/YYYY, YYYYMMDD, mm-dd-yyyy, ISO, or
    "Friday, August 27, 2010 2:52 PM", with an optional time and zone. No zone -> UTC plus a defect."""
    text = " ".join((raw or "").split())
    if not text:
        defects.append("date: missing")
        return None
    text = _WEEKDAY.sub("", text).replace(" at ", " ")
    for pattern, kind in _DATE_FORMS:
        m = pattern.search(text)
        if not m:
            continue
        try:
            year = int(m.group("y"))
            year += 2000 if year < 50 else 1900 if year < 100 else 0
            month = _MONTHS.get(m.group("mon")[:3].lower(), 0) if kind == "named" else int(m.group("m"))
            day = dt.date(year, month, int(m.group("d")))
        except (ValueError, TypeError):
            continue
        rest = text[m.end():]
        hour = minute = second = 0
        t = _TIME.search(rest)
        if t:
            hour, minute, second = int(t.group("h")), int(t.group("mi")), int(t.group("s") or 0)
            ampm = (t.group("ampm") or "").lower().replace(".", "").replace(" ", "")
            if ampm and not 1 <= hour <= 12:
                break
            if ampm == "pm" and hour != 12:
                hour += 12
            elif ampm == "am" and hour == 12:
                hour = 0
            rest = rest[t.end():]
        try:
            parsed = dt.datetime.combine(day, dt.time(hour, minute, second))
        except ValueError:
            break
        z = _ZONE.search(rest)
        if z and z.group("off"):
            off = z.group("off").replace(":", "")
            delta = dt.timedelta(hours=int(off[1:3]), minutes=int(off[3:5]))
            parsed = parsed.replace(tzinfo=dt.timezone(-delta if off[0] == "-" else delta))
        elif z:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        else:
            defects.append("date: no time zone, assumed UTC")
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        if not t:
            defects.append("date: no time of day")
        parsed = parsed.astimezone(dt.timezone.utc)
        if parsed >= FAR_FUTURE or parsed.year < 1970:
            defects.append(f"date: implausible {parsed.isoformat()}")
        return parsed
    defects.append(f"date: unparseable {raw!r}")
    return None


# --------------------------------------------------------------------------------------------------
# Paths inside the release
# --------------------------------------------------------------------------------------------------

def release_root(path: Path) -> Path:
    """The folder a load file's references must stay inside (resolved): the read root the ingest set
    (`release_files.read_root`: the release folder, or a zip's extraction folder for its members) when
    the file is inside it; else the nearest folder above that is a zip extraction folder or holds a
    release manifest; else the load file's own folder."""
    return root_for(path)


def resolve_link(raw: str, dat: Path, root: Path) -> tuple[Path | None, str | None]:
    """A Windows-style link relative to the volume root -> (file, None) or (None, problem).

    Tried against the DAT's folder and each folder above it up to the root. Resolution is lexical
    (`..` is folded, no link is followed): a drive, UNC or POSIX-absolute path, or one whose `..` leaves
    the root, is refused ("outside release refused"); a path through a symbolic link, or to a pipe or
    device, is refused ("symbolic link refused" / "not a regular file refused") and never opened. A
    single leading backslash is the volume-root convention, not an absolute path."""
    text = raw.strip().strip('"')
    win = PureWindowsPath(text)
    if win.drive or text.startswith(("\\\\", "//", "/")):
        return None, "outside release refused"
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts:
        return None, "empty path"
    real_root = os.path.realpath(root)
    folder = os.path.realpath(dat.parent)
    bases = []
    if _inside(folder, real_root):
        while True:
            bases.append(folder)
            if folder == real_root:
                break
            folder = os.path.dirname(folder)
    else:
        bases.append(real_root)
    inside, refused = [], None
    for base in bases:
        candidate = os.path.normpath(os.path.join(base, *parts))
        if _inside(candidate, real_root) and candidate != real_root:
            inside.append(candidate)
    if not inside:
        return None, "outside release refused"
    for candidate in inside:
        try:
            with open_regular(Path(candidate), Path(real_root)):
                return Path(candidate), None
        except UnsafeFile as exc:
            refused = refused or _refusal(exc)
        except OSError:
            continue
    return None, refused or "file not found"


def _refusal(exc: UnsafeFile) -> str:
    message = str(exc)
    if "symbolic link" in message:
        return "symbolic link refused"
    if "outside" in message:
        return "outside release refused"
    if "not a regular file" in message:
        return "not a regular file refused"
    return "changed while read refused"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _defect(field: str, problem: str, raw: str) -> str:
    """`textpath outside release refused: …` for refusals, `textpath: file not found: …` otherwise."""
    return f"{field} {problem}: {raw}" if problem.endswith("refused") else f"{field}: {problem}: {raw}"


# --------------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------------

def _records(lines: Iterable[str], profile: Profile, enc: Encoding, start: int) -> Iterator[tuple[int, int, list[str] | None, str | None]]:
    """(byte offset, physical line, fields or None, csv error) per record; blank lines skipped."""
    counter = {"bytes": start, "line": 0}
    offset, line_no = start, 1

    def counted() -> Iterator[str]:
        for line in lines:
            counter["bytes"] += enc.byte_len(line)
            counter["line"] += 1
            if counter["bytes"] - offset > RECORD_MAX_BYTES:
                # an unterminated qualifier would otherwise swallow the rest of the file into one value
                raise UnreadableFile(f"record starting on line {line_no} runs past {RECORD_MAX_BYTES} bytes: "
                                     "unterminated text qualifier?")
            yield line

    source = counted()
    reader = csv.reader(source, delimiter=profile.sep, quotechar=profile.quote, doublequote=True,
                        skipinitialspace=False, strict=False)
    while True:
        try:
            fields = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as exc:
            fields, error = None, str(exc)
        if fields is not None and not any(f.strip() for f in fields):
            offset, line_no = counter["bytes"], counter["line"] + 1
            continue
        yield offset, line_no, fields, error
        offset, line_no = counter["bytes"], counter["line"] + 1


class ConcordanceDatReader(Reader):
    name = "concordance_dat"
    version = "2"  # 2: cited paths resolve only inside the release or archive
    media_type = "application/vnd.concordance.dat"

    sniffed = frozenset({"concordance_dat"})  # 0x14/þ or ^|^ delimiters in the header line
    extensions = frozenset({".dat"})
    reads_other_files = True  # the text files its records cite

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        if path.stat().st_size == 0:
            raise UnreadableFile("empty file")
        enc = detect_encoding(path)
        lines = text_lines(path, enc)
        first = next(lines, "")
        profile = detect_profile(first)
        if profile is None:
            raise UnreadableFile("not a load file: no Concordance (0x14) or DOJ/Summation (|) delimiter in the header line")
        records = _records(chain([first], lines), profile, enc, enc.bom)
        header = next(records, None)
        if header is None or header[2] is None:
            raise UnreadableFile("not a load file: unreadable header line")
        names = unique_names([f.replace(profile.newline, " ") for f in header[2]])
        mapping = map_fields(names)
        if not mapping:
            raise UnreadableFile(f"not a load file: no known field name in the header ({', '.join(names[:8])})")
        stats.extra.update({"encoding": enc.name, "delimiter_profile": profile.name, "fields": names})
        yield from to_batches(self._observations(path, records, names, mapping, profile, enc, stats))

    def _observations(self, path, records, names, mapping, profile, enc, stats) -> Iterator[Observation]:
        root = release_root(path)
        text_refused = text_missing = 0
        for index, (offset, line_no, fields, error) in enumerate(records):
            stats.expected_items += 1
            row = index + 1
            if fields is None or len(fields) != len(names):
                got = "unparseable" if fields is None else f"{len(fields)} fields"
                reason = (f"record {row} (line {line_no}): {got}, header has {len(names)} fields"
                          + (f" ({error})" if error else ""))
                stats.quarantined_items += 1
                yield Observation("item_quarantined", {"index": index, "reason": reason}, offset=offset, row=row)
                continue
            values = [v.replace("\r\n", "\n").replace(profile.newline, "\n") for v in fields]
            obs = self._record(path, root, index, values, names, mapping, profile, enc)
            obs.offset, obs.row = offset, row
            defects = obs.payload["defects"]
            text_refused += any(d.startswith("textpath ") and d.split(":", 1)[0].endswith("refused") for d in defects)
            text_missing += any(d.startswith("textpath: file not found") for d in defects)
            stats.extracted_items += 1
            yield obs
        stats.extra.update({"textpath_refused": text_refused, "textpath_missing": text_missing})

    def _record(self, path, root, index, values, names, mapping, profile, enc) -> Observation:
        fields = dict(zip(names, values))

        def get(key: str) -> str | None:
            i = mapping.get(key)
            value = values[i].strip() if i is not None else ""
            return value or None

        defects: list[str] = []
        text, text_rel, text_enc = None, None, None
        if get("text_path"):
            found, problem = resolve_link(get("text_path"), path, root)
            if problem:
                defects.append(_defect("textpath", problem, get("text_path")))
            else:
                text_rel = found.relative_to(root).as_posix()
                try:
                    with open_regular(found, root) as fh:  # again: the file may have been swapped since
                        if os.fstat(fh.fileno()).st_size > TEXT_MAX_BYTES:
                            defects.append(f"textpath: text file larger than {TEXT_MAX_BYTES} bytes, not read")
                        else:
                            text, text_enc = decode_bytes(fh.read(TEXT_MAX_BYTES))
                            text = text.replace("\r\n", "\n")
                except UnsafeFile as exc:
                    text_rel = None
                    defects.append(_defect("textpath", _refusal(exc), get("text_path")))
                except OSError as exc:
                    defects.append(f"textpath: unreadable ({exc.__class__.__name__})")
        native_rel = None
        if get("native_path"):
            found, problem = resolve_link(get("native_path"), path, root)
            if problem:
                defects.append(_defect("nativepath", problem, get("native_path")))
            else:
                native_rel = found.relative_to(root).as_posix()
        date_raw = " ".join(v for v in (get("date_sent"), get("time_sent")) if v) or None
        common = {
            "index": index,
            "fields": fields,
            "encoding": enc.name,
            "delimiter_profile": profile.name,
            "bates_begin": get("bates_begin"),
            "bates_end": get("bates_end"),
            "attach_begin": get("attach_begin"),
            "attach_end": get("attach_end"),
            "parent_bates": get("parent_id"),
            "custodian": get("custodian"),
            "text_path": text_rel,
            "text_encoding": text_enc,
            "native_path": native_rel,
            "date_raw": date_raw,
        }
        is_email = bool(get("from") or get("subject"))
        if date_raw or is_email:
            occurred_at = parse_loose_datetime(date_raw, defects)
        else:
            occurred_at = None
        if not is_email:
            payload = common | {"text": text, "doctype": get("doctype"), "defects": defects}
            return Observation("load_file_record", payload, occurred_at=occurred_at, bates=get("bates_begin"))
        message_id = (get("message_id") or "").strip("<>") or None
        payload = common | {
            "message_id": message_id,
            "in_reply_to": (get("in_reply_to") or "").strip("<>") or None,
            "references": [],
            "subject": get("subject"),
            "body_text": text,
            "attachments": [],
            "defects": defects,
        }
        for key in ("from", "to", "cc", "bcc", "reply_to"):
            raw = get(key)
            payload[key] = parse_people(raw, profile.multi)
            payload[f"{key}_raw"] = raw
        return Observation("email_message", payload, occurred_at=occurred_at, bates=get("bates_begin"))
