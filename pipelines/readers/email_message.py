"""Shared by the eml and mbox readers: one RFC 822 message (bytes) -> an `email_message` observation.

Parses with fast-mail-parser (Rust; ~40x the standard library here) and falls back to the standard
library's compat32 parser for what it cannot read and for messages carrying attached messages. Both
paths produce one payload shape; every problem found is listed in `defects` rather than dropping the
message.
"""
from __future__ import annotations

import datetime as dt
import email
import email.header
import email.utils
import hashlib
import re
from email.message import Message
from email.policy import compat32

import fast_mail_parser

from .base import Observation

REDACTION_TOKEN = re.compile(r"\[REDACTED[^\]]*\]", re.IGNORECASE)
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)
ADDRESS_FIELDS = ("from", "to", "cc", "bcc", "reply_to")
HEADER_NAMES = ("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To", "References")
MAX_ATTACHED_DEPTH = 8  # attached messages inside attached messages, at most this deep
_ADDRESS_KEYS = tuple((name, name.replace("_", "-").title(), f"{name}_raw") for name in ADDRESS_FIELDS)


def decode_header(value: str | None, defects: list[str], name: str) -> str | None:
    if value is None:
        return None
    try:
        text = str(email.header.make_header(email.header.decode_header(str(value))))
    except (UnicodeError, LookupError, email.errors.HeaderParseError) as exc:
        defects.append(f"{name}: undecodable header ({exc.__class__.__name__})")
        text = str(value)
    return " ".join(text.split())


# `Name <addr>` or a bare `addr`, with nothing the full RFC 5322 grammar would treat specially.
_SIMPLE_ADDRESS = re.compile(r"^\s*(?:([^<>@,]*?)\s*<([^<>\s,]+)>|([^<>\s,]+@[^<>\s,]+))\s*$")
_SPECIAL = re.compile(r'["()\\;:\[]')


_PARTS: dict[str, tuple | None | bool] = {}  # one comma-separated part -> _simple_part(part)
_PARTS_MAX = 8192  # correspondents repeat: a small cache answers most parts of a mailbox
_UNSEEN = object()


def _simple_addresses(rest: str) -> list[tuple[str | None, str | None]] | None:
    """Most headers are plain lists; parse those with one regex (getaddresses dominated ingest time).
    Returns their (name, email) entries, or None when a part needs the full grammar."""
    if _SPECIAL.search(rest):
        return None
    entries = []
    for part in rest.split(","):
        entry = _PARTS.get(part, _UNSEEN)
        if entry is _UNSEEN:
            entry = _remember(part)
        if entry is False:
            return None
        if entry is not None:
            entries.append(entry)
    return entries


def _remember(part: str) -> tuple | None | bool:
    if len(_PARTS) >= _PARTS_MAX:
        _PARTS.clear()
    _PARTS[part] = entry = _simple_part(part)
    return entry


def _simple_part(part: str) -> tuple | None | bool:
    """(name, email) of one simple part; None for a blank part, False if it is not simple."""
    if not part.strip():
        return None
    m = _SIMPLE_ADDRESS.match(part)
    return False if m is None else _entry(m.group(1) or "", m.group(2) or m.group(3))


def _entry(name: str, addr: str) -> tuple[str | None, str | None] | None:
    """Normalised (name, email) of one address; None when it has neither."""
    addr = addr.strip().lower()
    name = " ".join(name.split()) or None
    if not addr and not name:
        return None
    return name, addr if "@" in addr else None


def parse_addresses(raw: str | None) -> list[dict]:
    """Address list; a redaction mark standing in for a person becomes an entry with no email."""
    if not raw:
        return []
    out, rest = [], raw
    if "[" in raw:  # every redaction mark starts with one; most headers have none
        out = [{"name": tok, "email": None, "redacted": True} for tok in REDACTION_TOKEN.findall(raw)]
        rest = REDACTION_TOKEN.sub("", raw)
    entries = _simple_addresses(rest)
    if entries is None:
        entries = [e for e in (_entry(name, addr) for name, addr in email.utils.getaddresses([rest])) if e]
    out += [{"name": name, "email": addr, "redacted": False} for name, addr in entries]
    return out


