"""`.vcf`: vCard files (2.1, 3.0, 4.0; RFC 6350), e.g. an Outlook contact export; one `contact_card` per card.

Payload: `full_name` (FN), `names` (N: `{family, given, additional, prefixes, suffixes}`, or null),
`emails` (list of addresses, lower-cased, in order), `emails_raw` (the same, as written), `phones`
(`[{number, types}]`), `org` (ORG's organisation name), `org_units` (its units), `title`, `note` (NOTE, unescaped; several are joined by a
blank line), `version`, `other` (every other property, and any repeat of FN/N/ORG/TITLE/VERSION, as
`{NAME: [value, …]}` in file order, the value as written but with quoted-printable decoded), `defects`,
`index` (0-based, file order). `source_row` = the line of `BEGIN:VCARD`. Line unfolding, parameters and
escaped text as in calendar_ics.py (a group prefix such as `item1.EMAIL` is dropped; vCard 2.1 bare
parameters such as `TEL;WORK;VOICE` are types); vCard 2.1 quoted-printable values (with their CHARSET)
are decoded. Email addresses are lower-cased as everywhere in the event log.
"""
from __future__ import annotations

import codecs
import quopri
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader
from .calendar_ics import content_line_batches, parsed_lines, split_unescaped, unescape


def _value(params: dict[str, list[str]], value: str, defects: list[str], name: str) -> str:
    """The value with a vCard 2.1 ENCODING=QUOTED-PRINTABLE decoded (in its CHARSET, else utf-8)."""
    encoding = [e.upper() for e in params.get("ENCODING", [])] + [t.upper() for t in params.get("TYPE", [])]
    if "QUOTED-PRINTABLE" not in encoding:
        return value
    raw = quopri.decodestring(value.encode("utf-8", errors="replace"))
    charset = (params.get("CHARSET") or ["utf-8"])[0]
    try:
        return raw.decode(codecs.lookup(charset).name)
    except (LookupError, UnicodeDecodeError):
        defects.append(f"{name}: quoted-printable value not {charset}, decoded as cp1252")
        return raw.decode("cp1252", errors="replace")


_SLOT = {"FN": "full_name", "N": "names", "ORG": "org", "TITLE": "title", "VERSION": "version"}


class ContactVcfReader(Reader):
    name = "contact_vcf"
    version = "2"
    media_type = "text/vcard"

    sniffed = frozenset({"vcard"})
    extensions = frozenset({".vcf", ".vcard"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        yield from content_line_batches(path, stats, "VCARD", "a vCard", self._cards)

    def _cards(self, text: str, file_defects: list[str], stats: FileStats) -> Iterator[Observation]:
        card: dict | None = None
        depth = 0  # a vCard 4 card may carry another (AGENT / embedded): only the outer one is a card
        start_line = index = 0
        for number, name, params, value in parsed_lines(text, file_defects, lambda: card, qp_soft_breaks=True):
            if name == "BEGIN" and value.strip().upper() == "VCARD":
                depth += 1
                if depth == 1:
                    card, start_line = self._empty(), number
                continue
            if name == "END" and value.strip().upper() == "VCARD":
                depth = max(0, depth - 1)
                if depth == 0 and card is not None:
                    yield self._observation(card, index, start_line)
                    index += 1
                    card = None
                continue
            if card is None or depth != 1:
                continue
            self._property(card, name, params, value)
        if card is not None:
            card["defects"].append("vCard not closed (no END:VCARD)")
            yield self._observation(card, index, start_line)
            index += 1
        stats.expected_items = stats.extracted_items = index

    @staticmethod
    def _empty() -> dict:
        return {"full_name": None, "names": None, "emails": [], "emails_raw": [], "phones": [], "org": None,
                "org_units": [], "title": None, "note": None, "version": None, "other": {}, "defects": []}

    @staticmethod
    def _property(card: dict, name: str, params: dict, value: str) -> None:
        defects = card["defects"]
        value = _value(params, value, defects, name)
        if name in ("FN", "N", "ORG", "TITLE", "VERSION") and card[_SLOT[name]] not in (None, []):
            card["other"].setdefault(name, []).append(value)  # a repeat: kept, not overwritten
        elif name == "FN":
            card["full_name"] = unescape(value).strip() or None
        elif name == "N":
            parts = split_unescaped(value, ";") + [""] * 5
            keys = ("family", "given", "additional", "prefixes", "suffixes")
            card["names"] = {k: (p.strip() or None) for k, p in zip(keys, parts)}
        elif name == "EMAIL":
            email = unescape(value).strip()
            if email.lower().startswith("mailto:"):
                email = email[7:]
            if email:
                card["emails"].append(email.lower())
                card["emails_raw"].append(email)
        elif name == "TEL":
            number = unescape(value).strip()
            if number.lower().startswith("tel:"):
                number = number[4:]
            if number:
                types = [t.lower() for v in params.get("TYPE", []) for t in v.split(",") if t]
                card["phones"].append({"number": number, "types": [t for t in types if t != "quoted-printable"]})
        elif name == "ORG":
            parts = [p.strip() for p in split_unescaped(value, ";")]
            card["org"] = parts[0] or None
            card["org_units"] = [p for p in parts[1:] if p]
        elif name == "TITLE":
            card["title"] = unescape(value).strip() or None
        elif name == "VERSION":
            card["version"] = value.strip()
        elif name == "NOTE":
            note = unescape(value).replace("\r\n", "\n").strip()
            if note:
                card["note"] = f"{card['note']}\n\n{note}" if card["note"] else note
        else:
            card["other"].setdefault(name, []).append(value)

    @staticmethod
    def _observation(card: dict, index: int, line: int) -> Observation:
        if card["full_name"] is None and card["names"]:
            n = card["names"]
            built = " ".join(p for p in (n["prefixes"], n["given"], n["additional"], n["family"], n["suffixes"]) if p)
            if built:
                card["defects"].append("FN: missing, built from N")
                card["full_name"] = built
        return Observation("contact_card", {**card, "index": index}, row=line)
