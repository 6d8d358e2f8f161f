"""OCR of page images, as an observation: one `page_ocr` event per page that has no text layer.

A page (a PDF page rendered with pypdfium2, a TIFF frame, a JPEG/PNG) is binarised (Otsu, isolated
speckle removed), its redaction boxes are found and erased (`redaction_boxes`), and Tesseract reads it
through pytesseract with `OMP_THREAD_LIMIT=1`: Tesseract's own threads were several times slower than one
process per core. Pages run on a pool of threads, one per core; each thread waits on its Tesseract
process, so the pages are read side by side while the calling reader renders the next ones. When the
build names a Dask scheduler (FOIL_DASK_SCHEDULER, lib/cluster.py), pages are tasks on its workers
instead, each with the page image and the worker's own Tesseract (which must be the version this
machine has, so a page's payload says what read it); a LocalCluster would add nothing to the threads.

`page_ocr` payload: `page`, `text` (lines top to bottom, a `[REDACTED BOX p<page>-<n> <code>]` marker where
each box sits), `engine`, `engine_version`, `ocr_version`, `confidence` (mean word confidence, 0-100, null
without words), `words`, `low_confidence_words` (< 60), `width`, `height`, `dpi`, `source` (pdf_page |
image_frame), `redactions` (`redaction_boxes.Box.payload`).

The OCR step has its own version (OCR_VERSION): pages already read by this version and engine are taken
from the event log instead of read again, so a killed build does not redo finished pages (`cached_pages`,
set by the ingest for the file being read) and a better engine later re-reads only these pages. Without
an engine each such page becomes an `item_quarantined` row saying how to install one.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from pipelines.lib import cluster as dask_cluster
from pipelines.lib.transient import TransientError

from . import redaction_boxes as rb

OCR_VERSION = "1"  # bump with a change to rendering, binarising or Tesseract settings; readers that OCR bump too
LANG = "eng"
RENDER_DPI = 300     # PDF pages are rendered at this resolution (Tesseract reads 200-300 dpi text best)
LOW_WORD_CONFIDENCE = 60
PAGE_TIMEOUT_S = 300  # a page Tesseract cannot finish in this time is quarantined, not retried forever
INSTALL_HINT = ("install an OCR engine, then run `foil build` again: Debian's tesseract-ocr and tesseract-ocr-eng "
                "(apt-get install tesseract-ocr tesseract-ocr-eng), or a tesseract binary named by FOIL_TESSERACT")


@dataclass(frozen=True)
class Engine:
    cmd: str
    version: str
    name: str = "tesseract"


_engines: dict[str | None, Engine | None] = {}


def engine() -> Engine | None:
    """The Tesseract found on this machine with English data (FOIL_TESSERACT, else `tesseract` on PATH),
    or None. Looked up again when the path changes, so installing one needs no restart."""
    cmd = os.environ.get("FOIL_TESSERACT") or shutil.which("tesseract")
    if cmd not in _engines:
        _engines[cmd] = _probe(cmd) if cmd else None
    return _engines[cmd]


def _probe(cmd: str) -> Engine | None:
    try:
        langs = subprocess.run([cmd, "--list-langs"], capture_output=True, text=True, timeout=30)
        version = subprocess.run([cmd, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if LANG not in (langs.stdout + langs.stderr).split():
        return None
    first = (version.stdout or version.stderr).split("\n", 1)[0].split()
    return Engine(cmd, first[1] if len(first) > 1 else "unknown")


def missing_engine_reason(page: int) -> str:
    return f"page {page} has no text layer and no OCR engine is installed: {INSTALL_HINT}"


# ---- pages already read: the ingest sets them for the file being read --------------------------------

@dataclass
class Context:
    cached: dict[int, dict]                     # page -> page_ocr payload already in the event log
    say: Callable[[str], None] | None = None     # progress lines
    label: str = ""


_CONTEXT: contextvars.ContextVar[Context | None] = contextvars.ContextVar("ocr_context", default=None)


@contextlib.contextmanager
def file_context(cached: dict[int, dict], say: Callable[[str], None] | None, label: str):
    token = _CONTEXT.set(Context(cached, say, label))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def reusable(payload: dict, eng: Engine | None) -> bool:
    """A page_ocr payload read by this OCR version with the engine installed now."""
    return (eng is not None and payload.get("ocr_version") == OCR_VERSION and payload.get("engine") == eng.name
            and payload.get("engine_version") == eng.version)


# ---- one page ----------------------------------------------------------------------------------------

def binarise(grey: np.ndarray) -> np.ndarray:
    """Ink mask (True = dark) by Otsu's threshold, without isolated specks of one or two pixels."""
    from scipy import ndimage

    hist = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256)
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * levels)
    total, total_mean = weight[-1], mean[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * weight - mean * total) ** 2 / (weight * (total - weight))
    threshold = int(np.nanargmax(between)) if np.isfinite(between).any() else 127
    ink = grey <= threshold
    neighbours = ndimage.convolve(ink.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant")
    return ink & (neighbours >= 3)


def read_page(image, dpi: int, page: int, source: str, eng: Engine) -> dict:
    """OCR one page image (any Pillow mode) into a page_ocr payload."""
    import pytesseract
    from PIL import Image

    from .printed_pdf import LABEL_RE  # the header labels a box may sit on

    grey = np.array(image.convert("L"), dtype=np.uint8)
    ink = binarise(grey)
    boxes = rb.find_boxes(ink, dpi)
    for box in boxes:
        if box.style == "solid" and box.has_inner_text:  # a code printed in white on the box
            inset = max(2, (box.bottom - box.top) // 8)  # off the edges: a skewed box's corners read as "|"
            crop = 255 - grey[box.top + inset:box.bottom - inset, box.left + inset:box.right - inset]
            text = _tesseract(pytesseract, eng, Image.fromarray(crop).point(lambda v: 0 if v < 128 else 255),
                              dpi, psm=7, kind="string")
            box.code = rb.normalise_code(rb.trim_code(text)) if text else None
    rb.erase(grey, ink, boxes)
    clean = Image.fromarray(np.where(ink, 0, 255).astype(np.uint8))
    data = _tesseract(pytesseract, eng, clean, dpi, psm=4, kind="data")
    lines = _lines(data)
    confidences = [w.conf for line in lines for w in line.words if w.conf >= 0]
    lines = rb.place(lines, boxes, page, LABEL_RE)
    return {
        "page": page, "text": _text(lines), "engine": eng.name,
        "engine_version": eng.version, "ocr_version": OCR_VERSION,
        "confidence": round(sum(confidences) / len(confidences), 2) if confidences else None,
        "words": len(confidences), "low_confidence_words": sum(c < LOW_WORD_CONFIDENCE for c in confidences),
        "width": grey.shape[1], "height": grey.shape[0], "dpi": dpi, "source": source,
        "redactions": [box.payload() for box in boxes],
    }


def _tesseract(pytesseract, eng: Engine, image, dpi: int, psm: int, kind: str):
    pytesseract.pytesseract.tesseract_cmd = eng.cmd
    config = f"--psm {psm} --dpi {dpi}"
    if kind == "string":
        return pytesseract.image_to_string(image, lang=LANG, config=config, timeout=PAGE_TIMEOUT_S).strip()
    return pytesseract.image_to_data(image, lang=LANG, config=config, timeout=PAGE_TIMEOUT_S,
                                     output_type=pytesseract.Output.DICT)


def _text(lines: list[rb.Line]) -> str:
    """The page's lines, with an empty line where the gap above a line is more than half a line high
    (a paragraph break: printed emails end their header block with one)."""
    heights = sorted(line.bottom - line.top for line in lines if line.words)
    if not heights:
        return ""
    typical = heights[len(heights) // 2]
    out, prev = [], None
    for line in lines:
        if prev is not None and line.top - prev.bottom > 0.75 * typical + typical // 2:
            out.append("")
        out.append(line.text())
        prev = line
    return "\n".join(out)


def _lines(data: dict) -> list[rb.Line]:
    """Tesseract's words grouped into its lines, in its reading order."""
    lines: dict[tuple, rb.Line] = {}
    for i, text in enumerate(data["text"]):
        if not text or not text.strip():
            continue
        key = (data["page_num"][i], data["block_num"][i], data["par_num"][i], data["line_num"][i])
        left, top = int(data["left"][i]), int(data["top"][i])
        text = "I" if text.strip() == "|" else text.strip()  # a lone bar in running text is Helvetica's I
        word = rb.Word(text, left, top, left + int(data["width"][i]), top + int(data["height"][i]),
                       float(data["conf"][i]))
        lines.setdefault(key, rb.Line()).words.append(word)
    return list(lines.values())


# ---- many pages --------------------------------------------------------------------------------------

class PageUnreadable(Exception):
    """This page cannot be OCRed (too large, say): the page is quarantined with this reason."""


@dataclass
class PageJob:
    page: int
    render: Callable[[], tuple[object, int]]   # -> (Pillow image, dpi); called on the reader's thread
    source: str


@dataclass
class PageResult:
    page: int
    payload: dict | None        # None: quarantined
    reason: str | None = None
    cached: bool = False
    awaiting_engine: bool = False  # quarantined only because no engine is installed: read again once one is


def workers() -> int:
    try:
        return max(1, int(os.environ.get("FOIL_OCR_WORKERS", "0"))) if os.environ.get("FOIL_OCR_WORKERS") \
            else len(os.sched_getaffinity(0))
    except (ValueError, AttributeError):
        return os.cpu_count() or 1


def read_pages(jobs: Iterable[PageJob], total: int) -> Iterator[PageResult]:
    """OCR the pages of one file in parallel, in page order; pages read before come from the context."""
    context = _CONTEXT.get() or Context({})
    eng = engine()
    progress = _Progress(context, total)
    if eng is None:
        for job in jobs:
            yield PageResult(job.page, None, missing_engine_reason(job.page), awaiting_engine=True)
        return
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # before the first Tesseract process starts
    cluster = dask_cluster.current()
    remote = cluster is not None and bool(cluster.scheduler)
    size = cluster.slots() if remote else workers()
    pending: list[tuple[PageJob, object]] = []  # (job, a future, a cached payload or a PageResult)
    with contextlib.ExitStack() as stack:
        if remote:
            client = cluster.client()

            def submit(image, dpi, job):  # greyscale, as read_page would make it: a third of an RGB page's bytes
                return client.submit(read_page_on_worker, image.convert("L"), dpi, job.page, job.source, eng, pure=False)
        else:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=size, thread_name_prefix="ocr"))

            def submit(image, dpi, job):
                return pool.submit(read_page, image, dpi, job.page, job.source, eng)
        try:
            for job in jobs:
                cached = context.cached.get(job.page)
                if cached is not None and reusable(cached, eng):
                    pending.append((job, cached))
                else:
                    try:
                        image, dpi = job.render()
                    except PageUnreadable as exc:
                        pending.append((job, PageResult(job.page, None, str(exc))))
                    except (ValueError, SyntaxError, OSError) as exc:  # a corrupt frame or page
                        if isinstance(exc, OSError) and exc.errno is not None:
                            raise  # the machine's (disk, I/O), not the page's
                        pending.append((job, PageResult(job.page, None, f"page {job.page}: cannot be rendered: {exc}")))
                    else:
                        pending.append((job, submit(image, dpi, job)))
                while len(pending) > 2 * size or (pending and _ready(pending[0][1])):
                    yield _result(*pending.pop(0), progress)
            while pending:
                yield _result(*pending.pop(0), progress)
        except BaseException:
            for _, future in pending:
                if _is_future(future):
                    future.cancel()
            raise


def read_page_on_worker(image, dpi: int, page: int, source: str, wanted: Engine) -> dict:
    """read_page on a Dask worker, with the worker's own Tesseract: a missing or different engine is
    the cluster's problem (TransientError fails the run), never the page's."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    eng = engine()
    if eng is None or eng.version != wanted.version:
        found = f"Tesseract {eng.version}" if eng else "no Tesseract with English data"
        raise TransientError(f"the Dask worker has {found}; this build reads pages with Tesseract {wanted.version}: "
                             "install the same version on every worker (or set FOIL_TESSERACT there)")
    return read_page(image, dpi, page, source, eng)


def _is_future(item: object) -> bool:
    return not isinstance(item, (dict, PageResult))


def _ready(item: object) -> bool:
    return not _is_future(item) or item.done()


def _result(job: PageJob, item, progress: "_Progress") -> PageResult:
    if isinstance(item, PageResult):
        progress()
        return item
    if not _is_future(item):
        progress(cached=True)
        return PageResult(job.page, item, cached=True)
    try:
        payload = item.result()
    except RuntimeError as exc:  # pytesseract's TesseractError or its timeout: this page's content
        progress()
        return PageResult(job.page, None, f"page {job.page}: OCR failed ({exc}); the page is kept as an image")
    progress()
    return PageResult(job.page, payload)


class _Progress:
    """Pages done / total, rate and time left, every few seconds."""

    def __init__(self, context: Context, total: int):
        self.say, self.label, self.total = context.say, context.label, total
        self.done = self.read = 0
        self.started = self.last = time.monotonic()

    def __call__(self, cached: bool = False) -> None:
        self.done += 1
        self.read += not cached
        now = time.monotonic()
        if not self.say or (now - self.last < 5.0 and self.done < self.total):
            return
        self.last = now
        rate = self.read / (now - self.started) if now > self.started else 0.0
        left = (self.total - self.done) / rate if rate else 0.0
        reused = f", {self.done - self.read} from earlier builds" if self.done > self.read else ""
        self.say(f"  OCR {self.label}: {self.done}/{self.total} pages{reused}, {rate:.2f} pages/s, ~{left:.0f} s left")