# The usual `Mon, 01 Mar 2019 00:00:00 -0500`; anything else goes to parsedate_to_datetime.
_COMMON_DATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                          r"(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)", re.ASCII)
_ZONES: dict[str, dt.timezone] = {}  # "-0500" -> its zone (at most 20,000 of them)
_MONTHS = {m: n for n, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def _common_date(raw: str) -> dt.datetime | None:
    """parsedate_to_datetime's result for the common format, without its general tokenizer; None
    for anything else or anything it might read differently (-0000, years < 100, invalid fields)."""
    m = _COMMON_DATE.fullmatch(raw)
    if m is None:
        return None
    day, month, year, hh, mm, ss, sign, tzh, tzm = m.groups()
    offset = int(tzh) * 3600 + int(tzm) * 60
    if int(year) < 100 or (sign == "-" and offset == 0):
        return None
    try:
        zone = _ZONES.get(raw[-5:]) or _ZONES.setdefault(raw[-5:], dt.timezone(dt.timedelta(
            seconds=-offset if sign == "-" else offset)))
        return dt.datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=zone)
    except (ValueError, OverflowError):
        return None


def parse_date(raw: str | None, defects: list[str]) -> dt.datetime | None:
    if not raw:
        defects.append("date: missing")
        return None
    parsed = _common_date(raw) if type(raw) is str else None
    if parsed is None:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            defects.append(f"date: unparseable {raw!r}")
            return None
    if parsed.tzinfo is None:
        defects.append("date: no time zone, assumed UTC")
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    parsed = parsed.astimezone(dt.timezone.utc)
    if parsed >= FAR_FUTURE or parsed.year < 1970:
        defects.append(f"date: implausible {parsed.isoformat()}")
    return parsed


def _decode_part(part: Message, defects: list[str]) -> str:
    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return data.decode(charset)
    except LookupError:
        defects.append(f"body: unknown charset {charset!r}, read as windows-1252")
        return data.decode("windows-1252", errors="replace")
    except UnicodeDecodeError:
        defects.append(f"body: bytes invalid for charset {charset!r}, replaced")
        return data.decode(charset, errors="replace")


def _html_to_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style).*?</\1>", "", html)
    html = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", html)
    text = re.sub(r"<[^>]+>", "", html)
    return email.utils.unquote(text).replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def _body_and_attachments(msg: Message, defects: list[str]) -> tuple[str, list[dict]]:
    plain, html, attachments = [], [], []
    for part in _leaf_parts(msg):
        ctype = part.get_content_type()
        filename = part.get_filename()
        disposition = (part.get("Content-Disposition") or "").lower()
        if filename or disposition.startswith("attachment") or ctype == "message/rfc822":
            payload = _attached_bytes(part) if part.is_multipart() else part.get_payload(decode=True) or b""
            attachments.append(
                {
                    "filename": decode_header(filename, defects, "attachment") if filename else None,
                    "media_type": ctype,
                    "size_bytes": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                }
            )
        elif ctype == "text/plain":
            plain.append(_decode_part(part, defects))
        elif ctype == "text/html":
            html.append(_decode_part(part, defects))
    if plain:
        return "\n".join(plain), attachments
    if html:
        return _html_to_text("\n".join(html)), attachments
    return "", attachments


def _leaf_parts(msg: Message):
    """Non-multipart parts, plus each attached message (message/rfc822) as one part: its own parts are
    not walked, so an attached email's text is not inlined into the body of the message carrying it."""
    for part in msg.get_payload() if msg.is_multipart() else [msg]:
        if part is not msg and part.get_content_type() == "message/rfc822" and part.is_multipart():
            yield part
        elif part.is_multipart():
            yield from _leaf_parts(part)
        else:
            yield part


def _attached_bytes(part: Message) -> bytes:
    """Bytes of an attached message (the parser has already parsed it; this re-serialises it)."""
    inner = part.get_payload()
    if not inner:
        return b""
    try:
        return inner[0].as_bytes(policy=compat32)
    except (UnicodeError, LookupError, ValueError):
        return str(inner[0]).encode("utf-8", errors="replace")


def nested_messages(msg: Message) -> list[bytes]:
    """Bytes of each message attached to `msg` (message/rfc822 parts, not those nested inside them)."""
    return [_attached_bytes(p) for p in _leaf_parts(msg) if p.is_multipart() and p.get_content_type() == "message/rfc822"]


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def _ids(value: str | None) -> list[str]:
    return _MESSAGE_ID.findall(value) if value else []


def message_observation(data: bytes, index: int, offset: int | None = None) -> Observation:
    return _fast_observation(data, index, offset) or _observation(
        email.message_from_bytes(data, policy=compat32), index, offset)


