"""Images (TIFF, JPEG, PNG, GIF): scanned pages of a production. Each file is a document; each frame
(a TIFF page, a GIF frame) is one `page_image` event, so OCR (issue #16) can attach text to it later.

Only headers are read, with Pillow (never the pixels): the format's own Pillow plugin is opened directly,
so a large scan (over Pillow's decompression-bomb pixel limit) is still described, not refused.

`page_image` payload (image files): `page` (1-based frame), `width`, `height`, `mode`, `dpi` ([x, y] or
null), `compression` (TIFF), `index` (0-based), `text_source` null and `note` (text comes with OCR later).
`file_observed` extra: `format`, `width`, `height` (of the first frame), `frames`, `pages` (= frames),
`dpi`, `ocr` ("pending: issue #16"). `source_row` = the page number.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Observation, Reader, UnreadableFile, to_batches

MAX_FRAMES = 100_000  # an IFD chain longer than this is cut (and the cut recorded)
OCR_NOTE = "image only: its text comes with OCR later (issue #16)"

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


class ImageReader(Reader):
    name = "image"
    version = "1"
    media_type = "image/*"

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
        yield from to_batches(iter(observations))

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
                    "text_source": None, "note": OCR_NOTE,
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
                            "frames": len(observations), "pages": len(observations), "dpi": first["dpi"],
                            "ocr": "pending: issue #16", "note": OCR_NOTE})
        if defects:
            stats.extra["defects"] = defects
        return observations
