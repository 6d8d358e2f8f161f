"""Emails printed to PDF (Outlook print layout) with a text layer -> one `email_message` per message.

Text is extracted page by page with pypdf. Page headers/footers (a Bates number such as `NYPD-CV-000123`
or `NYPD 000123`, `Page N of M`, a `SYNTHETIC SAMPLE` stamp) are removed from the text but the page's
Bates number is kept as metadata. The line stream is then split into messages (production-formats.md §4):

* a header block is a run of label lines starting with `From:` and holding at least one of `Sent:` /
  `To:` / `Subject:` (tolerant of OCR noise: `Sent :`, `Subiect:`, `Fr0m:`, `Frorn:`, `Subjcct:`); a
  `To:`/`Cc:` value that wraps onto the next line is joined back;
* a block right after `-----Original Message-----` or a line of underscores, or a `From:` block that
  appears inside a message's body (not at the top of a page), is a *quoted* message: its payload has
  `depth` (1, 2, ...) and `quoted_in_index` (the index of the printed top-level message it sits in);
* a block at the top of a page (Outlook prints each item on a new page) starts a new top-level message.

Each message's `body_text` is its own text only (quoted history is emitted as the quoted messages).

A page without a text layer (a scan) is rendered with pypdfium2 and read by OCR (`ocr.read_pages`, in
parallel while the splitter goes on): its `page_ocr` event comes first, then its text joins the same
line stream, so a printed email may run over text-layer and scanned pages. Each message says where its
text came from (`text_source`: text_layer, ocr or mixed) and the mean OCR confidence of its pages; a page
that could not be OCRed (no engine installed, a Tesseract failure) is an `item_quarantined` row naming the
page and what to do. The Bates number of a scanned page is read from its OCRed header or footer.

Pages that no printed email covers (a report, a letter, a cover sheet; or every page of a PDF that holds
no email at all) become one `text_document` event (format "pdf", a `page` position per page, metadata
from the PDF's info dictionary, `ocr_pages` listing the pages read by OCR), so their content is still
searchable and citable. Its text is each page's text as is (headers/footers are not removed: a Bates-like
line may be content in a report). A PDF with no text on any page and nothing to OCR is refused.

The file is read page by page; the message being assembled and the text of pages not (yet) covered
by a message are held in memory.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from . import ocr
from .base import FileStats, Observation, Reader, UnreadableFile, to_batches
from .concordance_dat import parse_loose_datetime, parse_people
from .document_text import TextBuilder, metadata

# OCR confusions in the labels (production-formats.md §4): m read as rn, o as 0, e as c or 3, j as i/l/1
LABELS = {
    "from": r"fr\s?[o0]\s?(?:m|rn|nn)",
    "sent": r"s\s?[e3c]\s?nt|date",
    "to": r"t[o0]",
    "cc": r"c\s?[ceo]",
    "bcc": r"b\s?c\s?[ceo]",
    "subject": r"s\s?[uv]\s?b\s?[jil1]\s?[e3c]\s?[ce]\s?t|subj",
    "attachments": r"attachments?",
    "importance": r"importance",
}
LABEL_RE = re.compile(
    r"^\s*(?:" + "|".join(f"(?P<{k}>{v})" for k, v in LABELS.items()) + r")\s*:\s*(?P<value>.*?)\s*$",
    re.IGNORECASE,
)
SEPARATOR_RE = re.compile(r"^\s*(?:-{3,}\s*(?:Original|Forwarded)\s+Message\s*-{3,}|_{10,})\s*$", re.IGNORECASE)
PAGE_OF_RE = re.compile(r"\bPage\s+\d+\s+of\s+\d+\b", re.IGNORECASE)
STAMP_RE = re.compile(r"SYNTHETIC\s+SAMPLE", re.IGNORECASE)
BATES_RE = re.compile(r"(?P<bates>[A-Z][A-Z0-9]*(?:[-_ .][A-Z0-9]+)*?[-_ .]\d{4,})")
ZONE_LINES = 3      # lines at the top and bottom of a page searched for headers/footers
PAGE_TOP_LINES = 3  # a block starting within this many content lines of a page top is a new print
ADDRESS_LABELS = ("from", "to", "cc", "bcc")
# OCR reads "name@ host.example" or "name @host": an @ between an address's parts joins them again
OCR_AT_RE = re.compile(r"(?<=[\w.+-]) ?@ ?(?=[\w-]+\.[\w.-]*[A-Za-z])")
# a page's OCR is written as soon as it is read (the ingest commits it), so a killed build keeps it
FLUSH_AFTER = frozenset({"page_ocr", "item_quarantined"})


def clean_page(text: str) -> tuple[list[str], str | None]:
    """Page text -> (content lines without header/footer lines, the page's Bates number or None)."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    filled = [i for i, ln in enumerate(lines) if ln.strip()]
    zone = set(filled[:ZONE_LINES] + filled[-ZONE_LINES:])
    bates, drop = None, set()
    for i in sorted(zone):
        line = lines[i]
        if LABEL_RE.match(line) or SEPARATOR_RE.match(line):
            continue
        rest = PAGE_OF_RE.sub(" ", line)
        if STAMP_RE.search(rest):
            drop.add(i)
            continue
        rest = rest.strip(" \t-|")
        match = BATES_RE.fullmatch(rest)
        if match:
            bates = match.group("bates")
            drop.add(i)
        elif not rest:
            drop.add(i)
    return [ln for i, ln in enumerate(lines) if i not in drop], bates


@dataclass
class _Message:
    index: int
    depth: int
    quoted_in_index: int | None
    first_page: int
    last_page: int
    first_bates: str | None
    last_bates: str | None
    headers: dict[str, str] = field(default_factory=dict)
    body: list[str] = field(default_factory=list)

    def touch(self, page: int, bates: str | None) -> None:
        self.last_page, self.last_bates = page, bates


@dataclass
class _Block:
    page: int
    bates: str | None
    page_pos: int
    after_separator: bool
    fields: list[list[str]] = field(default_factory=list)  # [label, value]
    raw: list[tuple[int, str | None, str]] = field(default_factory=list)  # (page, bates, line)
    seen_subject: bool = False

    def confirmed(self) -> bool:
        labels = {f[0] for f in self.fields}
        return "from" in labels and bool(labels & {"sent", "to", "subject"})


def _label(match: re.Match) -> str:
    return next(k for k in LABELS if match.group(k) is not None)


class _Splitter:
    """Consumes content lines in order; yields finished messages."""

    def __init__(self) -> None:
        self.current: _Message | None = None
        self.block: _Block | None = None
        self.separator: tuple[int, str | None, str] | None = None
        self.count = 0
        self.covered_pages: set[int] = set()

    def feed(self, page: int, bates: str | None, pos: int, line: str) -> Iterator[_Message]:
        match = LABEL_RE.match(line)
        label = _label(match) if match else None
        if self.block is not None:
            if match and label != "from":
                self.block.fields.append([label, match.group("value")])
                self.block.raw.append((page, bates, line))
                self.block.seen_subject |= label == "subject"
                return
            if not line.strip() and not self.block.seen_subject:
                return
            if not match and line.strip() and self._continues(line):
                self.block.fields[-1][1] += " " + line.strip()
                self.block.raw.append((page, bates, line))
                return
            yield from self._finish_block()
        if label == "from":
            self.block = _Block(page, bates, pos, self.separator is not None)
            self.block.fields.append(["from", match.group("value")])
            self.block.raw.append((page, bates, line))
            if self.separator is not None:
                self.separator = None
            return
        if SEPARATOR_RE.match(line):
            self._flush_separator()
            self.separator = (page, bates, line)
            return
        if self.separator is not None and line.strip():
            self._flush_separator()
        self._body(page, bates, line)

    def _continues(self, line: str) -> bool:
        last_label, last_value = self.block.fields[-1]
        if self.block.seen_subject or last_label not in ADDRESS_LABELS:
            return False
        return last_value.rstrip().endswith((";", ",")) or "@" in line or "[REDACTED" in line.upper()

    def _body(self, page: int, bates: str | None, line: str) -> None:
        if self.current is None:
            return
        self.current.body.append(line)
        if line.strip():
            self.current.touch(page, bates)
            self.covered_pages.add(page)

    def _flush_separator(self) -> None:
        if self.separator is not None:
            self._body(*self.separator)
            self.separator = None

    def _finish_block(self) -> Iterator[_Message]:
        block, self.block = self.block, None
        if not block.confirmed():
            for page, bates, line in block.raw:  # a lone "From:" line in a body is just body text
                self._body(page, bates, line)
            return
        parent = self.current
        quoted = parent is not None and (block.after_separator or block.page_pos >= PAGE_TOP_LINES)
        if parent is not None:
            yield parent
        if quoted:
            depth = parent.depth + 1
            top = parent.quoted_in_index if parent.quoted_in_index is not None else parent.index
        else:
            depth, top = 0, None
        last_page, last_bates = block.raw[-1][0], block.raw[-1][1]
        msg = _Message(self.count, depth, top, block.page, last_page, block.bates, last_bates)
        self.count += 1
        for label, value in block.fields:
            if label in msg.headers and label in ADDRESS_LABELS:
                msg.headers[label] += "; " + value
            else:
                msg.headers.setdefault(label, value)
        self.covered_pages.update(p for p, _, _ in block.raw)
        self.current = msg

    def close(self) -> Iterator[_Message]:
        if self.block is not None:
            yield from self._finish_block()
        self._flush_separator()
        if self.current is not None:
            yield self.current
            self.current = None


def message_payload(msg: _Message) -> tuple[dict, object]:
    defects: list[str] = []
    headers = msg.headers
    date_raw = headers.get("sent") or None
    occurred_at = parse_loose_datetime(date_raw, defects)
    attachments = [{"filename": name.strip(), "media_type": None, "size_bytes": None, "sha256": None}
                   for name in (headers.get("attachments") or "").split(";") if name.strip()]
    body = "\n".join(msg.body).strip("\n")
    payload = {
        "index": msg.index,
        "message_id": None,
        "in_reply_to": None,
        "references": [],
        "subject": headers.get("subject") or None,
        "date_raw": date_raw,
        "body_text": body,
        "attachments": attachments,
        "defects": defects,
        "pages": [msg.first_page, msg.last_page],
        "bates_begin": msg.first_bates,
        "bates_end": msg.last_bates,
        "depth": msg.depth,
        "quoted_in_index": msg.quoted_in_index,
    }
    for key in ("from", "to", "cc", "bcc", "reply_to"):
        raw = headers.get(key) or None
        payload[key] = parse_people(raw)
        payload[f"{key}_raw"] = raw
    return payload, occurred_at


class PrintedEmailPdfReader(Reader):
    name = "printed_pdf"
    version = "3"  # 3: pages without a text layer are OCRed (ocr.OCR_VERSION 1)
    media_type = "application/pdf"
    ocr_pages = True

    sniffed = frozenset({"pdf"})
    extensions = frozenset({".pdf"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        if path.stat().st_size == 0:
            raise UnreadableFile("empty file")
        with path.open("rb") as fh:
            pages, meta = self._open(fh)
            yield from to_batches(self._observations(path, pages, stats, meta), flush=FLUSH_AFTER)

    @staticmethod
    def _open(fh):
        import pypdf  # imported here so the other readers do not pay for it

        try:
            reader = pypdf.PdfReader(fh, strict=False)
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except Exception as exc:  # noqa: BLE001 - e.g. AES without the crypto extra
                    raise UnreadableFile(f"encrypted PDF: cannot decrypt ({exc.__class__.__name__}: {exc})") from None
                if not ok:
                    raise UnreadableFile("encrypted PDF: a password is required")
            pages = reader.pages
            if len(pages) == 0:
                raise UnreadableFile("unreadable PDF: no pages")
        except UnreadableFile:
            raise
        except Exception as exc:  # noqa: BLE001 - pypdf raises many types on corrupt input
            raise UnreadableFile(f"unreadable PDF: {exc.__class__.__name__}: {exc}") from None
        return pages, PrintedEmailPdfReader._metadata(reader)

    @staticmethod
    def _metadata(reader) -> dict:
        """The PDF info dictionary as `metadata` (a broken one loses the metadata, not the text)."""
        def get(attr):
            try:
                value = getattr(info, attr)
            except Exception:  # noqa: BLE001 - bad dates or strings in the info dictionary
                return None
            return value if isinstance(value, (str, bytes)) or hasattr(value, "isoformat") else None

        try:
            info = reader.metadata
        except Exception:  # noqa: BLE001
            info = None
        if info is None:
            return metadata()
        return metadata(title=get("title"), subject=get("subject"), author=get("author"),
                        created=get("creation_date"), modified=get("modification_date"))

    def _observations(self, path: Path, pages, stats: FileStats, meta: dict | None = None) -> Iterator[Observation]:
        layer, failed = [], 0
        for page in pages:
            try:
                layer.append(page.extract_text() or "")
            except Exception:  # noqa: BLE001 - one bad page must not lose the rest
                layer.append("")
                failed += 1
        scanned = [n for n, text in enumerate(layer, 1) if not text.strip()]
        ocr_results = ocr.read_pages(_render_jobs(path, scanned), len(scanned)) if scanned else iter(())

        def items() -> Iterator[PageText | Observation]:
            for number, text in enumerate(layer, 1):
                if text.strip():
                    yield PageText(number, text)
                else:
                    yield from ocr_items(next(ocr_results), stats)

        yield from split_pages(items(), stats, meta, "pdf")
        stats.extra["pages_failed"] = failed


def _render_jobs(path: Path, numbers: list[int]) -> Iterator[ocr.PageJob]:
    """Pages to OCR, rendered with pypdfium2 when the OCR pool asks for them (on this thread: pdfium is
    not thread-safe)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        for number in numbers:
            yield ocr.PageJob(number, lambda number=number: _render(pdf, number), "pdf_page")
    finally:
        pdf.close()


def _render(pdf, number: int) -> tuple[object, int]:
    """The page as a greyscale image at its scan's own resolution (the largest image's pixels per inch,
    150-400), else at ocr.RENDER_DPI: upsampling a 200 dpi scan to 300 only slows Tesseract down."""
    import pypdfium2.raw as pdfium_c

    page = pdf[number - 1]
    try:
        width_in = page.get_width() / 72
        dpi = ocr.RENDER_DPI
        try:
            sizes = [obj.get_px_size()[0] / max((obj.get_bounds()[2] - obj.get_bounds()[0]) / 72, 1e-3)
                     for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2)]
            widest = max(sizes) if sizes else 0
            if widest and width_in:
                dpi = int(min(400, max(150, round(widest))))
        except Exception:  # noqa: BLE001 - a malformed image object: render at the default
            pass
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        return bitmap.to_pil(), dpi
    finally:
        page.close()


@dataclass
class PageText:
    """One page's text for the splitter: from the text layer, or from OCR with its mean word confidence."""
    number: int
    text: str
    source: str = "text_layer"
    confidence: float | None = None


def ocr_items(result: ocr.PageResult, stats: FileStats) -> Iterator[PageText | Observation]:
    """The events of one OCRed page (page_ocr, or item_quarantined when it could not be read) and its text."""
    if result.payload is None:
        stats.expected_items += 1
        stats.quarantined_items += 1
        if result.awaiting_engine:
            stats.extra["pages_awaiting_ocr"] = stats.extra.get("pages_awaiting_ocr", 0) + 1
        yield Observation("item_quarantined", {"index": result.page - 1, "page": result.page, "reason": result.reason},
                          row=result.page)
        return
    payload = result.payload
    bates = clean_page(payload["text"])[1]
    stats.extra["pages_ocr"] = stats.extra.get("pages_ocr", 0) + 1
    yield Observation("page_ocr", payload, row=result.page, bates=bates)
    yield PageText(result.page, OCR_AT_RE.sub("@", payload["text"]), "ocr", payload.get("confidence"))


def split_pages(items: Iterator[PageText | Observation], stats: FileStats, meta: dict | None,
                fmt: str) -> Iterator[Observation]:
    """Printed emails (and a text_document of the pages no email covers) from page texts in page order;
    Observations among the items (a page's own events) pass through as they come."""
    splitter = _Splitter()
    n_pages, with_text = 0, set()
    bates_seen = 0
    sources: dict[int, tuple[str, float | None]] = {}
    held: dict[int, tuple[str, str | None]] = {}  # page -> (text, bates) of pages no message covers yet
    for item in items:
        if isinstance(item, Observation):
            yield item
            continue
        number = item.number
        n_pages = max(n_pages, number)
        sources[number] = (item.source, item.confidence)
        lines, bates = clean_page(item.text)
        bates_seen += bates is not None
        pos = 0
        if any(ln.strip() for ln in lines):
            with_text.add(number)
            held[number] = (item.text, bates)
        for line in lines:
            for msg in splitter.feed(number, bates, pos, line):
                yield _emit(msg, stats, sources)
            pos += bool(line.strip())
        for page in splitter.covered_pages & held.keys():
            del held[page]
    for msg in splitter.close():
        yield _emit(msg, stats, sources)
    if not with_text and not stats.quarantined_items and not any(s == "ocr" for s, _ in sources.values()):
        raise UnreadableFile(f"no text on any of its {n_pages} pages")
    uncovered = {n: held[n] for n in sorted(held) if n not in splitter.covered_pages}
    if uncovered:
        yield _document(uncovered, stats, meta, sources, fmt)
    stats.extra.update({
        "pages": n_pages,
        "pages_with_text": len(with_text),
        "pages_without_text": n_pages - len(with_text),
        "pages_uncovered": len(with_text - splitter.covered_pages),
        "pages_with_bates": bates_seen,
    })


def _text_source(first: int, last: int, sources: dict[int, tuple[str, float | None]]) -> tuple[str, float | None]:
    """text_layer | ocr | mixed for the pages a message spans, and the mean OCR confidence of its OCR pages."""
    spanned = [sources[n] for n in range(first, last + 1) if n in sources]
    kinds = {kind for kind, _ in spanned}
    confidences = [c for kind, c in spanned if kind == "ocr" and c is not None]
    kind = "mixed" if len(kinds) > 1 else next(iter(kinds), "text_layer")
    return kind, round(sum(confidences) / len(confidences), 2) if confidences else None


def _document(uncovered: dict[int, tuple[str, str | None]], stats: FileStats, meta: dict | None,
              sources: dict[int, tuple[str, float | None]], fmt: str) -> Observation:
    """The `text_document` of the pages no printed email covers (all pages when there is no email)."""
    doc = TextBuilder()
    for number, (text, _) in uncovered.items():
        lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        with doc.position("page", number):
            doc.add("\n".join(lines).strip("\n"))
    text = doc.text().rstrip()
    positions = [dict(p, start=min(p["start"], len(text)), end=min(p["end"], len(text))) for p in doc.positions]
    ocr_pages = [n for n in uncovered if sources.get(n, ("",))[0] == "ocr"]
    kind, confidence = _text_source(min(uncovered), max(uncovered), {n: sources[n] for n in uncovered if n in sources})
    payload = {"text": text, "chars": len(text), "format": fmt, "positions": positions,
               "metadata": meta if meta is not None else metadata(), "defects": doc.defects, "encoding": None,
               "text_source": kind, "ocr_confidence": confidence, "ocr_pages": ocr_pages}
    stats.expected_items += 1
    stats.extracted_items += 1
    first_bates = next(iter(uncovered.values()))[1]
    return Observation("text_document", payload, bates=first_bates)


def _emit(msg: _Message, stats: FileStats, sources: dict[int, tuple[str, float | None]]) -> Observation:
    payload, occurred_at = message_payload(msg)
    payload["text_source"], payload["ocr_confidence"] = _text_source(msg.first_page, msg.last_page, sources)
    stats.expected_items += 1
    stats.extracted_items += 1
    return Observation("email_message", payload, occurred_at=occurred_at, bates=msg.first_bates)
