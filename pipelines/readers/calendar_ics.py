"""`.ics` / `.ical`: iCalendar (RFC 5545) files, e.g. meeting invitations; one `calendar_event` per VEVENT.

Parsed here with no dependency: line unfolding (CRLF or LF followed by a space or tab), property
parameters (quoted values with `;`, `:` and `,` inside), escaped text (`\\,` `\\;` `\\n` `\\\\`). The
content-line helpers (`content_lines`, `unescape`) are shared with the vCard reader (contact_vcf.py).

Payload: `uid`, `summary`, `description`, `location`, `start_raw`, `end_raw` (the values as written, with
`start_tzid` / `end_tzid` when a TZID parameter is given), `all_day`, `organizer` `{name, email}`,
`attendees` `[{name, email, role, partstat}]`, `method` (of the VCALENDAR: REQUEST, CANCEL, ...),
`sequence`, `status`, `recurrence_id`, `rrule`, `defects`, `index` (0-based, file order). `occurred_at` =
the start in UTC when it parses (a floating time or a date is taken as UTC, with a defect);
`source_row` = the line of `BEGIN:VEVENT`.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Callable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, read_bytes, to_batches

MAX_LINE_CHARS = 1 << 20  # a longer unfolded line is cut (and the cut recorded)

# Outlook writes Windows zone names as TZIDs; the common ones of the corpus (US) and a few others.
WINDOWS_ZONES = {
    "eastern standard time": "America/New_York", "central standard time": "America/Chicago",
    "mountain standard time": "America/Denver", "pacific standard time": "America/Los_Angeles",
    "us mountain standard time": "America/Phoenix", "alaskan standard time": "America/Anchorage",
    "hawaiian standard time": "Pacific/Honolulu", "atlantic standard time": "America/Halifax",
    "gmt standard time": "Europe/London", "w. europe standard time": "Europe/Berlin",
    "romance standard time": "Europe/Paris", "central europe standard time": "Europe/Budapest",
    "utc": "UTC", "coordinated universal time": "UTC",
}


def decode_text(data: bytes, defects: list[str]) -> str:
    """UTF-8 (BOM or not), else cp1252 with a defect."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        defects.append("encoding: not utf-8, decoded as cp1252")
        return data.decode("cp1252", errors="replace")


def content_line_batches(path: Path, stats: FileStats, component: str, what: str,
                         observations: Callable[[str, list[str], FileStats], Iterator[Observation]]) -> Iterator[pa.Table]:
    """The batches of a file of content lines (iCalendar, vCard) that must begin a `component` within its
    first 4 KiB; the file's own defects (decoding, unfolding) go to stats.extra["defects"]."""
    data = read_bytes(path)
    file_defects: list[str] = []
    text = decode_text(data, file_defects)
    if f"BEGIN:{component}" not in text[:4096].upper():
        raise UnreadableFile(f"not {what} file: no BEGIN:{component}")
    found = list(observations(text, file_defects, stats))
    if file_defects:
        stats.extra["defects"] = file_defects
    yield from to_batches(iter(found))


def content_lines(text: str, defects: list[str], qp_soft_breaks: bool = False) -> Iterator[tuple[int, str]]:
    """(1-based physical line number where it starts, unfolded logical line). With qp_soft_breaks, a line
    ending in `=` whose property is quoted-printable (vCard 2.1) continues on the next line."""
    current: list[str] = []
    start = 0
    size = 0
    cut = False
    for number, line in enumerate(text.splitlines(), 1):
        if line[:1] in (" ", "\t") and current:
            if size < MAX_LINE_CHARS:
                current.append(line[1:])
                size += len(line) - 1
            else:
                cut = True
            continue
        if current and qp_soft_breaks and current[-1].endswith("=") and "QUOTED-PRINTABLE" in current[0].upper():
            current[-1] = current[-1][:-1]
            current.append(line)
            size += len(line)
            continue
        if current:
            yield start, "".join(current)
        if cut:
            defects.append(f"line {start}: longer than {MAX_LINE_CHARS} characters, cut")
            cut = False
        current, start, size = ([line], number, len(line)) if line.strip() else ([], number, 0)
    if current:
        yield start, "".join(current)


