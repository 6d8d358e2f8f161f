"""Outlook `.msg` (an OLE compound file holding one message), read with `extract-msg`.

Emits one `email_message` with the same payload shape as the eml/mbox readers (see email_message.py).
Headers come from the message's transport headers when it has them, else from its MAPI properties
(extract-msg builds a header from those). An attached Outlook message (an embedded message object) is
emitted as an `email_message` of its own with `attached_to_index` = its parent's index, numbered 1, 2, …
after the file's own message (depth first); the parent's `attachments` lists it too. Attachment bytes are
only hashed, never put in the payload.

A message whose strings are 8-bit (`001E` streams, not Unicode `001F`) is decoded in its code page:
PR_MESSAGE_CODEPAGE (0x3FFD), else PR_INTERNET_CPID (0x3FDE), else PR_CODE_PAGE_ID (0x66C3); with none
usable, extract-msg's default (ISO-8859-15) is used and recorded as a defect. Attached messages inherit it.
"""
from __future__ import annotations

import codecs
import email.utils
import hashlib
import logging
import mimetypes
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, to_batches
from .email_message import (ADDRESS_FIELDS, MAX_ATTACHED_DEPTH, decode_header, header_ids, html_to_text,
                            parse_addresses, parse_date)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EMBEDDED_MEDIA_TYPE = "application/vnd.ms-outlook"

# extract-msg logs every missing optional stream at WARNING; those are not our defects.
logging.getLogger("extract_msg").setLevel(logging.ERROR)


def _string(msg, stream_id: str) -> str | None:
    try:
        return msg.getStringStream(stream_id)
    except Exception:
        return None


# (property, MAPI name) in the order a message's 8-bit string code page is looked for.
CODE_PAGE_PROPS = (("3FFD0003", "PR_MESSAGE_CODEPAGE"), ("3FDE0003", "PR_INTERNET_CPID"),
                   ("66C30003", "PR_CODE_PAGE_ID"))


def _codec(code_page: int) -> str | None:
    """A Python codec name for a Windows code page, or None."""
    from extract_msg.encoding import lookupCodePage

    for name in (f"cp{code_page}", None):
        try:
            name = name or lookupCodePage(code_page)
            return codecs.lookup(name).name
        except Exception:
            continue
    return None


def string_encoding(msg) -> tuple[str | None, list[str]]:
    """(codec for the message's 8-bit strings, or None to keep extract-msg's choice; defects)."""
    try:
        if msg.areStringsUnicode:
            return None, []
    except Exception:
        return None, []
    defects = []
    for prop, mapi_name in CODE_PAGE_PROPS:
        try:
            value = msg.getPropertyVal(prop)
        except Exception:
            value = None
        if not isinstance(value, int):
            continue
        codec = _codec(value)
        if codec is not None:
            return codec, defects
        defects.append(f"encoding: {mapi_name} code page {value} unknown")
    default = getattr(msg, "stringEncoding", None) or "iso-8859-15"
    if not defects:
        defects.append("encoding: no code page property (PR_MESSAGE_CODEPAGE/PR_INTERNET_CPID/PR_CODE_PAGE_ID)")
    defects[-1] += f", 8-bit strings decoded as {default}"
    return None, defects


def _sender(msg) -> str | None:
    """The sender from properties when the header has none with an address."""
    raw = msg.sender
    if raw and "@" in raw:
        return raw
    for stream_id in ("__substg1.0_5D01", "__substg1.0_0C1F", "__substg1.0_0065"):
        addr = _string(msg, stream_id)
        if addr and "@" in addr:
            return f"{raw} <{addr}>" if raw else addr
    return raw


def _attachment(att, index: int, defects: list[str]) -> tuple[dict, object | None]:
    """(payload entry, embedded message or None) for one attachment."""
    from extract_msg.enums import AttachmentType

    kind = getattr(att, "type", None)
    filename = getattr(att, "longFilename", None) or getattr(att, "shortFilename", None)
    if kind == AttachmentType.MSG:
        inner = att.data
        try:
            data = inner.exportBytes()
        except Exception as exc:
            defects.append(f"attachment {index}: attached message not re-exported ({type(exc).__name__})")
            data = None
        entry = {"filename": filename or getattr(att, "displayName", None), "media_type": EMBEDDED_MEDIA_TYPE}
        embedded = inner
    elif kind == AttachmentType.DATA and isinstance(att.data, bytes):
        data = att.data
        mime = getattr(att, "mimetype", None) or (mimetypes.guess_type(filename)[0] if filename else None)
        entry = {"filename": filename, "media_type": mime or "application/octet-stream"}
        embedded = None
    else:
        defects.append(f"attachment {index}: {getattr(kind, 'name', kind)} attachment not read")
        entry, data, embedded = {"filename": filename, "media_type": None}, None, None
    entry["size_bytes"] = len(data) if data is not None else None
    entry["sha256"] = hashlib.sha256(data).hexdigest() if data is not None else None
    return entry, embedded


