"""Format readers: one module per format behind the small interface in `base`.

Adding a format = one new module + one entry in READERS. Order matters only where two readers could
accept the same file (the first that accepts wins).
"""
from __future__ import annotations

from pathlib import Path

from .base import BATCH_SCHEMA, FileStats, Reader, UnreadableFile
from .concordance_dat import ConcordanceDatReader
from .eml import EmlReader
from .mbox import MboxReader
from .opticon_opt import OpticonOptReader
from .outlook_msg import OutlookMsgReader
from .plain_text import PlainTextReader
from .printed_pdf import PrintedEmailPdfReader
from .record_csv import AccountRosterCsvReader, SearchLogCsvReader, UsageReportCsvReader
from .record_jsonl import RecordJsonlReader
from .record_xlsx import RecordXlsxReader

READERS: tuple[Reader, ...] = (EmlReader(), MboxReader(), AccountRosterCsvReader(), SearchLogCsvReader())
READERS += (OutlookMsgReader(), UsageReportCsvReader(), RecordJsonlReader(), RecordXlsxReader())
READERS += (ConcordanceDatReader(), OpticonOptReader(), PrintedEmailPdfReader(), PlainTextReader())
HEAD_BYTES = 4096


def reader_for(path: Path) -> Reader | None:
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    return next((r for r in READERS if r.accepts(path, head)), None)


__all__ = ["BATCH_SCHEMA", "FileStats", "READERS", "Reader", "UnreadableFile", "reader_for"]