_NAME = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)?")


def parsed_lines(text: str, file_defects: list[str], current: Callable[[], dict | None],
                 qp_soft_breaks: bool = False) -> Iterator[tuple[int, str, dict[str, list[str]], str]]:
    """(line number, name, parameters, value) of each content line; a line that is none is skipped, with a
    defect on the component `current()` (the one open, or None)."""
    for number, line in content_lines(text, file_defects, qp_soft_breaks=qp_soft_breaks):
        parsed = parse_line(line)
        if parsed is None:
            component = current()
            if component is not None:
                component["defects"].append(f"line {number}: not a content line, skipped")
            continue
        yield (number, *parsed)


def parse_line(line: str) -> tuple[str, dict[str, list[str]], str] | None:
    """`NAME;P=a,"b;c":value` -> ('NAME', {'P': ['a', 'b;c']}, 'value'); None when it is not a content line.
    A vCard group prefix (`item1.EMAIL`) is dropped; a parameter without `=` (vCard 2.1 `EMAIL;INTERNET`)
    becomes a TYPE value."""
    m = _NAME.match(line)
    if not m:
        return None
    name = m.group(0).rsplit(".", 1)[-1].upper()
    i, params = m.end(), {}
    while i < len(line) and line[i] == ";":
        i += 1
        eq = i
        while eq < len(line) and line[eq] not in "=;:":
            eq += 1
        key = line[i:eq].strip().upper()
        if eq >= len(line) or line[eq] != "=":
            if key:
                params.setdefault("TYPE", []).append(key)
            i = eq
            continue
        i = eq + 1
        values = []
        while True:
            if i < len(line) and line[i] == '"':
                end = line.find('"', i + 1)
                end = len(line) if end < 0 else end
                values.append(line[i + 1:end])
                i = end + 1
            else:
                end = i
                while end < len(line) and line[end] not in ",;:":
                    end += 1
                values.append(line[i:end])
                i = end
            if i < len(line) and line[i] == ",":
                i += 1
                continue
            break
        params.setdefault(key, []).extend(values)
    if i >= len(line) or line[i] != ":":
        return None
    return name, params, line[i + 1:]