def _observation(msg, index: int, defects: list[str] | None = None) -> tuple[Observation, list]:
    defects = list(defects or [])
    try:
        header = msg.header
    except Exception as exc:
        defects.append(f"headers: unreadable ({type(exc).__name__})")
        header = None

    def head(name: str) -> str | None:
        value = header.get(name) if header is not None else None
        return decode_header(value, defects, name.lower()) if value else None

    props = {
        "from": _sender, "to": lambda m: m.to, "cc": lambda m: m.cc, "bcc": lambda m: m.bcc,
        "reply_to": lambda m: None,  # Reply-To only from the header
    }
    raw = {}
    for name in ADDRESS_FIELDS:
        value = head(name.replace("_", "-").title())
        if value is None or (name == "from" and "@" not in value):
            prop = props[name](msg)
            value = " ".join(prop.split()) if prop else value
        raw[name] = value
    date_raw = head("Date")
    if date_raw is None and msg.date is not None:
        date_raw = email.utils.format_datetime(msg.date)
    occurred_at = parse_date(date_raw, defects)
    message_ids = header_ids(head("Message-ID") or msg.messageId)
    in_reply_to = header_ids(head("In-Reply-To") or msg.inReplyTo)
    references = header_ids(head("References") or _string(msg, "__substg1.0_1039"))
    body, body_html = msg.body, None
    if not body:
        html = msg.htmlBody
        body_html = html.decode("utf-8", errors="replace").replace("\r\n", "\n") if html else None
        body = html_to_text(body_html) if html else ""
        if not html:
            defects.append("body: no plain-text or HTML body")
    body_parts = [{"media_type": "text/html" if body_html is not None else "text/plain", "charset": None,
                   "decoded_as": "utf-8", "bytes": len((body_html if body_html is not None else body).encode())}] if body else []
    attachments, embedded = [], []
    for i, att in enumerate(msg.attachments):
        entry, inner = _attachment(att, i, defects)
        attachments.append(entry)
        if inner is not None:
            embedded.append(inner)
    payload = {
        "index": index,
        "message_id": message_ids[0] if message_ids else None,
        "in_reply_to": in_reply_to[0] if in_reply_to else None,
        "references": references,
        "subject": " ".join((msg.subject or "").split()) or None,
        "date_raw": date_raw,
        "body_text": body.replace("\r\n", "\n"),
        "body_html": body_html,
        "body_parts": body_parts,
        "alternative_text": None,
        "attachments": attachments,
        "defects": defects,
    }
    for name in ADDRESS_FIELDS:
        payload[name] = parse_addresses(raw[name])
        payload[f"{name}_raw"] = raw[name]
    return Observation("email_message", payload, occurred_at=occurred_at), embedded


class OutlookMsgReader(Reader):
    name = "outlook_msg"
    version = "3"
    media_type = "application/vnd.ms-outlook"

    sniffed = frozenset({"outlook_msg"})  # an OLE compound file with Outlook's __substg1.0_ streams
    extensions = frozenset({".msg"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        import extract_msg
        from extract_msg.msg_classes import MessageBase

        with path.open("rb") as fh:
            head = fh.read(8)
        if not head:
            raise UnreadableFile("empty file")
        if head != OLE_MAGIC:
            raise UnreadableFile("not an Outlook .msg: no OLE compound file signature")
        try:
            msg = extract_msg.openMsg(str(path), strict=False)
            encoding_defects: list[str] = []
            if isinstance(msg, MessageBase):
                encoding, encoding_defects = string_encoding(msg)
                if encoding is not None and codecs.lookup(msg.stringEncoding).name != encoding:
                    msg.close()
                    msg = extract_msg.openMsg(str(path), strict=False, overrideEncoding=encoding)
        except Exception as exc:
            raise UnreadableFile(f"unreadable MSG: {type(exc).__name__}: {str(exc)[:300]}") from None
        try:
            if not isinstance(msg, MessageBase):
                raise UnreadableFile(f"not an email message: Outlook class {getattr(msg, 'classType', None)!r}")
            try:
                obs = list(self._observations(msg, stats, encoding_defects))
            except UnreadableFile:
                raise
            except Exception as exc:
                raise UnreadableFile(f"unreadable MSG: {type(exc).__name__}: {str(exc)[:300]}") from None
        finally:
            msg.close()
        yield from to_batches(iter(obs))

    def _observations(self, top, stats: FileStats, defects: list[str] | None = None) -> Iterator[Observation]:
        obs, embedded = _observation(top, 0, defects)  # a failure here is the whole file's
        stats.expected_items = stats.extracted_items = 1
        yield obs
        stack = [(inner, 0, 1) for inner in reversed(embedded)]
        next_index = 1
        while stack:
            inner, parent, depth = stack.pop()
            index, next_index = next_index, next_index + 1
            stats.expected_items += 1
            try:
                child, more = _observation(inner, index)
            except Exception as exc:  # one broken attached message must not lose the rest
                stats.quarantined_items += 1
                yield Observation("item_quarantined", {"index": index, "reason": f"unparseable attached message: {exc}"})
                continue
            child.payload["attached_to_index"] = parent
            stats.extracted_items += 1
            yield child
            if depth < MAX_ATTACHED_DEPTH:
                stack += [(m, index, depth + 1) for m in reversed(more)]
