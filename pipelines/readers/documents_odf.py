"""OpenDocument text (.odt) and presentations (.odp) as `text_document` events.

Read from content.xml with lxml (ODF text is mixed content: the text nodes between elements count).
- Text: paragraphs and headings in order, tables as tab-separated rows, frames and notes in the flow,
  tracked deletions left out. Pages are `page` positions cut at the soft page breaks LibreOffice saves
  (as of its last layout); without any, a document whose meta.xml says it has one page is one page.
- Presentations: one `slide` position per draw:page (name = its title frame's text), then its notes.
Metadata: meta.xml (title, subject, author = initial creator, last_modified_by, created, modified).
Spreadsheets (.ods) are read by documents_sheets.
"""
from __future__ import annotations

import re
from typing import Callable

from .base import UnreadableFile
from .document_text import TextBuilder, ZipDocumentReader, local, odf_metadata, read_part

_SKIP = {"tracked-changes", "sequence-decls", "variable-decls", "user-field-decls", "forms", "note-citation",
         "title", "desc", "annotation-end", "bookmark", "bookmark-start", "bookmark-end", "deletion",
         "changed-region", "table-columns", "table-column", "table-header-columns", "event-listeners"}


_WS = re.compile(r"[ \t\r\n]+")  # ODF collapses white space in text; <text:s/> and <text:tab/> keep it


class _OdfText:
    def __init__(self, emit: Callable[[str], None], page: Callable[[], None]):
        self.emit, self.page = emit, page
        self.soft_breaks = 0

    def walk(self, el, in_paragraph: bool = False) -> None:
        name = local(el.tag)
        if name in _SKIP:
            return
        if name == "s":
            count = next((v for k, v in el.attrib.items() if local(k) == "c"), "1")
            self.emit(" " * min(int(count) if count.isdigit() else 1, 1000))
        elif name == "tab":
            self.emit("\t")
        elif name == "line-break":
            self.emit("\n")
        elif name == "soft-page-break":
            self.soft_breaks += 1
            self.page()
        elif name == "table":
            self.table(el)
        else:
            inside = in_paragraph or name in ("p", "h")
            if inside and el.text:
                self.emit(_WS.sub(" ", el.text))
            for child in el:
                self.walk(child, inside)
                if inside and child.tail:
                    self.emit(_WS.sub(" ", child.tail))
            if name in ("p", "h"):
                self.emit("\n")

    def table(self, tbl) -> None:
        for row in (r for r in tbl.iter() if local(r.tag) == "table-row"):
            cells = []
            for cell in (c for c in row if local(c.tag) in ("table-cell", "covered-table-cell")):
                parts: list[str] = []
                inner = _OdfText(parts.append, lambda: None)
                for child in cell:
                    inner.walk(child)
                cells.append(" ".join(s.strip() for s in "".join(parts).splitlines() if s.strip()))
            while cells and not cells[-1]:
                cells.pop()
            self.emit("\t".join(cells) + "\n")


def _content(zf, label: str):
    root = read_part(zf, "content.xml")
    if root is None:
        raise UnreadableFile(f"unreadable {label}: no content.xml")
    body = next((c for c in root if local(c.tag) == "body"), None)
    return body if body is not None else root


def _page_count(zf) -> int | None:
    try:
        root = read_part(zf, "meta.xml")
    except Exception:  # noqa: BLE001
        return None
    for el in (root.iter() if root is not None else []):
        if local(el.tag) == "document-statistic":
            value = next((v for k, v in el.attrib.items() if local(k) == "page-count"), None)
            return int(value) if value and value.isdigit() else None
    return None


class _OdfReader(ZipDocumentReader):
    def _read(self, zf) -> tuple[TextBuilder, dict]:
        doc = TextBuilder()
        self._body(zf, _content(zf, self.fmt.upper()), doc)
        return doc, odf_metadata(zf)

    def _body(self, zf, body, doc: TextBuilder) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class OdtReader(_OdfReader):
    version = "1"
    fmt, label, media_type = ("odt", "OpenDocument text",
                              "application/vnd.oasis.opendocument.text")

    extensions = frozenset({".odt", ".ott"})

    def _body(self, zf, body, doc: TextBuilder) -> None:
        doc.mark("page")
        walker = _OdfText(doc.add, lambda: doc.mark("page"))
        for child in body:
            walker.walk(child)
        if walker.soft_breaks == 0 and _page_count(zf) != 1:
            doc.positions = [p for p in doc.positions if p["kind"] != "page"]


class OdpReader(_OdfReader):
    version = "1"
    fmt, label, media_type = ("odp", "OpenDocument presentation",
                              "application/vnd.oasis.opendocument.presentation")

    extensions = frozenset({".odp", ".otp"})

    def _body(self, zf, body, doc: TextBuilder) -> None:
        pages = [el for el in body.iter() if local(el.tag) == "page" and "drawing" in el.tag]
        for n, page in enumerate(pages, 1):
            title, texts, notes = None, [], []
            for child in page:
                kind = local(child.tag)
                if kind == "notes":
                    for frame in child:
                        if _class(frame) == "notes":
                            text = _text(frame)
                            if text:
                                notes.append(text)
                    continue
                if kind == "forms":
                    continue
                text = _text(child)
                if _class(child) == "title" and title is None and text:
                    title = " ".join(text.split())
                if text and _class(child) not in ("page-number", "date-time", "footer", "header"):
                    texts.append(text)
            with doc.position("slide", n, title):
                doc.add("\n\n".join(texts))
                if notes:
                    doc.add(("\n\n" if texts else "") + "Notes:\n" + "\n\n".join(notes))


def _class(el) -> str | None:
    return next((v for k, v in el.attrib.items() if local(k) == "class" and "presentation" in k), None)


def _text(el) -> str:
    parts: list[str] = []
    walker = _OdfText(parts.append, lambda: None)
    walker.walk(el)
    return re.sub(r"\n{3,}", "\n\n", "".join(parts)).strip()
