"""Images (TIFF, JPEG, PNG, GIF): scanned pages of a production. Each file is a document; each frame
(a TIFF page, a GIF frame) is one `page_image` event and is OCRed (`ocr`): its `page_ocr` event, and the
printed emails on its frames split as on a PDF's pages (`printed_pdf.split_pages`).

Frames are listed from their headers with the format's own Pillow plugin (a large scan over Pillow's
decompression-bomb limit is still described); a frame's pixels are loaded only to OCR it, up to
MAX_OCR_PIXELS.

`page_image` payload: `page` (1-based frame), `width`, `height`, `mode`, `dpi` ([x, y] or null),
`compression` (TIFF), `format`, `index` (0-based). `file_observed` extra: `format`, `width`, `height` (of
the first frame), `frames`, `pages` (= frames), `dpi`, `pages_ocr`. `source_row` = the page number.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from . import ocr
from .base import FileStats, Observation, Reader, UnreadableFile, to_batches
from .printed_pdf import FLUSH_AFTER, ocr_items, split_pages

MAX_FRAMES = 100_000  # an IFD chain longer than this is cut (and the cut recorded)
MAX_OCR_PIXELS = 200_000_000  # a frame larger than this (about 1,200 dpi on A3) is listed, not OCRed
LETTER_WIDTH_IN = 8.5  # a scan without a resolution is taken to be a page this wide

_SIGNATURES = ((b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"\xff\xd8\xff", "JPEG"),
               (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"))


def _plugin(fmt: str):
    if fmt == "TIFF":
        from PIL import TiffImagePlugin
        return TiffImagePlugin.TiffImageFile
    if fmt == "JPEG":
        from PIL import JpegImagePlugin
        return JpegImagePlugin.JpegImageFile
    if fmt == "PNG":
        from PIL import PngImagePlugin
        return PngImagePlugin.PngImageFile
    from PIL import GifImagePlugin
    return GifImagePlugin.GifImageFile


def _dpi(info: dict) -> list[float] | None:
    dpi = info.get("dpi")
    if not dpi:
        return None
    try:
        return [round(float(v), 2) for v in dpi][:2]
    except (TypeError, ValueError):
        return None


def _frame_dpi(payload: dict) -> int:
    """The frame's resolution, else the one a letter-width page of its size would have (150-600)."""
    dpi = payload.get("dpi")
    value = dpi[0] if dpi and dpi[0] and dpi[0] >= 50 else payload["width"] / LETTER_WIDTH_IN
    return int(min(600, max(150, round(value))))


class ImageReader(Reader):
    name = "image"
    version = "2"  # 2: frames are OCRed (ocr.OCR_VERSION 1)
    media_type = "image/*"
    ocr_pages = True

    sniffed = frozenset({"tiff", "jpeg", "png", "gif"})
    extensions = frozenset({".tif", ".tiff", ".jpg", ".jpeg", ".jpe", ".png", ".gif"})

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        try:
            import PIL  # noqa: F401
        except ImportError:  # pragma: no cover - Pillow is in the lock file
            raise UnreadableFile("image: Pillow is not installed") from None
        with path.open("rb") as fh:
            head = fh.read(16)
            fmt = next((f for magic, f in _SIGNATURES if head.startswith(magic)), None)
            if fmt is None:
                raise UnreadableFile("not a TIFF, JPEG, PNG or GIF image (no signature)")
            fh.seek(0)
            with warnings.catch_warnings(record=True) as caught:  # Pillow warns on corrupt EXIF etc.
                warnings.simplefilter("always")
                observations = self._frames(fh, fmt, stats)
        notes = sorted({f"image: {w.message}"[:300] for w in caught})
        if notes:
            stats.extra["defects"] = [*stats.extra.get("defects", []), *notes]
        yield from to_batches(split_pages(self._pages(path, fmt, observations, stats), stats, None, fmt.lower()),
                              flush=FLUSH_AFTER)

    def _pages(self, path: Path, fmt: str, frames: list[Observation], stats: FileStats):
        """The page_image events, then each frame's OCR in page order."""
        yield from frames
        with path.open("rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = _plugin(fmt)(fh)
            try:
                jobs = (ocr.PageJob(f.payload["page"], lambda f=f: self._render(im, f.payload), "image_frame")
                        for f in frames)
                for result in ocr.read_pages(jobs, len(frames)):
                    yield from ocr_items(result, stats)
            finally:
                im.close()

    @staticmethod
    def _render(im, frame: dict):
        if frame["width"] * frame["height"] > MAX_OCR_PIXELS:
            raise ocr.PageUnreadable(f"page {frame['page']} is {frame['width']}x{frame['height']} pixels, over "
                                 f"{MAX_OCR_PIXELS:,}: too large to OCR")
        im.seek(frame["index"])
        return im.convert("L"), _frame_dpi(frame)

    def _frames(self, fh, fmt: str, stats: FileStats) -> list[Observation]:
        defects: list[str] = []
        try:
            im = _plugin(fmt)(fh)
        except Exception as exc:  # noqa: BLE001 - Pillow raises SyntaxError, OSError, ValueError, struct.error ...
            raise UnreadableFile(f"unreadable {fmt} image: {exc.__class__.__name__}: {exc}") from None
        observations: list[Observation] = []
        try:
            page = 0
            while True:
                info = im.info
                compression = info.get("compression") if fmt == "TIFF" else None
                observations.append(Observation("page_image", {
                    "page": page + 1, "width": im.size[0], "height": im.size[1], "mode": im.mode,
                    "dpi": _dpi(info), "compression": compression, "format": fmt, "index": page,
                }, row=page + 1))
                page += 1
                if page >= MAX_FRAMES:
                    defects.append(f"frames: more than {MAX_FRAMES}, the rest not listed")
                    break
                try:
                    im.seek(page)
                except EOFError:
                    break
                except Exception as exc:  # noqa: BLE001 - a broken IFD chain or frame header
                    defects.append(f"frame {page + 1}: unreadable ({exc.__class__.__name__}: {exc}); later frames not listed")
                    break
        finally:
            try:
                im.close()
            except Exception:  # noqa: BLE001
                pass
        first = observations[0].payload
        stats.expected_items = stats.extracted_items = len(observations)
        stats.extra.update({"format": fmt, "width": first["width"], "height": first["height"],
                            "frames": len(observations), "dpi": first["dpi"]})
        if defects:
            stats.extra["defects"] = defects
        return observations
