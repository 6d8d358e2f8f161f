"""Scanned printed-email pages from known text, for the sample's scanned release and bench/bench_ocr.py.

A page is laid out as an Outlook print (header block, body, Bates footer) in a text PDF (fpdf2), with
redaction boxes drawn where the redacted words would have been — the words themselves are never written.
The page is then rendered (pypdfium2) and "scanned": rotated by a small skew, speckled, and kept as
1-bit or greyscale pixels. `scanned_pdf` wraps such images into a PDF with no text layer, as a scanner
writes it; `text_pdf_page` adds a page with a text layer (a cover letter) to the same PDF.

Everything is deterministic for a seed (numpy's generator, fpdf2 with a fixed creation date), so the
sample's generator can check the committed files byte for byte.

A line is a string, or a list of segments: a string is printed; `Box(code, style, code_at)` is a
redaction box `width` characters wide, its exemption code printed inside it (white on a solid box, black
in an outlined one) or beside it (`code_at="after"`).
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import numpy as np

PAGE_W_MM, PAGE_H_MM = 215.9, 279.4  # US letter
LEFT_MM, TOP_MM, LINE_MM = 20.0, 22.0, 5.5
FONT_PT = 10
HEADER_LABELS = ("From", "Sent", "To", "Cc", "Subject", "Attachments")


@dataclass(frozen=True)
class Box:
    code: str | None
    style: str = "solid"        # solid | outlined
    code_at: str = "inside"     # inside | after
    width: int = 18             # characters of the hidden text


@dataclass
class Page:
    lines: list                 # str | list[str | Box]
    bates: str | None = None
    stamp: str | None = None    # small print at the top (the sample's synthetic label)


@dataclass
class Scan:
    dpi: int = 200
    mode: str = "1"             # "1" (bilevel) or "L" (greyscale)
    skew_deg: float = 0.0
    speckle: float = 0.0        # share of pixels flipped to ink at random
    seed: int = 0


@dataclass
class DrawnBox:
    """A box as drawn, in pixels of the rendered page (before skew), for the benchmark to match."""
    page: int
    left: int
    top: int
    right: int
    bottom: int
    style: str
    code: str | None
    extra: dict = field(default_factory=dict)


def _fpdf(created: dt.datetime, producer: str):
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.set_creation_date(created)
    pdf.set_creator(producer)
    pdf.set_producer(producer)
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.c_margin = 0  # text starts where it is placed, so a box drawn after it does not overlap it
    return pdf


def _layout(pdf, page: Page, number: int) -> list[DrawnBox]:
    """Write one page of printed email into pdf; return the boxes drawn (in mm)."""
    pdf.add_page()
    if page.stamp:
        pdf.set_font("Helvetica", size=8)
        pdf.set_xy(15, 10)
        pdf.cell(0, 5, page.stamp)
    boxes = []
    y = TOP_MM
    for line in page.lines:
        segments = [line] if isinstance(line, str) else line
        first = segments[0] if segments and isinstance(segments[0], str) else ""
        bold = first.split(":", 1)[0] in HEADER_LABELS and ":" in first
        x = LEFT_MM
        for seg in segments:
            if isinstance(seg, str):
                pdf.set_font("Helvetica", "B" if bold and seg is first else "", FONT_PT)
                pdf.set_xy(x, y)
                pdf.cell(0, 5, seg)
                x += pdf.get_string_width(seg)
                continue
            pdf.set_font("Helvetica", "", FONT_PT)
            w = pdf.get_string_width("n" * seg.width)
            top, h = y + 0.3, 4.4
            if seg.style == "solid":
                pdf.set_fill_color(0, 0, 0)
                pdf.rect(x, top, w, h, style="F")
                if seg.code and seg.code_at == "inside":
                    pdf.set_text_color(255, 255, 255)
                    pdf.set_font("Helvetica", "B", 8)
                    pdf.set_xy(x + 1, y)
                    pdf.cell(w - 2, 5, seg.code)
                    pdf.set_text_color(0, 0, 0)
            else:
                pdf.set_draw_color(0, 0, 0)
                pdf.set_line_width(0.5)
                pdf.rect(x, top, w, h, style="D")
                if seg.code and seg.code_at == "inside":
                    pdf.set_font("Helvetica", "", 8)
                    pdf.set_xy(x + 1.5, y)
                    pdf.cell(w - 3, 5, seg.code)
            boxes.append(DrawnBox(number, x, top, x + w, top + h, seg.style, seg.code))
            x += w
            if seg.code and seg.code_at == "after":
                pdf.set_font("Helvetica", "", FONT_PT)
                pdf.set_xy(x + 1.5, y)
                pdf.cell(0, 5, seg.code)
                x += 1.5 + pdf.get_string_width(seg.code)
        y += LINE_MM
    if page.bates:
        pdf.set_font("Helvetica", size=9)
        pdf.set_xy(150, 265)
        pdf.cell(0, 5, page.bates)
    return boxes


def render(pages: list[Page], scan: Scan, created: dt.datetime, producer: str):
    """The pages as scanned PIL images, and the boxes drawn on them (in pixels of the unskewed page)."""
    import pypdfium2 as pdfium
    from PIL import Image

    pdf = _fpdf(created, producer)
    drawn = []
    for number, page in enumerate(pages, 1):
        drawn += _layout(pdf, page, number)
    doc = pdfium.PdfDocument(bytes(pdf.output()))
    scale = scan.dpi / 72
    per_mm = scan.dpi / 25.4
    rng = np.random.default_rng(scan.seed)
    images = []
    try:
        for i in range(len(doc)):
            grey = doc[i].render(scale=scale, grayscale=True).to_pil().convert("L")
            if scan.skew_deg:
                grey = grey.rotate(scan.skew_deg, resample=Image.BICUBIC, fillcolor=255)
            pixels = np.asarray(grey, dtype=np.uint8).copy()
            if scan.speckle:
                dots = rng.random(pixels.shape) < scan.speckle
                pixels[dots] = rng.integers(0, 90, int(dots.sum()), dtype=np.uint8)
            image = Image.fromarray(pixels, "L")
            images.append(image.point(lambda v: 255 if v > 140 else 0).convert("1") if scan.mode == "1" else image)
    finally:
        doc.close()
    for box in drawn:
        box.left, box.top = round(box.left * per_mm), round(box.top * per_mm)
        box.right, box.bottom = round(box.right * per_mm), round(box.bottom * per_mm)
    return images, drawn


def scanned_pdf(parts: list, created: dt.datetime, producer: str, title: str) -> bytes:
    """A PDF of page images (PIL images) and text pages (`TextPage`) in order; image pages have no text."""
    pdf = _fpdf(created, producer)
    pdf.set_title(title)
    for part in parts:
        if isinstance(part, Page):
            _layout(pdf, part, pdf.page_no() + 1)
            continue
        pdf.add_page()
        buf = io.BytesIO()
        if part.mode == "1":
            part.save(buf, "PNG", optimize=False)   # fpdf2 stores bilevel PNG compactly (flate)
        else:
            part.save(buf, "JPEG", quality=85)      # greyscale scans come as JPEG (DCT) in PDFs
        buf.seek(0)
        pdf.image(buf, x=0, y=0, w=PAGE_W_MM, h=PAGE_H_MM)
    return bytes(pdf.output())


def tiff(images: list, dpi: int) -> bytes:
    """A multi-page bilevel TIFF (CCITT Group 4), as document scanners write them."""
    buf = io.BytesIO()
    first, *rest = [im.convert("1") for im in images]
    first.save(buf, "TIFF", compression="group4", dpi=(dpi, dpi), save_all=True, append_images=rest)
    return buf.getvalue()
