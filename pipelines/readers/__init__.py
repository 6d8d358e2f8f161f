"""Format readers: one module per format behind the small interface in `base`.

Adding a format = one new module + one entry in READERS; the reader declares the content types it takes
(`sniffed = frozenset({"pst"})`, types from `sniff.TYPES`) and the extensions such files have
(`extensions = frozenset({".pst", ".ost"})`).

`reader_for` chooses by content (`sniff.sniff`), never by the name alone:
1. content identified with confidence (a signature, an unambiguous structure): a reader that takes that
   type; among several, one claiming the file's extension first, then READERS order;
2. content only guessed (plain text, text that might be CSV, JSON of one value, unrecognised bytes, an
   OLE file or zip that could not be looked into): a reader claiming the extension decides (a `.csv`
   stays with the CSV readers, a `.txt` of prose with commas stays plain text); when the extension is
   absent or names no known format, a reader that takes the guessed type;
3. readers that declare no `sniffed` (not converted yet) are asked by their own `accepts` alone.
Order in READERS matters only among readers that take the same type and extension.
"""
from __future__ import annotations

from pathlib import Path

from .base import BATCH_SCHEMA, FileStats, Reader, UnreadableFile
from .calendar_ics import CalendarIcsReader
from .concordance_dat import ConcordanceDatReader
from .contact_vcf import ContactVcfReader
from .documents_legacy import EncryptedOfficeReader, LegacyPowerPointReader, LegacyWordReader
from .documents_odf import OdpReader, OdtReader
from .documents_ooxml import DocxReader, PptxReader
from .documents_sheets import SpreadsheetReader
from .documents_text import CsvTextReader, HtmlReader, JsonTextReader, RtfReader
from .eml import EmlReader
from .image import ImageReader
from .emlx import AppleEmlxReader
from .mbox import MboxReader
from .opticon_opt import OpticonOptReader
from .outlook_msg import OutlookMsgReader
from .outlook_pst import OutlookPstReader
from .plain_text import PlainTextReader
from .printed_pdf import PrintedEmailPdfReader
from .record_csv import AccountRosterCsvReader, SearchLogCsvReader, UsageReportCsvReader
from .record_jsonl import RecordJsonlReader
from .record_xlsx import RecordXlsxReader
from .sniff import HEAD_BYTES, KNOWN_EXTENSIONS, Sniffed, sniff

READERS: tuple[Reader, ...] = (EmlReader(), MboxReader(), AccountRosterCsvReader(), SearchLogCsvReader())
# SpreadsheetReader before RecordXlsxReader: it declines workbooks with a known record header, which
# record_xlsx then reads; record_xlsx would refuse every other workbook.
READERS += (OutlookMsgReader(), UsageReportCsvReader(), RecordJsonlReader(), SpreadsheetReader(), RecordXlsxReader())
READERS += (ConcordanceDatReader(), OpticonOptReader(), PrintedEmailPdfReader(), AppleEmlxReader())
READERS += (OutlookPstReader(), CalendarIcsReader(), ContactVcfReader(), ImageReader())
READERS += (DocxReader(), PptxReader(), OdtReader(), OdpReader(), RtfReader(), HtmlReader(), CsvTextReader(), JsonTextReader())
READERS += (LegacyWordReader(), LegacyPowerPointReader(), EncryptedOfficeReader(), PlainTextReader())


def read_head(path: Path) -> bytes:
    """The first bytes of a file: all that sniffing, choosing a reader and archive_kind look at."""
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def identify(path: Path, head: bytes | None = None) -> tuple[Reader | None, Sniffed]:
    """What the file's bytes are, and the reader that takes it (None: no reader does). Pass `head` when
    it was read already."""
    head = read_head(path) if head is None else head
    found = sniff(path, head)
    return choose(path, head, found), found


def reader_for(path: Path) -> Reader | None:
    return identify(path)[0]


def choose(path: Path, head: bytes, found: Sniffed) -> Reader | None:
    """The reader for a file whose content sniffed as `found` (see the module docstring)."""
    ext = path.suffix.lower()
    declared = [r for r in READERS if r.sniffed]
    if not found.weak:
        takers = [r for r in declared if found.type in r.sniffed]
        takers.sort(key=lambda r: ext not in r.extensions)  # stable: READERS order within each group
    else:
        takers = [r for r in declared if ext and ext in r.extensions]
        takers.sort(key=lambda r: found.type not in r.sniffed)
    reader = next((r for r in takers if r.accepts(path, head)), None)
    if reader is None:
        legacy = (r for r in READERS if not r.sniffed and type(r).accepts is not Reader.accepts)
        reader = next((r for r in legacy if r.accepts(path, head)), None)
    if reader is None and found.weak and (found.type == "text" or ext not in KNOWN_EXTENSIONS | {
            e for r in declared for e in r.extensions}):
        # Text is read as text whatever its name says (a .docx that is a plain letter): the extension
        # is a hint, and the mismatch is recorded as a defect, never a reason to quarantine.
        reader = next((r for r in declared if found.type in r.sniffed and r.accepts(path, head)), None)
    return reader


def file_type_facts(found: Sniffed | None, name: str) -> dict:
    """`detected_type`, `extension` and `defects` (an extension that names another format than the
    content, e.g. 'extension .msg but content rfc822') of a file whose content sniffed as `found` (None:
    never opened, e.g. a link, or a member refused before extraction)."""
    ext = Path(name).suffix.lower()
    defect = found.mismatch(ext) if found is not None else None
    return {"detected_type": found.type if found else None, "extension": ext or None, "defects": [defect] if defect else []}


EMPTY = Sniffed("empty", "strong", "no bytes")


__all__ = ["BATCH_SCHEMA", "EMPTY", "FileStats", "HEAD_BYTES", "READERS", "Reader", "Sniffed", "UnreadableFile", "choose",
           "file_type_facts", "identify", "read_head", "reader_for", "sniff"]
