"""Text-based documents as `text_document` events: RTF, HTML, CSV of no known record header, JSON.

- RTF (.rtf): text by striprtf (code page from `\\ansicpg`, default windows-1252); `page` positions cut
  at `\\page` when the document has any; metadata from its `{\\info}` group.
- HTML (.html/.htm/.xhtml): visible text only (no script, style, template or head), block elements on
  lines of their own, table cells tab-separated; metadata title (<title>), author, subject (description),
  keywords. Decoded by the BOM, the <meta> charset, then UTF-8 / windows-1252.
- CSV (.csv/.tsv/.tab) whose header names no record kind (record_csv reads those): the text as decoded.
- JSON (.json) that is one JSON value (JSON Lines are record_jsonl's): pretty-printed, keys in file
  order; text that does not parse is kept as written, with a defect.
`encoding` is the codec the bytes were decoded with. Files over MAX_BYTES are refused (as plain_text).
"""
from __future__ import annotations

import codecs
import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Reader, UnreadableFile, read_bytes
from .document_text import TextBuilder, add_pages, from_builder, metadata, text_document, unreadable
from .record_csv import header_columns, kind_for
from .text_encoding import decode_bytes

MAX_BYTES = 50 * 1024 * 1024


def _read(path: Path, label: str) -> bytes:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise UnreadableFile(f"{label} file of {size} bytes is over the {MAX_BYTES}-byte limit")
    data = read_bytes(path)
    if not data.strip():
        raise UnreadableFile("empty file" if not data else f"{label} file of white space only")
    return data


# --------------------------------------------------------------------------------------------------
# RTF
# --------------------------------------------------------------------------------------------------

_PAGE = re.compile(r"(?<!\\)\\page(?![A-Za-z]) ?")
_INFO_FIELDS = {"title": "title", "subject": "subject", "author": "author", "operator": "last_modified_by",
                "keywords": "keywords"}


def _rtf_time(info: str, word: str) -> str | None:
    m = re.search(r"\\" + word + r"((?:\\(?:yr|mo|dy|hr|min|sec)\d+\s?)+)", info)
    if not m:
        return None
    parts = dict(re.findall(r"\\(yr|mo|dy|hr|min|sec)(\d+)", m.group(1)))
    try:
        return dt.datetime(int(parts["yr"]), int(parts.get("mo", 1)), int(parts.get("dy", 1)), int(parts.get("hr", 0)),
                           int(parts.get("min", 0)), int(parts.get("sec", 0))).isoformat()  # local time, zone unknown
    except (KeyError, ValueError, OverflowError):
        return None


class RtfReader(Reader):
    name = "rtf"
    version = "1"
    media_type = "application/rtf"

    sniffed = frozenset({"rtf"})
    extensions = frozenset({".rtf"})

    def accepts(self, path: Path, head: bytes) -> bool:
        return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf")  # other text named .rtf stays unsupported

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        from striprtf.striprtf import rtf_to_text

        source = _read(path, "RTF").decode("latin-1")  # RTF is 7-bit; \'xx escapes carry the code page
        if not source.lstrip("\xef\xbb\xbf \t\r\n").startswith("{\\rtf"):
            raise UnreadableFile("not RTF: no {\\rtf header")
        m = re.search(r"\\ansicpg(\d+)", source[:4096])
        encoding = f"cp{m.group(1)}" if m else "cp1252"
        try:
            codecs.lookup(encoding)
        except LookupError:
            encoding = "cp1252"
        try:
            text = rtf_to_text(_PAGE.sub(r"\\u12?", source), encoding=encoding, errors="replace")
            meta = self._metadata(source, encoding, rtf_to_text)
        except RecursionError as exc:
            raise UnreadableFile("unreadable RTF: groups nested too deeply") from exc
        except Exception as exc:  # striprtf's own errors on malformed input
            raise unreadable("RTF", exc) from exc
        doc = TextBuilder()
        add_pages(doc, text.split("\x0c"))
        yield from from_builder(stats, "rtf", doc, encoding=codecs.lookup(encoding).name, metadata=meta)

    @staticmethod
    def _metadata(source: str, encoding: str, rtf_to_text) -> dict:
        start = source.find("{\\info")
        if start < 0:
            return metadata()
        depth, end = 0, start
        for end in range(start, min(len(source), start + 65536)):
            depth += {"{": 1, "}": -1}.get(source[end], 0) if source[end - 1:end] != "\\" else 0
            if depth == 0:
                break
        info = source[start:end + 1]
        values = {}
        for word, key in _INFO_FIELDS.items():
            m = re.search(r"\{\\" + word + r"\s?((?:[^{}\\]|\\.)*)\}", info)
            if m:
                values[key] = rtf_to_text("{\\rtf1 " + m.group(1) + "}", encoding=encoding, errors="replace").strip()
        return metadata(**values, created=_rtf_time(info, "creatim"), modified=_rtf_time(info, "revtim"))


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

