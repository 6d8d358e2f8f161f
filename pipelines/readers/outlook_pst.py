"""Outlook data files (`.pst`, `.ost`) with libpff (package libpff-python, module `pypff`): one
`email_message` per message, folder by folder.

Payload: the `email_message` keys (see email_message.py / docs/events.md): `message_id`, `in_reply_to`,
`references`, `from`, `to`, `cc`, `bcc`, `reply_to` (lists of `{name, email, redacted}`, plus the `*_raw`
header texts when the message kept its transport headers), `subject`, `date_raw`, `body_text` (the plain
body, else the HTML body converted to text), `body_html`, `attachments` (`{filename, media_type,
size_bytes, sha256}`), `defects`, `index` (0-based over the whole file, in folder order) and
`folder_path` (e.g. "Top of Personal Folders/Inbox"), `message_class`.

Addresses come from the message's transport headers (a received message keeps them) and otherwise from its
MAPI properties (sender name and SMTP address, the recipient table with its To/Cc/Bcc type). `date_raw` is
the Date header, else the client submit or delivery time (ISO 8601, UTC). An RTF-only body is not
converted (defect `body: RTF only, not converted`).

Stats: `expected_items` = messages the folders declare, `extracted_items` = messages read; a message that
cannot be read is an `item_quarantined` with its `folder_path` and `index`; `file_observed` carries
`folders` (`[{path, expected, extracted}]`) and `format` (PST / OST). Attachments are listed (not yet read as
child documents).
"""
from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import hashlib
import mimetypes
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, to_batches
from .email_message import decode_header, decode_text, header_ids, html_to_text, parse_addresses, parse_date

MAX_FOLDER_DEPTH = 64
ATTACHMENT_CHUNK = 1 << 20

# MAPI property tags (entry types) read from record sets
PR_MESSAGE_CLASS = 0x001A
PR_CLIENT_SUBMIT_TIME = 0x0039
PR_SENT_REPRESENTING_NAME = 0x0042
PR_SENDER_NAME = 0x0C1A
PR_SENDER_EMAIL_ADDRESS = 0x0C1F
PR_SENDER_SMTP_ADDRESS = 0x5D01
PR_SENT_REPRESENTING_SMTP_ADDRESS = 0x5D02
PR_DISPLAY_TO = 0x0E04
PR_INTERNET_MESSAGE_ID = 0x1035
PR_IN_REPLY_TO_ID = 0x1042
PR_INTERNET_REFERENCES = 0x1039
PR_MESSAGE_DELIVERY_TIME = 0x0E06
PR_RECIPIENT_TYPE = 0x0C15
PR_DISPLAY_NAME = 0x3001
PR_ADDRTYPE = 0x3002
PR_EMAIL_ADDRESS = 0x3003
PR_SMTP_ADDRESS = 0x39FE
PR_ATTACH_MIME_TAG = 0x370E
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_LONG_FILENAME = 0x3707
_RECIPIENT_FIELDS = {1: "to", 2: "cc", 3: "bcc"}
_STRING_TYPES = (0x001E, 0x001F)


def _entries(item) -> dict[int, object]:
    """{entry type: record entry} of an item's first record set (libpff items have one)."""
    out: dict[int, object] = {}
    try:
        for record_set in item.record_sets:
            for entry in record_set.entries:
                out.setdefault(entry.entry_type, entry)
    except (OSError, IOError, ValueError, TypeError, AttributeError):
        pass
    return out


def _string(entries: dict, tag: int) -> str | None:
    entry = entries.get(tag)
    if entry is None:
        return None
    try:
        if entry.value_type in _STRING_TYPES:
            value = entry.data_as_string
        else:
            data = entry.data
            value = data.decode("utf-8", errors="replace") if data else None
    except (OSError, IOError, ValueError, TypeError, AttributeError, UnicodeError):
        return None
    value = (value or "").replace("\x00", "").strip()
    return value or None


def _time(entries: dict, tag: int) -> dt.datetime | None:
    entry = entries.get(tag)
    if entry is None:
        return None
    try:
        value = entry.data_as_datetime
    except (OSError, IOError, ValueError, TypeError, AttributeError, OverflowError):
        return None
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _smtp(address: str | None, kind: str | None) -> str | None:
    if not address:
        return None
    if (kind or "SMTP").upper() == "SMTP" and "@" in address:
        return address.strip().lower()
    return None


def _person(name: str | None, email: str | None) -> dict:
    return {"name": " ".join(name.split()) if name else None, "email": email, "redacted": False}


def _bytes(getter) -> bytes | None:
    try:
        value = getter()
    except (OSError, IOError, ValueError, TypeError, AttributeError):
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return value or None


