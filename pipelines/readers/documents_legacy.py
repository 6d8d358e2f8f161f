"""Word and PowerPoint 97-2003 (.doc/.ppt, OLE compound files) through a converter on PATH, and
encrypted Office files of no other known kind.

No Python library reads these reliably, so the text comes from a converter found on PATH:
- .doc: `antiword` (Debian package antiword), then `catdoc` (package catdoc), then LibreOffice
  (`soffice`/`libreoffice --headless --convert-to docx`, read like a .docx);
- .ppt: LibreOffice (converted to .pptx, read like one: one `slide` position per slide), then `catppt`
  (package catdoc).
Form feeds in a converter's text (antiword/catdoc mark page breaks so) become `page` positions. Without
any converter the file is quarantined with a reason that says what to install; `defects` names the
converter used. Metadata comes from the file's SummaryInformation stream.
An encrypted Office file (an OLE file holding EncryptedPackage) is refused as "password required: …".
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .base import FileStats, Reader, UnreadableFile
from .document_text import OLE_MAGIC, TextBuilder, add_pages, from_builder, ole_metadata, refuse_encrypted

TIMEOUT_SECONDS = 180


def _which(*names: str) -> str | None:
    return next((found for found in map(shutil.which, names) if found), None)


def _run(args: list[str], timeout: int = TIMEOUT_SECONDS) -> tuple[bytes | None, str]:
    """(stdout, '') when the converter succeeded, else (None, why)."""
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"{Path(args[0]).name} timed out after {timeout} s"
    except OSError as exc:
        if exc.errno is not None and exc.errno not in (2, 8, 13):  # ENOENT, ENOEXEC, EACCES: the tool, not the disk
            raise
        return None, f"{Path(args[0]).name} could not run ({exc.strerror})"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return None, f"{Path(args[0]).name} exit {done.returncode}" + (f": {why[-1][:160]}" if why else "")
    return done.stdout, ""


def _soffice(path: Path, target: str) -> tuple[Path | None, str, tempfile.TemporaryDirectory | None]:
    """LibreOffice converts the file to `target` (docx/pptx) in a private folder (and a private profile,
    so conversions can run side by side)."""
    office = _which("soffice", "libreoffice")
    if office is None:
        return None, "", None
    work = tempfile.TemporaryDirectory(prefix="foil-soffice-")
    profile = Path(work.name) / "profile"
    source = Path(work.name) / ("in" + path.suffix.lower() if path.suffix else "in.bin")
    shutil.copyfile(path, source)
    _, why = _run([office, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                   "--convert-to", target, "--outdir", work.name, str(source)])
    out = source.with_suffix("." + target)
    if out.exists() and out.stat().st_size:
        return out, "", work
    work.cleanup()
    return None, why or f"LibreOffice wrote no .{target}", None


class _LegacyReader(Reader):
    fmt: str
    label: str
    install: str
    office_target: str

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "fmt" in cls.__dict__:  # the format names the reader and its sniffed type
            cls.name, cls.sniffed = "legacy_" + cls.fmt, frozenset({cls.fmt})

    def accepts(self, path: Path, head: bytes) -> bool:
        return head.startswith(OLE_MAGIC)

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        refuse_encrypted(path, self.label)
        with path.open("rb") as fh:
            if fh.read(8) != OLE_MAGIC:
                raise UnreadableFile(f"not a {self.label}: no OLE compound file signature")
        meta = ole_metadata(path)
        tried: list[str] = []
        for converter in self.converters():
            result = converter(path, tried)
            if result is not None:
                doc, used = result
                doc.defects.append(f"text by {used}")
                yield from from_builder(stats, self.fmt, doc, metadata=meta)
                return
        if not tried:
            raise UnreadableFile(f"{self.label}: no converter found; install {self.install} and rebuild")
        raise UnreadableFile(f"unreadable {self.label}: " + "; ".join(tried))

    def converters(self):  # pragma: no cover - interface
        raise NotImplementedError

    def _office(self, path: Path, tried: list[str]):
        converted, why, work = _soffice(path, self.office_target)
        if converted is None:
            if why:
                tried.append(why)
            return None
        try:
            from .documents_ooxml import DocxReader, PptxReader
            from .document_text import open_zip

            reader = DocxReader() if self.office_target == "docx" else PptxReader()
            with open_zip(converted, self.office_target.upper()) as zf:
                doc, _ = reader._read(zf)
            return doc, f"LibreOffice (converted to .{self.office_target})"
        except Exception as exc:  # noqa: BLE001 - a conversion we cannot read: the next converter may do better
            if isinstance(exc, MemoryError):
                raise
            tried.append(f"LibreOffice output unreadable ({type(exc).__name__})")
            return None
        finally:
            work.cleanup()

    @staticmethod
    def _tool(args_for, name: str):
        def convert(path: Path, tried: list[str]):
            tool = _which(name)
            if tool is None:
                return None
            out, why = _run(args_for(tool, path))
            if out is None or not out.strip():
                tried.append(why or f"{name} printed no text")
                return None
            doc = TextBuilder()
            add_pages(doc, out.decode("utf-8", "replace").replace("\r\n", "\n").split("\f"))
            return doc, name
        return convert


class LegacyWordReader(_LegacyReader):
    version = "1"
    media_type = "application/msword"
    fmt, label, office_target, install = ("doc", "legacy Word .doc", "docx",
                                          "antiword (apt-get install antiword) or LibreOffice")

    extensions = frozenset({".doc", ".dot"})

    def converters(self):
        return (self._tool(lambda tool, path: [tool, "-m", "UTF-8.txt", "-w", "0", str(path)], "antiword"),
                self._tool(lambda tool, path: [tool, "-d", "utf-8", "-w", str(path)], "catdoc"),
                self._office)


class LegacyPowerPointReader(_LegacyReader):
    version = "1"
    media_type = "application/vnd.ms-powerpoint"
    fmt, label, office_target, install = ("ppt", "legacy PowerPoint .ppt", "pptx",
                                          "catppt (apt-get install catdoc) or LibreOffice")

    extensions = frozenset({".ppt", ".pps", ".pot"})

    def converters(self):
        return (self._office, self._tool(lambda tool, path: [tool, "-d", "utf-8", str(path)], "catppt"))


class EncryptedOfficeReader(Reader):
    """An OLE file of no known application that holds an encrypted OOXML package: said so, not 'unsupported'."""

    name = "encrypted_office"
    version = "1"
    media_type = "application/x-ole-storage"

    sniffed = frozenset({"ole"})
    extensions = frozenset()

    def accepts(self, path: Path, head: bytes) -> bool:
        if not head.startswith(OLE_MAGIC):
            return False
        try:
            refuse_encrypted(path, "document")
        except UnreadableFile:
            return True
        return False

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        refuse_encrypted(path, "document")
        raise UnreadableFile("not an encrypted Office document: an OLE compound file of no known application")
        yield  # pragma: no cover - a generator


__all__ = ["EncryptedOfficeReader", "LegacyPowerPointReader", "LegacyWordReader"]
