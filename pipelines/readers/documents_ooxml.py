"""Word (.docx/.docm/.dotx) and PowerPoint (.pptx/.pptm/.ppsx/.potx) documents as `text_document` events.

Read straight from the package's XML with lxml (the parts are found through the relationships, so
macro-enabled files, templates and slide shows read the same; python-docx/python-pptx refuse those).

- Word: the body in document order (paragraphs, tables as tab-separated rows, text boxes once, inserted
  text kept, deleted and moved-from text left out), then headers and footers, footnotes, endnotes and
  comments, each a `section` position. Pages are `page` positions cut at the page breaks Word saved
  (`lastRenderedPageBreak`, as of the last time Word laid the document out) and explicit page breaks;
  without any, a document whose docProps/app.xml says it has one page is one page, else there are no
  page positions.
- PowerPoint: one `slide` position per slide in presentation order (name = the title placeholder's text),
  its shapes' text, tables as tab-separated rows, then its speaker notes after "Notes:".
Metadata: docProps/core.xml (title, subject, author, last_modified_by, created, modified).
"""
from __future__ import annotations

import re
from typing import Callable

from .base import UnreadableFile
from .document_text import TextBuilder, ZipDocumentReader, local, ooxml_metadata, read_part, rels

# Word elements whose content is not text a reader sees (properties, deleted/moved-from text, field code,
# the fallback copy of a drawing whose preferred copy is read).
_W_SKIP = {"rPr", "pPr", "sectPr", "tblPr", "trPr", "tcPr", "tblGrid", "sdtPr", "sdtEndPr", "del", "moveFrom",
           "delText", "instrText", "fldData", "Fallback", "commentRangeStart", "commentRangeEnd",
           "footnoteReference", "endnoteReference", "annotationRef", "bookmarkStart", "bookmarkEnd", "docPr"}


def _main_part(zf, label: str) -> str:
    target = next((t for kind, t, _ in rels(zf, "") if kind == "officeDocument"), None)
    if target is None or target not in zf.namelist():
        raise UnreadableFile(f"unreadable {label}: no main document part")
    return target


class _WordText:
    """Walks WordprocessingML into a TextBuilder (or into a plain list, for table cells)."""

    def __init__(self, emit: Callable[[str], None], page: Callable[[], None]):
        self.emit, self.page = emit, page
        self.rendered_breaks = 0
        self.explicit_breaks = 0

    def walk(self, el) -> None:
        name = local(el.tag)
        if name in _W_SKIP:
            return
        if name == "t":
            if el.text:
                self.emit(el.text)
        elif name in ("tab", "ptab"):
            self.emit("\t")
        elif name == "br":
            kind = next((v for k, v in el.attrib.items() if local(k) == "type"), None)
            if kind == "page":
                self.explicit_breaks += 1
                self.emit("\n")
                self.page()
            else:
                self.emit("\n")
        elif name == "cr":
            self.emit("\n")
        elif name == "noBreakHyphen":
            self.emit("-")
        elif name == "lastRenderedPageBreak":
            self.rendered_breaks += 1
            self.page()
        elif name == "tbl":
            self.table(el)
        elif name == "AlternateContent":
            choice = next((c for c in el if local(c.tag) == "Choice"), None)
            if choice is not None:
                self.walk(choice)
        elif name == "p":
            for child in el:
                self.walk(child)
            self.emit("\n")
        else:
            for child in el:
                self.walk(child)

    def table(self, tbl) -> None:
        for row in (r for r in tbl if local(r.tag) == "tr"):
            cells = []
            for cell in (c for c in row if local(c.tag) == "tc"):
                parts: list[str] = []
                inner = _WordText(parts.append, lambda: None)
                for child in cell:
                    inner.walk(child)
                self.rendered_breaks += inner.rendered_breaks
                cells.append(" ".join(line.strip() for line in "".join(parts).splitlines() if line.strip()))
            self.emit("\t".join(cells) + "\n")


def _app_pages(zf) -> int | None:
    try:
        root = read_part(zf, "docProps/app.xml")
    except Exception:  # noqa: BLE001
        return None
    for el in (root if root is not None else []):
        if local(el.tag) == "Pages" and (el.text or "").strip().isdigit():
            return int(el.text.strip())
    return None


class _OoxmlReader(ZipDocumentReader):
    def _read(self, zf) -> tuple[TextBuilder, dict]:
        main = _main_part(zf, self.fmt.upper())
        return self._package(zf, main, read_part(zf, main)), ooxml_metadata(zf)

    def _package(self, zf, main: str, root) -> TextBuilder:  # pragma: no cover - interface
        raise NotImplementedError