class OutlookPstReader(Reader):
    name = "outlook_pst"
    version = "1"
    media_type = "application/vnd.ms-outlook-pst"

    sniffed = frozenset({"pst"})
    extensions = frozenset({".pst", ".ost"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        try:
            import pypff
        except ImportError:  # pragma: no cover - libpff-python is in the lock file
            raise UnreadableFile("Outlook PST: libpff-python (pypff) is not installed") from None
        with path.open("rb") as fh:
            head = fh.read(10)
            pff = pypff.file()
            try:
                pff.open_file_object(fh)
                root = pff.get_root_folder()
            except (OSError, IOError, ValueError, TypeError) as exc:
                raise UnreadableFile(f"unreadable Outlook data file: {exc.__class__.__name__}: {exc}") from None
            folders: list[dict] = []
            stats.extra["format"] = {b"SM": "PST", b"SO": "OST"}.get(head[8:10], "unknown")
            try:
                yield from to_batches(self._walk(root, [], folders, stats, [0], 0))
            finally:
                stats.extra["folders"] = folders
                try:
                    pff.close()
                except (OSError, IOError):
                    pass

    def _walk(self, folder, names: list[str], folders: list[dict], stats: FileStats, counter: list[int],
              depth: int) -> Iterator[Observation]:
        path = "/".join(names)
        try:
            count = folder.number_of_sub_messages
        except (OSError, IOError):
            count = 0
        record = {"path": path, "expected": count, "extracted": 0, "quarantined": 0}
        if names:  # the unnamed root folder is not listed
            folders.append(record)
        stats.expected_items += count
        for i in range(count):
            index = counter[0]
            counter[0] += 1
            try:
                message = folder.get_sub_message(i)
                obs = self._message(message, index, path)
            except Exception as exc:  # noqa: BLE001 - libpff raises OSError; a corrupt item anything
                stats.quarantined_items += 1
                record["quarantined"] += 1
                yield Observation("item_quarantined", {
                    "reason": f"message {i + 1} of folder {path or '(root)'} unreadable: {exc.__class__.__name__}: {exc}",
                    "index": index, "folder_path": path})
                continue
            stats.extracted_items += 1
            record["extracted"] += 1
            yield obs
        if depth >= MAX_FOLDER_DEPTH:
            return
        try:
            subfolders = folder.number_of_sub_folders
        except (OSError, IOError):
            subfolders = 0
        for i in range(subfolders):
            try:
                sub = folder.get_sub_folder(i)
                name = (sub.name or "").replace("/", "\u2215") or f"(folder {i + 1})"
            except (OSError, IOError) as exc:
                folders.append({"path": "/".join([*names, f"(folder {i + 1})"]), "expected": None, "extracted": 0,
                                "quarantined": 0, "error": f"{exc.__class__.__name__}: {exc}"})
                continue
            yield from self._walk(sub, [*names, name], folders, stats, counter, depth + 1)

    def _message(self, message, index: int, folder_path: str) -> Observation:
        defects: list[str] = []
        entries = _entries(message)
        headers_text = _bytes(lambda: message.transport_headers)
        headers = None
        if headers_text:
            text = headers_text.decode("utf-8", errors="replace").replace("\x00", "")
            headers = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
            if not headers.keys():
                headers = None

        def header(name: str) -> str | None:
            if headers is None or headers.get(name) is None:
                return None
            return decode_header(str(headers.get(name)), defects, name.lower())

        payload: dict = {}
        for key, name in (("from", "From"), ("to", "To"), ("cc", "Cc"), ("bcc", "Bcc"), ("reply_to", "Reply-To")):
            raw = header(name)
            payload[f"{key}_raw"] = raw
            payload[key] = parse_addresses(raw)
        if not payload["from"]:
            name = _string(entries, PR_SENDER_NAME) or _string(entries, PR_SENT_REPRESENTING_NAME)
            addr = (_smtp(_string(entries, PR_SENDER_SMTP_ADDRESS), "SMTP")
                    or _smtp(_string(entries, PR_SENT_REPRESENTING_SMTP_ADDRESS), "SMTP")
                    or _smtp(_string(entries, PR_SENDER_EMAIL_ADDRESS), None))
            if name or addr:
                payload["from"] = [_person(name, addr)]
        recipients = self._recipients(message, defects)
        for key in ("to", "cc", "bcc"):
            if not payload[key] and recipients[key]:
                payload[key] = recipients[key]
        if not payload["to"] and not recipients["to"] and _string(entries, PR_DISPLAY_TO):
            payload["to"] = [_person(n.strip(), None) for n in _string(entries, PR_DISPLAY_TO).split(";") if n.strip()]

        subject = None
        try:
            subject = message.subject
        except (OSError, IOError, UnicodeError):
            defects.append("subject: unreadable")
        date_raw = header("Date")
        occurred = None
        if date_raw:
            occurred = parse_date(date_raw, defects)
        else:
            when = _time(entries, PR_CLIENT_SUBMIT_TIME) or _time(entries, PR_MESSAGE_DELIVERY_TIME)
            if when is not None:
                date_raw, occurred = when.isoformat(), when
            else:
                defects.append("date: missing")
        message_id = header("Message-ID") or _string(entries, PR_INTERNET_MESSAGE_ID)
        in_reply_to = header("In-Reply-To") or _string(entries, PR_IN_REPLY_TO_ID)
        references = header("References") or _string(entries, PR_INTERNET_REFERENCES)

        body_text, body_html = None, None
        plain = _bytes(lambda: message.plain_text_body)
        html = _bytes(lambda: message.html_body)
        if html:
            body_html, _ = decode_text(html, _html_charset(html), defects)
        if plain:
            body_text, _ = decode_text(plain, "utf-8", defects)
        elif body_html:
            body_text = html_to_text(body_html)
        elif _bytes(lambda: message.rtf_body):
            defects.append("body: RTF only, not converted")
        if body_text is not None:
            body_text = body_text.replace("\r\n", "\n").replace("\x00", "")

        payload.update({
            "message_id": header_ids(message_id)[0] if message_id and header_ids(message_id) else (message_id or None),
            "in_reply_to": header_ids(in_reply_to)[0] if in_reply_to and header_ids(in_reply_to) else (in_reply_to or None),
            "references": header_ids(references) if references else [],
            "subject": " ".join(subject.split()) if subject else subject,
            "date_raw": date_raw,
            "body_text": body_text,
            "body_html": body_html,
            "attachments": self._attachments(message, defects),
            "message_class": _string(entries, PR_MESSAGE_CLASS),
            "folder_path": folder_path,
            "defects": defects,
            "index": index,
        })
        return Observation("email_message", payload, occurred_at=occurred)

    @staticmethod
    def _recipients(message, defects: list[str]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {"to": [], "cc": [], "bcc": []}
        try:
            table = message.recipients
            sets = list(table.record_sets) if table is not None else []
        except (OSError, IOError, AttributeError):
            defects.append("recipients: unreadable")
            return out
        for record_set in sets:
            entries: dict[int, object] = {}
            try:
                for entry in record_set.entries:
                    entries.setdefault(entry.entry_type, entry)
            except (OSError, IOError):
                defects.append("recipients: a recipient unreadable")
                continue
            kind_entry = entries.get(PR_RECIPIENT_TYPE)
            try:
                kind = kind_entry.data_as_integer if kind_entry is not None else 1
            except (OSError, IOError, ValueError, TypeError):
                kind = 1
            field = _RECIPIENT_FIELDS.get(kind & 0x0F, "to")
            name = _string(entries, PR_DISPLAY_NAME)
            addr = _smtp(_string(entries, PR_SMTP_ADDRESS), "SMTP") or _smtp(
                _string(entries, PR_EMAIL_ADDRESS), _string(entries, PR_ADDRTYPE))
            if name or addr:
                out[field].append(_person(name, addr))
        return out

    @staticmethod
    def _attachments(message, defects: list[str]) -> list[dict]:
        out = []
        try:
            count = message.number_of_attachments
        except (OSError, IOError):
            defects.append("attachments: unreadable")
            return out
        for i in range(count):
            try:
                attachment = message.get_attachment(i)
            except (OSError, IOError) as exc:
                defects.append(f"attachment {i + 1}: unreadable ({exc.__class__.__name__})")
                out.append({"filename": None, "media_type": None, "size_bytes": None, "sha256": None})
                continue
            entries = _entries(attachment)
            filename = _string(entries, PR_ATTACH_LONG_FILENAME) or _string(entries, PR_ATTACH_FILENAME)
            try:
                filename = attachment.long_filename or filename
            except (OSError, IOError, UnicodeError):
                pass
            media_type = _string(entries, PR_ATTACH_MIME_TAG) or (
                mimetypes.guess_type(filename)[0] if filename else None)
            size = sha = None
            try:
                size = attachment.size
                digest, done = hashlib.sha256(), 0
                attachment.seek_offset(0)
                while done < size:
                    chunk = attachment.read_buffer(min(ATTACHMENT_CHUNK, size - done))
                    if not chunk:
                        break
                    digest.update(chunk)
                    done += len(chunk)
                sha = digest.hexdigest() if done == size else None
                if done != size:
                    defects.append(f"attachment {i + 1}: {done} of {size} bytes readable")
            except (OSError, IOError, ValueError, TypeError, AttributeError) as exc:
                # an attached Outlook item (embedded message) has no data stream of its own
                defects.append(f"attachment {i + 1}: content not read ({exc.__class__.__name__})")
            out.append({"filename": filename, "media_type": media_type, "size_bytes": size, "sha256": sha})
        return out


def _html_charset(html: bytes) -> str | None:
    import re

    m = re.search(rb'charset\s*=\s*["\']?([A-Za-z0-9_.:-]+)', html[:4096], re.IGNORECASE)
    return m.group(1).decode("ascii").lower() if m else "utf-8"
