"""Shared by the eml, emlx and mbox readers: one RFC 822 message (bytes) -> an `email_message` observation.

Parses with fast-mail-parser's MIME tree (Rust; several times the standard library here) and falls back
to the standard library's compat32 parser for what it cannot read, for messages carrying attached
messages and wherever the two parsers could see different trees. Both trees become one small `_Part`
tree, and one code path picks the body from it as a mail client shows it (multipart/alternative: the
plain part when there is one; other multiparts: every inline text part in order; HTML shown converted
to text and kept in `body_html`), decodes each part with a recorded charset fallback, and lists the
attachments. So both paths produce one payload, identical where both can read the message; every
problem found is listed in `defects` rather than dropping the message.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import datetime as dt
import email
import email.header
import email.utils
import functools
import hashlib
import quopri
import re
from email.message import Message
from html.parser import HTMLParser
from email.policy import compat32

import fast_mail_parser
import orjson

from .base import Observation, canonical_json

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


def common_date(raw: str) -> dt.datetime | None:
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
    parsed = common_date(raw) if type(raw) is str else None
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


# ---- The body as a mail client shows it -------------------------------------------------------------
# Both parsers' MIME trees are turned into the same small `_Part` tree and everything after that (which
# parts are body, how each is decoded, what is an attachment) is one code path, so the fast path and the
# standard-library path give the same body wherever both can read a message.

BODY_TYPES = ("text/plain", "text/html")
_UNKNOWN_CHARSETS = frozenset({"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "8bit", "default", ""})
_ANY_BYTES = frozenset({"iso8859-1", "cp1252"})  # codecs that accept (almost) any bytes, so a lie never fails
_C1 = re.compile(rb"[\x80-\x9f]")
_CHARSET = re.compile(r';\s*charset\s*=\s*(?:"([^"]*)"|([^;\s"]*))', re.IGNORECASE)
_BOUNDARY = re.compile(r';\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s"]*))', re.IGNORECASE)


class _Part:
    """One MIME node: a container (`children`) or a leaf (`data`, transfer-decoded bytes)."""

    __slots__ = ("media_type", "charset", "disposition", "filename", "children", "data")

    def __init__(self, media_type: str, charset: str | None, disposition: str, filename: str | None,
                 children: list[_Part] | None, data: bytes | None):
        self.media_type, self.charset, self.disposition = media_type, charset, disposition
        self.filename, self.children, self.data = filename, children, data


def _media_type(raw: str | None, default: str = "text/plain") -> str:
    """Message.get_content_type()'s answer for a Content-Type value (RFC 2045: invalid -> text/plain)."""
    if raw is None:
        return default
    ctype = str(raw).partition(";")[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


def _charset(raw: str | None) -> str | None:
    """The charset parameter of a Content-Type value, lower-cased, or None."""
    if not raw:
        return None
    raw = str(raw)
    m = _CHARSET.search(raw)
    if m is not None:
        return (m.group(1) if m.group(1) is not None else m.group(2)).strip().lower() or None
    if "charset*" not in raw.lower():
        return None
    probe = Message()  # RFC 2231 (charset*=utf-8''...): the standard library's parameter grammar
    probe["Content-Type"] = raw
    try:
        value = probe.get_param("charset")
        value = email.utils.collapse_rfc2231_value(value) if value else None
    except (LookupError, UnicodeError, ValueError, TypeError):
        return None
    return str(value).strip().lower() or None if value else None


def _disposition(raw: str | None) -> str:
    return str(raw).partition(";")[0].strip().lower() if raw else ""


@functools.lru_cache(maxsize=256)
def _codec(label: str) -> str | None:
    """Python's name for a charset label, or None when Python has no text codec by that name."""
    if label in _UNKNOWN_CHARSETS:
        return None
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode_text(data: bytes, declared: str | None, defects: list[str]) -> tuple[str, str]:
    """(text, what it was decoded as). Never raises: the declared charset first, then utf-8, cp1252 and
    latin-1 (errors='replace'); any fallback is recorded in `defects`."""
    label = declared or "us-ascii"  # RFC 2045's default
    codec = _codec(label)
    reason = "unknown charset"
    if codec is not None:
        try:
            text = data.decode(codec)
        except Exception:  # UnicodeError, or a codec that fails in its own way: never fatal
            reason = "bytes invalid for it"
        else:
            if codec not in _ANY_BYTES or data.isascii():
                return text, label
            # latin-1 / cp1252 decode nearly anything, so a wrong label never fails on its own. Valid
            # UTF-8 with non-ASCII bytes is practically never real latin-1 text, and C1 bytes (0x80-0x9f)
            # under latin-1 are cp1252's quotes and dashes: read each as what it is.
            try:
                return _fell_back(data.decode("utf-8"), declared, "utf-8", "utf-8 bytes", defects)
            except UnicodeDecodeError:
                pass
            if codec == "cp1252" or not _C1.search(data):
                return text, label
            try:
                return _fell_back(data.decode("cp1252"), declared, "cp1252", "cp1252 bytes", defects)
            except UnicodeDecodeError:
                return text, label  # C1 bytes cp1252 does not define either: latin-1 is as good as any
    for fallback in ("utf-8", "cp1252"):
        if fallback != codec:
            try:
                return _fell_back(data.decode(fallback), declared, fallback, reason, defects)
            except UnicodeDecodeError:
                pass
    return _fell_back(data.decode("latin-1", errors="replace"), declared, "latin-1", reason, defects)


def _fell_back(text: str, declared: str | None, used: str, reason: str, defects: list[str]) -> tuple[str, str]:
    if declared is None:
        defect = f"charset: none declared (8-bit bytes), decoded as {used}"
    else:
        defect = f"charset: declared {declared} ({reason}), decoded as {used}"
    if defect not in defects:
        defects.append(defect)
    return text, used


class _HtmlText(HTMLParser):
    """HTML -> the text a reader sees: no tags, scripts or styles; blocks on lines of their own."""

    SKIP = frozenset({"script", "style", "title", "template"})
    PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table", "pre", "hr", "dl"})
    LINE = frozenset({"div", "tr", "dt", "dd", "section", "article", "header", "footer", "address", "center",
                      "form", "fieldset", "caption", "tbody", "thead", "tfoot"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append("\t")
        elif tag in self.PARAGRAPH or tag in self.LINE:
            self.out.append("\n\n" if tag in self.PARAGRAPH else "\n")
            self.pre += tag == "pre"

    def handle_startendtag(self, tag, attrs):
        if tag in ("br", "hr"):
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.PARAGRAPH or tag in self.LINE:
            self.out.append("\n\n" if tag in self.PARAGRAPH else "\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data if self.pre else _HTML_SPACE.sub(" ", data))


_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
        text = "".join(parser.out)
    except Exception:  # html.parser is lenient, but a parser bug must not lose the message
        text = re.sub(r"<[^>]+>", " ", re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", "", html))
    lines = (line.replace("\xa0", " ").strip(" \t") for line in text.replace("\r\n", "\n").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _is_body(part: _Part) -> bool:
    return part.children is None and part.media_type in BODY_TYPES and part.disposition != "attachment"


def _shows(part: _Part, media_type: str) -> bool:
    """Whether `part` shows a `media_type` body (a text/plain one only when it is not blank)."""
    if part.children is None:
        return _is_body(part) and part.media_type == media_type and (media_type != "text/plain" or not part.data.isspace()
                                                                       and part.data != b"")
    return any(_shows(child, media_type) for child in part.children)


def _chosen(alternatives: list[_Part]) -> _Part | None:
    """The alternative a mail client shows, preferring plain text: the last that has (non-blank) plain
    text (RFC 2046 orders alternatives from the plainest to the preferred), else the last that has HTML,
    else the first."""
    for child in reversed(alternatives):
        if _shows(child, "text/plain"):
            return child
    for child in reversed(alternatives):
        if _shows(child, "text/html"):
            return child
    return alternatives[0] if alternatives else None


def _walk(part: _Part, shown: bool, body: list[_Part], attachments: list[_Part], hidden: list[_Part]) -> None:
    """Body parts (in order) and attachments. multipart/alternative shows one of its children; every
    other multipart shows all of them in order. Alternatives not shown are neither body nor attachment
    (their HTML is kept in `hidden`, so nothing the sender wrote is lost), but non-text parts inside them
    (an HTML alternative's inline images) are still listed."""
    if part.children is None:
        if _is_body(part):
            (body if shown else hidden).append(part)
        else:
            attachments.append(part)
        return
    if part.media_type == "multipart/alternative":
        chosen = _chosen(part.children) if shown else None
        for child in part.children:
            _walk(child, child is chosen, body, attachments, hidden)
    else:
        for child in part.children:
            _walk(child, shown, body, attachments, hidden)


def _body_and_attachments(root: _Part, defects: list[str]) -> tuple[dict, list[dict]]:
    """{"body_text", "body_html", "body_parts"} and the attachment entries of one message tree."""
    shown, attached, hidden = [], [], []
    _walk(root, True, shown, attached, hidden)
    texts, html, parts = [], [], []
    for part in shown:
        text, decoded_as = decode_text(part.data, part.charset, defects)
        text = text.replace("\r\n", "\n")
        if part.media_type == "text/html":
            html.append(text)
            text = html_to_text(text)
        parts.append({"media_type": part.media_type, "charset": part.charset, "decoded_as": decoded_as,
                      "bytes": len(part.data)})
        if text.strip():
            texts.append(text)
    # parts joined by one blank line (a part's own trailing line breaks are not doubled)
    body_text = "\n\n".join([t.rstrip("\n") for t in texts[:-1]] + texts[-1:])
    attachments = [_attachment(part, defects) for part in attached]
    # alternatives a mail client did not show are kept too (it could show them instead): nothing is lost
    html += [decode_text(p.data, p.charset, [])[0].replace("\r\n", "\n") for p in hidden if p.media_type == "text/html"]
    other = [decode_text(p.data, p.charset, [])[0].replace("\r\n", "\n") for p in hidden if p.media_type != "text/html"]
    return {"body_text": body_text, "body_html": "\n".join(html) if html else None, "body_parts": parts,
            "alternative_text": "\n\n".join(t for t in other if t.strip()) or None}, attachments


ATTACHMENT_TEXT_BYTES = 1 << 20  # text attachments up to this size carry their text (searchable, citable)


def _attachment(part: _Part, defects: list[str]) -> dict:
    entry = {
        "filename": decode_header(part.filename, defects, "attachment") if part.filename else None,
        "media_type": part.media_type,
        "size_bytes": len(part.data),
        "sha256": hashlib.sha256(part.data).hexdigest(),
    }
    if part.media_type.startswith("text/") and len(part.data) <= ATTACHMENT_TEXT_BYTES:
        text = decode_text(part.data, part.charset, [])[0].replace("\r\n", "\n")
        entry["text"] = html_to_text(text) if part.media_type == "text/html" else text
    return entry


def _std_part(part: Message, defects: list[str], root: bool = False) -> _Part:
    """A standard-library message (compat32) as a _Part tree. An attached message (message/rfc822) is one
    leaf holding its re-serialised bytes: its own parts are not walked, so an attached email's text is not
    inlined into the body of the message carrying it."""
    ctype = part.get("Content-Type")
    media = part.get_content_type()
    disposition = _disposition(part.get("Content-Disposition"))
    charset = _charset(ctype) if media in BODY_TYPES else None
    if part.is_multipart():
        if media.startswith("message/") and not root:
            data = _attached_bytes(part) if media == "message/rfc822" else _carried_bytes(part)
            return _Part(media, None, disposition, part.get_filename(), None, data)
        return _Part(media, None, disposition, None, [_std_part(p, defects) for p in part.get_payload()], None)
    data = part.get_payload(decode=True) or b""
    if media.startswith("multipart/"):  # no boundary, or none found: show it as the text it is
        defects.append(f"mime: {media} without parts, read as text/plain")
        media, charset = "text/plain", _charset(ctype)
    return _Part(media, charset, disposition, part.get_filename(), None, data)


class _NotFast(Exception):
    """The fast parser's tree may differ from the standard library's here: let the latter read it."""


def _header(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    if values is None:
        lname = name.lower()
        values = next((v for k, v in headers.items() if k.lower() == lname), None)
        if values is None:
            return None
    if len(values) != 1:
        raise _NotFast  # repeated Content-* headers: which one wins is a parser's choice
    return values[0]


# Where the two parsers decode quoted-printable differently: fast-mail-parser drops whitespace before a
# line end and 8-bit bytes, and reads '==3D' otherwise. Messages with a quoted-printable part and any of
# these anywhere go to the standard library (rare: encoders write =20, =3D and =XX).
_QP_RISK = re.compile(rb"[ \t](?:\r?\n|\Z)|==|[^\x00-\x7f]")


# The standard library's header-line test (email.feedparser.headerRE): a line failing it ends the headers
# and starts the body (MissingHeaderBodySeparatorDefect).
_HEADER_BAD = re.compile(rb"^(?!From |[\x21-\x39\x3b-\x7e]*:|[\t ])", re.MULTILINE)
_HEADER_END = re.compile(rb"\n\r?\n")


def _headers_clean(data: bytes, start: int) -> bool:
    """Whether the header block at `start` reads as headers to the standard library up to its blank line."""
    if data.startswith((b"\n", b"\r\n"), start):
        return True
    end = _HEADER_END.search(data, start)
    return _HEADER_BAD.search(data, start, end.start() if end else len(data)) is None


def _parts_delimited(data: bytes, boundary: bytes, parts: int) -> bool:
    """Whether a multipart's delimiter lines are unambiguous: one opening delimiter per part the fast
    parser found, then a closing one, and every part's headers clean (elsewhere the parsers disagree)."""
    opened = 0
    for m in re.finditer(rb"^--" + re.escape(boundary) + rb"(--)?[ \t]*(\r?\n|\r?\Z)", data, re.MULTILINE):
        if m.group(1):
            return opened == parts
        opened += 1
        if not _headers_clean(data, m.end()):
            return False
    return False


def _fast_part(node, data: bytes) -> _Part:
    """A fast-mail-parser tree as a _Part tree, or _NotFast where the standard library could see
    another tree or other bytes (attached messages, a multipart without parts or without its closing
    boundary, quoted-printable the two decode differently)."""
    headers = node.headers
    ctype = _header(headers, "Content-Type")
    media = _media_type(ctype)
    if node.is_message or media.startswith("message/"):
        raise _NotFast
    disposition = _disposition(_header(headers, "Content-Disposition"))
    content = node.content
    if content is None or media.startswith("multipart/"):
        boundary = _BOUNDARY.search(ctype or "")
        boundary = boundary and (boundary.group(1) if boundary.group(1) is not None else boundary.group(2)).rstrip()
        if content is not None or not node.children or not boundary or not media.startswith("multipart/") \
                or not _parts_delimited(data, boundary.encode("utf-8", "surrogateescape"), len(node.children)):
            raise _NotFast
        return _Part(media, None, disposition, None, [_fast_part(child, data) for child in node.children], None)
    if content and (_header(headers, "Content-Transfer-Encoding") or "").strip().lower() == "quoted-printable":
        if _QP_RISK.search(data):
            raise _NotFast
        # fast-mail-parser ends quoted-printable lines with CRLF; the standard library keeps the message's
        # own line ends. Undo that where it is certain: a message with no CR (literal or =0D) of its own.
        if b"\r" not in content:
            pass
        elif b"\r" not in data and b"=0D" not in data and b"=0d" not in data:
            content = content.replace(b"\r\n", b"\n")
        elif data.count(b"\n") != data.count(b"\r\n"):
            raise _NotFast  # mixed line ends: leave it to the standard library
    charset = _charset(ctype) if media in BODY_TYPES else None
    return _Part(media, charset, disposition, node.filename or None, None, content)


def _attached_bytes(part: Message) -> bytes:
    """Bytes of an attached message (the parser has already parsed it; this re-serialises it).

    RFC 2046 forbids encoding a message/rfc822 part, but some mailers (GroupWise) base64 it anyway: the
    parser then sees a message without headers whose body is the encoded text, which is decoded here."""
    inner = part.get_payload()
    if not inner:
        return b""
    try:
        data = inner[0].as_bytes(policy=compat32)
    except (UnicodeError, LookupError, ValueError):
        data = str(inner[0]).encode("utf-8", errors="replace")
    encoding = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if encoding in ("base64", "quoted-printable"):
        first_line = data.lstrip(b"\r\n").split(b"\n", 1)[0]
        # the encoded text is all there is when the parser found no header line in it
        body = data if b":" not in first_line else data.split(b"\n\n", 1)[-1]
        try:
            decoded = base64.b64decode(b"".join(body.split()), validate=False) if encoding == "base64" else quopri.decodestring(body)
        except (binascii.Error, ValueError):
            return data
        if decoded[:512].count(b":") and not decoded.startswith(b"\x00"):
            return decoded
    return data


def _carried_bytes(part: Message) -> bytes:
    """Bytes of another message/* part the parser split into header blocks (message/delivery-status)."""
    out = []
    for inner in part.get_payload():
        try:
            out.append(inner.as_bytes(policy=compat32))
        except (UnicodeError, LookupError, ValueError):
            out.append(str(inner).encode("utf-8", errors="replace"))
    return b"\n".join(out)


def _leaf_parts(msg: Message):
    """Non-multipart parts, plus each attached message (message/rfc822) as one part: its own parts are
    not walked (each attached message becomes an email_message of its own)."""
    for part in msg.get_payload() if msg.is_multipart() else [msg]:
        if part is not msg and part.get_content_type() == "message/rfc822" and part.is_multipart():
            yield part
        elif part.is_multipart():
            yield from _leaf_parts(part)
        else:
            yield part


def nested_messages(msg: Message) -> list[bytes]:
    """Bytes of each message attached to `msg` (message/rfc822 parts, not those nested inside them)."""
    return [_attached_bytes(p) for p in _leaf_parts(msg) if p.is_multipart() and p.get_content_type() == "message/rfc822"]


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def header_ids(value: str | None) -> list[str]:
    return _MESSAGE_ID.findall(value) if value else []


def message_observation(data: bytes, index: int, offset: int | None = None) -> Observation:
    return _fast_observation(data, index, offset) or _observation(
        email.message_from_bytes(data, policy=compat32), index, offset)


def message_observations(data: bytes, index: int, offset: int | None, next_index: int,
                         attached_to: int | None = None, depth: int = 0) -> tuple[list[Observation], int]:
    """The message's observation followed by one per attached message (recursively), each with
    `attached_to_index` and the next free index from `next_index`; returns them and the next free index."""
    fast = None if may_carry_messages(data) else _fast_observation(data, index, offset)
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


def may_carry_messages(data: bytes) -> bool:
    """Attached messages need the standard library's tree walk; everything else takes the fast path."""
    return b"message/rfc822" in data or b"Message/RFC822" in data or b"message/RFC822" in data


def _fast_observation(data: bytes, index: int, offset: int | None) -> Observation | None:
    """fast-mail-parser's MIME tree (Rust, several times faster than the stdlib); None when it cannot
    parse the message or its tree could differ from the standard library's (see _fast_part), so the
    standard library gets its turn and nothing is lost. The body is chosen and decoded by the same code
    for both (_body_and_attachments)."""
    try:
        root = fast_mail_parser.parse_email_tree(data)
        if not _headers_clean(data, 0):
            return None
        part = _fast_part(root, data)
    except Exception:  # ParseError and its subtypes, _NotFast, or anything unexpected: fall back
        return None
    raw = root.headers
    defects = [] if raw else ["headers: none found"]
    headers = {}
    for name in HEADER_NAMES:
        values = raw.get(name)
        headers[name] = " ".join(", ".join(values).split()) if values else None
    body, attachments = _body_and_attachments(part, defects)
    return _assemble(headers, header_ids(headers["Message-ID"]), body, attachments, defects, index, offset)


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
    body, attachments = _body_and_attachments(_std_part(msg, defects, root=True), defects)
    return _assemble(headers, header_ids(headers["Message-ID"]), body, attachments, defects, index, offset)


def _assemble(headers: dict, message_ids: list[str], body: dict, attachments: list[dict], defects: list[str],
              index: int, offset: int | None) -> Observation:
    """One payload shape whichever parser read the message."""
    occurred_at = parse_date(headers["Date"], defects)
    payload = {
        "index": index,
        "message_id": message_ids[0] if message_ids else None,
        "in_reply_to": (header_ids(headers["In-Reply-To"]) or [None])[0],
        "references": header_ids(headers["References"]),
        "subject": headers["Subject"],
        "date_raw": headers["Date"],
        **body,  # body_text, body_html, body_parts
        "attachments": attachments,
        "defects": defects,
    }
    for name, header, raw_key in _ADDRESS_KEYS:
        raw = headers[header]
        payload[name] = parse_addresses(raw)
        payload[raw_key] = raw
    return Observation("email_message", payload, occurred_at=occurred_at, offset=offset)


def utf8_json(payload: dict) -> bytes | str:
    """canonical_json(payload) as UTF-8 bytes, or as text when it cannot be encoded (a lone surrogate).

    orjson writes the same text as canonical_json for what email payloads hold (str, int, bool, None,
    lists, dicts with str keys; never floats, which it would print differently); whatever it refuses
    goes to canonical_json itself."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        text = canonical_json(payload)
        try:
            return text.encode()
        except UnicodeEncodeError:
            return text