class DocxReader(_OoxmlReader):
    version = "1"
    fmt, label, media_type = ("docx", "Word document",
                              "application/vnd.openxmlformats-officedocument.wordprocessingml.document")

    extensions = frozenset({".docx", ".docm", ".dotx", ".dotm"})

    def _package(self, zf, main: str, root) -> TextBuilder:
        body = next((c for c in root if local(c.tag) == "body"), None)
        doc = TextBuilder()
        doc.mark("page")
        walker = _WordText(doc.add, lambda: doc.mark("page"))
        for child in (body if body is not None else []):
            walker.walk(child)
        pages = [p for p in doc.positions if p["kind"] == "page"]
        declared = _app_pages(zf)
        if walker.rendered_breaks == 0 and walker.explicit_breaks == 0:
            if declared != 1:
                doc.positions = [p for p in doc.positions if p["kind"] != "page"]
        elif walker.rendered_breaks == 0:
            doc.defects.append("pages: cut at explicit page breaks only (Word saved no layout); "
                               "a page that overflowed onto the next is not counted")
        elif declared is not None and declared != len(pages):
            doc.defects.append(f"pages: {len(pages)} found from saved page breaks, docProps/app.xml says {declared}")
        doc.close_marks()
        related = rels(zf, main)
        extras = (("headers and footers", ("header", "footer")), ("footnotes", ("footnotes",)),
                  ("endnotes", ("endnotes",)), ("comments", ("comments",)))
        n = 0
        for label, kinds in extras:
            texts: list[str] = []
            for kind, target, _ in related:
                if kind not in kinds:
                    continue
                part = read_part(zf, target)
                if part is None:
                    continue
                parts: list[str] = []
                inner = _WordText(parts.append, lambda: None)
                inner.walk(part)
                text = re.sub(r"\n{3,}", "\n\n", "".join(parts)).strip()
                if text and text not in texts:
                    texts.append(text)
            if texts:
                n += 1
                with doc.position("section", n, label):
                    doc.add("\n\n".join(texts))
        return doc


class _SlideText:
    """DrawingML text of a slide or notes part: paragraphs, line breaks, tables."""

    def __init__(self, emit: Callable[[str], None]):
        self.emit = emit

    def walk(self, el) -> None:
        name = local(el.tag)
        if name in ("t",):
            if el.text:
                self.emit(el.text)
        elif name == "br":
            self.emit("\n")
        elif name == "tbl":
            for row in (r for r in el.iter() if local(r.tag) == "tr"):
                cells = []
                for cell in (c for c in row if local(c.tag) == "tc"):
                    parts: list[str] = []
                    _SlideText(parts.append).walk_children(cell)
                    cells.append(" ".join(s.strip() for s in "".join(parts).splitlines() if s.strip()))
                self.emit("\t".join(cells) + "\n")
        elif name == "AlternateContent":
            choice = next((c for c in el if local(c.tag) == "Choice"), None)
            if choice is not None:
                self.walk(choice)
        elif name == "p":
            self.walk_children(el)
            self.emit("\n")
        elif name in ("rPr", "pPr", "endParaRPr", "bodyPr", "lstStyle", "spPr", "style", "nvSpPr", "nvGrpSpPr",
                      "nvGraphicFramePr", "nvPicPr", "nvCxnSpPr", "grpSpPr", "xfrm", "tblPr", "tblGrid", "tcPr",
                      "Fallback"):
            return
        else:
            self.walk_children(el)

    def walk_children(self, el) -> None:
        for child in el:
            self.walk(child)


def _placeholder(shape) -> str | None:
    """The placeholder type of a shape (`title`, `body`, `sldNum`, …), '' for an untyped placeholder."""
    for el in shape.iter():
        if local(el.tag) == "ph":
            return el.get("type", "")
    return None


def _shape_text(shape) -> str:
    parts: list[str] = []
    _SlideText(parts.append).walk(shape)
    return re.sub(r"\n{3,}", "\n\n", "".join(parts)).strip()


class PptxReader(_OoxmlReader):
    version = "1"
    fmt, label, media_type = ("pptx", "PowerPoint presentation",
                              "application/vnd.openxmlformats-officedocument.presentationml.presentation")

    extensions = frozenset({".pptx", ".pptm", ".ppsx", ".ppsm", ".potx", ".potm"})

    def _package(self, zf, main: str, root) -> TextBuilder:
        targets = {rid: target for kind, target, rid in rels(zf, main) if kind == "slide"}
        order = []
        for el in root.iter():
            if local(el.tag) == "sldId":
                rid = next((v for k, v in el.attrib.items() if local(k) == "id" and k.startswith("{")), None)
                if rid in targets and targets[rid] not in order:
                    order.append(targets[rid])
        doc = TextBuilder()
        for n, target in enumerate(order, 1):
            slide = read_part(zf, target)
            if slide is None:
                doc.defects.append(f"slide {n}: part {target} missing")
                continue
            tree = next((el for el in slide.iter() if local(el.tag) == "spTree"), None)
            title, texts = None, []
            for shape in (tree if tree is not None else []):
                text = _shape_text(shape)
                kind = _placeholder(shape)
                if kind in ("title", "ctrTitle") and title is None and text:
                    title = " ".join(text.split())
                if text and kind not in ("sldNum", "dt", "ftr"):
                    texts.append(text)
            notes = []
            for kind, notes_target, _ in rels(zf, target):
                notes_root = read_part(zf, notes_target) if kind == "notesSlide" else None
                if notes_root is None:
                    continue
                notes_tree = next((el for el in notes_root.iter() if local(el.tag) == "spTree"), None)
                for shape in (notes_tree if notes_tree is not None else []):
                    if _placeholder(shape) in ("body", ""):
                        text = _shape_text(shape)
                        if text:
                            notes.append(text)
            with doc.position("slide", n, title):
                doc.add("\n\n".join(texts))
                if notes:
                    doc.add(("\n\n" if texts else "") + "Notes:\n" + "\n\n".join(notes))
        return doc