_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def unescape(value: str) -> str:
    """RFC 5545 / 6350 TEXT: `\\n` and `\\N` -> newline; `\\,` `\\;` `\\\\` -> the character."""
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def split_unescaped(value: str, sep: str) -> list[str]:
    """Split at `sep` not preceded by a backslash, then unescape each part (vCard N, ORG, ADR)."""
    parts, cur, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            cur.append(value[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append(unescape("".join(cur)))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append(unescape("".join(cur)))
    return parts


def _first(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


def _address(params: dict[str, list[str]], value: str) -> dict:
    value = value.strip()
    email = value[7:] if value.lower().startswith("mailto:") else (value if "@" in value else None)
    return {"name": (_first(params, "CN") or "").strip() or None, "email": email.strip().lower() if email else None}


_DATE_TIME = re.compile(r"(\d{4})(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)?(Z)?)?")


def parse_start(value: str, tzid: str | None, defects: list[str], what: str) -> tuple[dt.datetime | None, bool]:
    """(the time in UTC or None, all_day)."""
    m = _DATE_TIME.fullmatch(value.strip())
    if not m:
        defects.append(f"{what}: unparseable {value!r}")
        return None, False
    year, month, day, hh, mm, ss, zulu = m.groups()
    try:
        if hh is None:
            return dt.datetime(int(year), int(month), int(day), tzinfo=dt.timezone.utc), True
        local = dt.datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss or 0))
    except ValueError:
        defects.append(f"{what}: invalid date {value!r}")
        return None, False
    if zulu:
        return local.replace(tzinfo=dt.timezone.utc), False
    if tzid:
        zone = _zone(tzid)
        if zone is None:
            defects.append(f"{what}: unknown TZID {tzid!r}, assumed UTC")
            return local.replace(tzinfo=dt.timezone.utc), False
        return local.replace(tzinfo=zone).astimezone(dt.timezone.utc), False
    defects.append(f"{what}: no time zone, assumed UTC")
    return local.replace(tzinfo=dt.timezone.utc), False


def _zone(tzid: str):
    name = tzid.strip().strip("/")
    for candidate in (name, WINDOWS_ZONES.get(name.lower())):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return None


class CalendarIcsReader(Reader):
    name = "calendar_ics"
    version = "1"
    media_type = "text/calendar"

    sniffed = frozenset({"icalendar"})
    extensions = frozenset({".ics", ".ical", ".ifb", ".vcs"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        yield from content_line_batches(path, stats, "VCALENDAR", "an iCalendar", self._events)

    def _events(self, text: str, file_defects: list[str], stats: FileStats) -> Iterator[Observation]:
        method = None
        stack: list[str] = []
        event: dict | None = None
        start_line = 0
        index = 0
        components: dict[str, int] = {}
        for number, name, params, value in parsed_lines(text, file_defects, lambda: event):
            if name == "BEGIN":
                kind = value.strip().upper()
                stack.append(kind)
                components[kind] = components.get(kind, 0) + 1
                if kind == "VEVENT" and event is None:
                    event, start_line = self._empty(), number
                continue
            if name == "END":
                kind = value.strip().upper()
                if kind in stack:
                    while stack and stack.pop() != kind:
                        pass
                if kind == "VEVENT" and event is not None:
                    yield self._observation(event, method, index, start_line)
                    index += 1
                    event = None
                continue
            if event is None:
                if name == "METHOD" and stack[-1:] == ["VCALENDAR"]:
                    method = value.strip().upper()
                continue
            if stack[-1:] != ["VEVENT"]:
                continue  # a VALARM (or other) inside the event
            self._property(event, name, params, value)
        if event is not None:
            event["defects"].append("VEVENT not closed (no END:VEVENT)")
            yield self._observation(event, method, index, start_line)
            index += 1
        stats.expected_items = stats.extracted_items = index
        stats.extra["components"] = dict(sorted(components.items()))

    @staticmethod
    def _empty() -> dict:
        return {"uid": None, "summary": None, "description": None, "location": None, "start_raw": None,
                "start_tzid": None, "end_raw": None, "end_tzid": None, "organizer": None, "attendees": [],
                "sequence": None, "status": None, "recurrence_id": None, "rrule": None, "defects": []}

    @staticmethod
    def _property(event: dict, name: str, params: dict, value: str) -> None:
        text_keys = {"UID": "uid", "SUMMARY": "summary", "DESCRIPTION": "description", "LOCATION": "location",
                     "STATUS": "status"}
        if name in text_keys:
            key = text_keys[name]
            if event[key] is None:
                event[key] = unescape(value) if key != "uid" else value.strip()
            else:
                event["defects"].append(f"{name}: repeated, first kept")
        elif name in ("DTSTART", "DTEND"):
            key = "start" if name == "DTSTART" else "end"
            event[f"{key}_raw"], event[f"{key}_tzid"] = value.strip(), _first(params, "TZID")
        elif name == "ORGANIZER":
            event["organizer"] = _address(params, value)
        elif name == "ATTENDEE":
            attendee = _address(params, value)
            attendee["role"] = _first(params, "ROLE")
            attendee["partstat"] = _first(params, "PARTSTAT")
            event["attendees"].append(attendee)
        elif name == "SEQUENCE":
            try:
                event["sequence"] = int(value.strip())
            except ValueError:
                event["defects"].append(f"SEQUENCE: not a number {value!r}")
        elif name == "RECURRENCE-ID":
            event["recurrence_id"] = value.strip()
        elif name == "RRULE":
            event["rrule"] = value.strip()

    @staticmethod
    def _observation(event: dict, method: str | None, index: int, line: int) -> Observation:
        defects = event["defects"]
        occurred, all_day = (None, False)
        if event["start_raw"]:
            occurred, all_day = parse_start(event["start_raw"], event["start_tzid"], defects, "dtstart")
            if all_day and "dtstart: no time zone, assumed UTC" not in defects:
                defects.append("dtstart: a date without a time, taken as 00:00 UTC")
        else:
            defects.append("dtstart: missing")
        payload = {**event, "method": method, "all_day": all_day, "index": index}
        return Observation("calendar_event", payload, occurred_at=occurred, row=line)