_BLOCK = {"address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "dialog", "div", "dl",
          "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
          "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "thead", "tfoot",
          "tr", "ul", "html"}
_HIDDEN = {"script", "style", "template", "head", "noscript", "object", "svg", "math"}
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)


class _Visible(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.in_title = False
        self.title: list[str] = []
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        elif tag == "meta":
            values = {k.lower(): (v or "") for k, v in attrs}
            name = values.get("name", "").lower()
            if name and values.get("content") and name not in self.meta:
                self.meta[name] = values["content"]
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "meta":
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if tag in _HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in _BLOCK:
            self.parts.append("\n")
        if tag == "pre":
            self.pre = max(self.pre - 1, 0)

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.hidden:
            self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        text = "".join(self.parts)
        lines = [line.strip(" ").replace("\t ", "\t").strip("\t") for line in text.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _decode_html(data: bytes) -> tuple[str, str]:
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, "replace"), codec
    m = _CHARSET.search(data[:4096])
    if m:
        try:
            name = codecs.lookup(m.group(1).decode("ascii")).name
            if name in ("latin-1", "iso8859-1", "ascii"):
                name = "cp1252"  # as browsers do
            if not name.startswith("utf-16"):
                return data.decode(name, "replace"), name
        except (LookupError, UnicodeError):
            pass
    return decode_bytes(data)


class HtmlReader(Reader):
    name = "html"
    version = "1"
    media_type = "text/html"

    sniffed = frozenset({"html"})
    extensions = frozenset({".html", ".htm", ".xhtml"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        source, encoding = _decode_html(_read(path, "HTML"))
        parser = _Visible()
        try:
            parser.feed(source)
            parser.close()
        except Exception as exc:  # html.parser is lenient; anything left is the file's
            raise unreadable("HTML", exc) from exc
        title = " ".join("".join(parser.title).split()) or None
        meta = metadata(title=title, author=parser.meta.get("author"), subject=parser.meta.get("description"),
                        keywords=parser.meta.get("keywords"))
        yield from text_document(stats, "html", parser.text(), [], [], encoding, meta)


# --------------------------------------------------------------------------------------------------
# CSV and JSON
# --------------------------------------------------------------------------------------------------

class CsvTextReader(Reader):
    """A CSV of no known record header: kept whole as searchable text rather than quarantined."""

    name = "csv_text"
    version = "1"
    media_type = "text/csv"

    sniffed = frozenset({"csv"})
    extensions = frozenset({".csv", ".tsv", ".tab"})

    def accepts(self, path: Path, head: bytes) -> bool:
        return kind_for(header_columns(head)) is None  # rosters, search logs, usage reports are record_csv's

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        text, encoding = decode_bytes(_read(path, "CSV"))
        yield from text_document(stats, "csv", text, [], [], encoding)


class JsonTextReader(Reader):
    """One JSON value (a pretty-printed export, a config, an API response) as pretty-printed text."""

    name = "json_text"
    version = "1"
    media_type = "application/json"

    sniffed = frozenset({"json"})
    extensions = frozenset({".json"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        raw, encoding = decode_bytes(_read(path, "JSON"))
        defects = []
        try:
            text = json.dumps(json.loads(raw), ensure_ascii=False, indent=2)
        except RecursionError:
            text = raw
            defects.append("JSON nested too deeply to pretty-print; kept as written")
        except ValueError as exc:
            text = raw
            defects.append(f"not valid JSON ({str(exc)[:160]}); kept as written")
        yield from text_document(stats, "json", text, [], defects, encoding)