def message_observations(data: bytes, index: int, offset: int | None, next_index: int,
                         attached_to: int | None = None, depth: int = 0) -> tuple[list[Observation], int]:
    """The message's observation followed by one per attached message (recursively), each with
    `attached_to_index` and the next free index from `next_index`; returns them and the next free index."""
    fast = None if _may_carry_messages(data) else _fast_observation(data, index, offset)
    if fast is not None:
        if attached_to is not None:
            fast.payload["attached_to_index"] = attached_to
        return [fast], next_index
    msg = email.message_from_bytes(data, policy=compat32)
    obs = _observation(msg, index, offset)
    out = [obs]
    if attached_to is not None:
        obs.payload["attached_to_index"] = attached_to
    if depth >= MAX_ATTACHED_DEPTH:
        return out, next_index
    for inner in nested_messages(msg):
        child, next_index = next_index, next_index + 1
        more, next_index = message_observations(inner, child, offset, next_index, index, depth + 1)
        out += more
    return out, next_index


def _may_carry_messages(data: bytes) -> bool:
    """Attached messages need the standard library's tree walk; everything else takes the fast path."""
    return b"message/rfc822" in data or b"Message/RFC822" in data or b"message/RFC822" in data


def _fast_observation(data: bytes, index: int, offset: int | None) -> Observation | None:
    """fast-mail-parser (Rust, tens of times faster than the stdlib); None when it cannot parse the
    message, so the standard library gets its turn and nothing is lost."""
    try:
        mail = fast_mail_parser.parse_email(data)
    except Exception:  # ParseError and its subtypes, or anything unexpected: fall back
        return None
    raw = mail.headers
    warnings = mail.warnings  # read once: each access builds a new list
    # Addresses are parsed by parse_addresses() from the raw header (redaction marks included), so
    # the parser's opinion of the address syntax is not a defect of ours.
    defects = [f"{w.kind}: {w.detail}" if w.detail else str(w.kind) for w in warnings
               if w.kind != "address-unparseable"]
    if not raw:
        defects.append("headers: none found")
    headers = {}
    for name in HEADER_NAMES:
        values = raw.get(name)
        headers[name] = " ".join(", ".join(values).split()) if values else None
    message_ids = _ids(headers["Message-ID"])
    body = "\n".join(mail.text_plain) if mail.text_plain else (
        _html_to_text("\n".join(mail.text_html)) if mail.text_html else "")
    if "\ufffd" in body or any(w.kind == "charset-fallback" for w in warnings):
        return None  # lossy decoding: the standard library path falls back to windows-1252 and says so
    attachments = [
        {"filename": att.filename, "media_type": att.mimetype, "size_bytes": len(att.content),
         "sha256": hashlib.sha256(att.content).hexdigest()}
        for att in mail.attachments
    ]
    return _assemble(headers, message_ids, body, attachments, defects, index, offset)


def _observation(msg: Message, index: int, offset: int | None) -> Observation:
    defects = [type(d).__name__ for d in msg.defects]
    if not msg.keys():
        defects.append("headers: none found")

    def header(name: str) -> str | None:
        values = msg.get_all(name)
        if not values:
            return None
        return ", ".join(v for v in (decode_header(v, defects, name.lower()) for v in values) if v) or None

    headers = {name: header(name) for name in HEADER_NAMES}
    body, attachments = _body_and_attachments(msg, defects)
    return _assemble(headers, _ids(headers["Message-ID"]), body, attachments, defects, index, offset)


def _assemble(headers: dict, message_ids: list[str], body: str, attachments: list[dict], defects: list[str],
              index: int, offset: int | None) -> Observation:
    """One payload shape whichever parser read the message."""
    occurred_at = parse_date(headers["Date"], defects)
    payload = {
        "index": index,
        "message_id": message_ids[0] if message_ids else None,
        "in_reply_to": (_ids(headers["In-Reply-To"]) or [None])[0],
        "references": _ids(headers["References"]),
        "subject": headers["Subject"],
        "date_raw": headers["Date"],
        "body_text": body,
        "attachments": attachments,
        "defects": defects,
    }
    for name, header, raw_key in _ADDRESS_KEYS:
        raw = headers[header]
        payload[name] = parse_addresses(raw)
        payload[raw_key] = raw
    return Observation("email_message", payload, occurred_at=occurred_at, offset=offset)
