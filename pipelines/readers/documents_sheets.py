"""Spreadsheets (.xlsx/.xlsm/.xlsb, Excel 97-2003 .xls, OpenDocument .ods) as `text_document` events.

Read with python-calamine (Rust; no Excel needed). Every sheet's cells become tab-separated lines, one
`sheet` position per sheet (name = the sheet name), in workbook order; hidden sheets are read too and
listed in `defects`. A workbook that record_xlsx reads as records (a sheet with a roster, search-log or
usage-report header) is left to it: `accepts` asks record_xlsx's own test, `record_workbook`.
Metadata: docProps/core.xml (.xlsx), meta.xml (.ods), SummaryInformation (.xls).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from .base import FileStats, Reader, UnreadableFile
from .document_text import (OLE_MAGIC, TextBuilder, from_builder, metadata, odf_metadata, ole_metadata, ooxml_metadata,
                            open_zip, refuse_encrypted, unreadable, zip_or_ole)
from .sniff import sniff


def record_workbook(path: Path) -> bool:
    """True when RecordXlsxReader would find a sheet of records in this workbook: the same read (polars'
    calamine engine, header = first row) and the same rule (record_csv.kind_for on the header, column
    names unique once normalised), on the header row only. False when the workbook does not open."""
    import polars as pl

    from .record_csv import kind_for, normalise_column

    try:
        sheets = pl.read_excel(path, sheet_id=0, engine="calamine", infer_schema_length=0, read_options={"n_rows": 1},
                               drop_empty_rows=False, drop_empty_cols=False, raise_if_empty=False)
    except Exception:  # noqa: BLE001 - a workbook polars cannot open is no record dump: this reader says why
        return False
    for frame in sheets.values():
        names = [normalise_column(c) for c in frame.columns]
        if kind_for(frame.columns) is not None and len(set(names)) == len(names):
            return True
    return False


def cell_text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0) \
            else value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return " ".join(str(value).replace("\t", " ").splitlines())


class SpreadsheetReader(Reader):
    name = "spreadsheet"
    version = "1"
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    sniffed = frozenset({"xlsx", "xls", "ods"})
    extensions = frozenset({".xlsx", ".xlsm", ".xlsb", ".xltx", ".xltm", ".xls", ".xlt", ".ods", ".ots"})

    def accepts(self, path: Path, head: bytes) -> bool:
        """Not a workbook of records (those are record_xlsx's; it reads only OOXML workbooks)."""
        if not zip_or_ole(head):
            return False  # text named .xlsx stays 'unsupported file type'
        if not head.startswith(b"PK"):
            return True
        return not record_workbook(path)

    def batches(self, path: Path, stats: FileStats) -> Iterator[pa.Table]:
        import python_calamine as calamine

        refuse_encrypted(path, "workbook")
        with path.open("rb") as fh:
            head = fh.read(4096)
        fmt = {"xlsx": "xlsx", "xls": "xls", "ods": "ods"}.get(sniff(path, head).type)
        if fmt is None:
            fmt = "xls" if head.startswith(OLE_MAGIC) else "xlsx"
        if fmt == "xlsx" and path.suffix.lower() == ".xlsb":
            fmt = "xlsb"
        if head.startswith(b"PK"):
            with open_zip(path, fmt.upper()) as zf:  # refuses zip bombs before calamine inflates a sheet
                meta = odf_metadata(zf) if fmt == "ods" else ooxml_metadata(zf)
        elif head.startswith(OLE_MAGIC):
            meta = ole_metadata(path)
        else:
            meta = metadata()
        doc = TextBuilder()
        try:
            with path.open("rb") as fh:
                book = calamine.CalamineWorkbook.from_filelike(fh)
                self._read(book, doc)
        except UnreadableFile:
            raise
        except calamine.PasswordError as exc:
            raise UnreadableFile(f"password required: the workbook is password-protected ({str(exc)[:200]})") from exc
        except Exception as exc:  # CalamineError, XmlError, ZipError, ValueError …
            raise unreadable(fmt.upper(), exc) from exc
        yield from from_builder(stats, fmt, doc, metadata=meta)

    @staticmethod
    def _read(book, doc: TextBuilder) -> None:
        for n, info in enumerate(book.sheets_metadata, 1):
            if "Hidden" in str(info.visible):
                doc.defects.append(f"sheet {info.name!r} is hidden (read all the same)")
            try:
                sheet = book.get_sheet_by_index(n - 1)
                rows = sheet.iter_rows()
            except Exception as exc:  # noqa: BLE001 - a chart sheet, a broken sheet: the others are still read
                if "ChartSheet" in str(info.typ) or "Chart" in str(info.typ):
                    rows = iter(())
                else:
                    doc.defects.append(f"sheet {info.name!r}: unreadable ({type(exc).__name__}: {str(exc)[:120]})")
                    rows = iter(())
            with doc.position("sheet", n, info.name):
                blank = 0
                for row in rows:
                    line = "\t".join(cell_text(v) for v in row).rstrip("\t")
                    if not line.strip():
                        blank += 1
                        continue
                    if blank:  # blank rows inside the sheet are kept, trailing ones are not
                        doc.add("\n" * blank)
                        blank = 0
                    doc.add(line + "\n")
                    if doc.truncated:
                        return
