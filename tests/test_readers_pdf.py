"""Printed-email PDF reader on PDFs drawn with fpdf2 in the test."""
from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.readers import BATCH_SCHEMA, FileStats, UnreadableFile, ocr, reader_for
from pipelines.readers.printed_pdf import PrintedEmailPdfReader, clean_page


def make_pdf(path: Path, pages: list[list[str]], bates: list[str] | None = None, stamp: bool = True,
             page_of: bool = False, **encryption) -> Path:
    pdf = FPDF(format="letter")
    pdf.set_creation_date(dt.datetime(2021, 12, 6, tzinfo=dt.timezone.utc))
    pdf.set_auto_page_break(False)
    if encryption:
        pdf.set_encryption(**encryption)
    for n, lines in enumerate(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=10)
        if stamp:
            pdf.set_xy(15, 10)
            pdf.cell(0, 5, "SYNTHETIC SAMPLE - invented correspondence")
        y = 22
        for line in lines:
            pdf.set_xy(20, y)
            pdf.cell(0, 5, line)
            y += 5.5
        if bates:
            pdf.set_xy(120, 265)
            pdf.cell(0, 5, bates[n] + (f"   Page {n + 1} of {len(pages)}" if page_of else ""))
    path.write_bytes(bytes(pdf.output()))
    return path


def read(path: Path):
    reader = reader_for(path)
    assert reader is not None and reader.name == "printed_pdf"
    stats = FileStats()
    out = []
    for batch in reader.batches(path, stats):
        assert batch.schema == BATCH_SCHEMA
        for row in batch.to_pylist():
            row["payload"] = json.loads(row["payload"])
            out.append(row)
    return stats, out


TOP = ["From: Solberg, Renata", "Sent: Tuesday, February 5, 2019 3:12 PM",
       "To: Varga, Hollis; Kaczmar, Owen", "Cc: [REDACTED 87(2)(b)]", "Subject: Search results", "",
       "Hollis,", "Results look useful.", "Renata"]
REPLY = ["From: Varga, Hollis", "Sent : Wednesday, February 6, 2019 9:48 AM", "To: Solberg, Renata",
         "Subiect: RE: Search results", "Attachments: tips.pdf; more tips.pdf", "", "Renata,", "Great to hear.", "",
         "-----Original Message-----", "From: Solberg, Renata [mailto:renata.solberg@nypd.example]",
         "Sent: Tuesday, February 5, 2019 3:12 PM", "To: Varga, Hollis", "Subject: Search results", "",
         "Hollis,"]
REPLY_CONT = ["Results look useful.", "Renata", "", "________________________________",
              "From: Kolowski, Brett <brett.kolowski@ice.example>", "Sent: Monday, February 4, 2019 8:00 AM",
              "To: Solberg, Renata", "Subject: Photo", "", "Is the photo ok?"]


def test_blocks_and_chain_split_into_messages_with_pages_and_bates(tmp_path):
    path = make_pdf(tmp_path / "printed.pdf", [TOP, REPLY, REPLY_CONT],
                    bates=["NYPD-CV-001101", "NYPD 001102", "NYPD-CV-001103"], page_of=True)
    stats, out = read(path)
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (4, 4, 0)
    assert stats.extra["pages"] == 3 and stats.extra["pages_uncovered"] == 0 and stats.extra["pages_with_bates"] == 3
    a, b, c, d = (r["payload"] for r in out)
    assert [r["event_type"] for r in out] == ["email_message"] * 4
    assert [r["source_bates"] for r in out] == ["NYPD-CV-001101", "NYPD 001102", "NYPD 001102", "NYPD-CV-001103"]
    assert all(r["source_offset"] is None for r in out)
    # top-level print on page 1
    assert a["pages"] == [1, 1] and a["bates_begin"] == a["bates_end"] == "NYPD-CV-001101"
    assert a["depth"] == 0 and a["quoted_in_index"] is None and a["message_id"] is None
    assert a["from"] == [{"name": "Solberg, Renata", "email": None, "redacted": False}]
    assert [p["name"] for p in a["to"]] == ["Varga, Hollis", "Kaczmar, Owen"]
    assert a["cc"] == [{"name": "[REDACTED 87(2)(b)]", "email": None, "redacted": True}]
    assert a["date_raw"] == "Tuesday, February 5, 2019 3:12 PM"
    assert out[0]["occurred_at"].isoformat() == "2019-02-05T15:12:00+00:00"
    assert "date: no time zone, assumed UTC" in a["defects"]
    assert a["body_text"] == "Hollis,\nResults look useful.\nRenata"
    for stamp in ("SYNTHETIC", "NYPD-CV", "Page 1 of 3"):
        assert stamp not in a["body_text"]
    # a new print at the top of page 2, OCR-noisy labels
    assert b["pages"] == [2, 2] and b["depth"] == 0 and b["subject"] == "RE: Search results"
    assert b["date_raw"] == "Wednesday, February 6, 2019 9:48 AM"
    assert [x["filename"] for x in b["attachments"]] == ["tips.pdf", "more tips.pdf"]
    assert b["body_text"] == "Renata,\nGreat to hear."
    # quoted after -----Original Message-----, running onto page 3
    assert c["depth"] == 1 and c["quoted_in_index"] == b["index"] == 1
    assert c["pages"] == [2, 3] and (c["bates_begin"], c["bates_end"]) == ("NYPD 001102", "NYPD-CV-001103")
    assert c["from"] == [{"name": "Solberg, Renata", "email": "renata.solberg@nypd.example", "redacted": False}]
    assert c["body_text"] == "Hollis,\nResults look useful.\nRenata"
    # quoted deeper after an underscore line
    assert d["depth"] == 2 and d["quoted_in_index"] == 1 and d["pages"] == [3, 3]
    assert d["from"][0]["email"] == "brett.kolowski@ice.example" and d["body_text"] == "Is the photo ok?"


def test_wrapped_recipients_quoted_from_without_separator_and_uncovered_pages(tmp_path):
    cover = ["Records responsive to FOIL request", "Produced by the Legal Bureau"]
    msg = ["From: Vayle, Hector", "Sent: Friday, August 27, 2010 2:52 PM",
           "To: Varga, Hollis; Kaczmar, Owen;", "Solberg, Renata", "Subject: Test", "", "Body line.", "",
           "From: Varga, Hollis", "Sent: Thursday, August 26, 2010 1:00 PM", "To: Vayle, Hector",
           "Subject: Earlier", "", "Earlier body."]
    path = make_pdf(tmp_path / "p.pdf", [cover, msg], bates=["NYPD 000001", "NYPD 000002"], stamp=False)
    stats, out = read(path)
    assert stats.extra["pages_uncovered"] == 1 and stats.expected_items == stats.extracted_items == 3
    assert [r["event_type"] for r in out] == ["email_message", "email_message", "text_document"]
    first, quoted, cover_doc = (r["payload"] for r in out)
    assert cover_doc["positions"] == [{"kind": "page", "n": 1, "name": None, "start": 0, "end": cover_doc["chars"]}]
    assert "Records responsive to FOIL request\nProduced by the Legal Bureau" in cover_doc["text"]
    assert out[2]["source_bates"] == "NYPD 000001"
    assert [p["name"] for p in first["to"]] == ["Varga, Hollis", "Kaczmar, Owen", "Solberg, Renata"]
    assert out[0]["occurred_at"].isoformat() == "2010-08-27T14:52:00+00:00"
    assert quoted["depth"] == 1 and quoted["quoted_in_index"] == 0 and quoted["body_text"] == "Earlier body."


def test_a_lone_from_line_in_a_body_is_body_text(tmp_path):
    path = make_pdf(tmp_path / "p.pdf", [["From: Vayle, Hector", "Sent: Friday, August 27, 2010 2:52 PM",
                                           "Subject: x", "", "From: the desk of the Lieutenant", "Thanks."]])
    stats, out = read(path)
    assert stats.expected_items == 1
    assert out[0]["payload"]["body_text"] == "From: the desk of the Lieutenant\nThanks."


REPORT_P1 = ["Annual Report on Facial Recognition Use", "Prepared by the Office of Technology Review",
             "Section 1. Scope of the review."]
REPORT_P2 = ["Section 2. Findings.", "The unit ran 1,203 searches in 2019."]
LETTER = ["Dear Ms. Solberg,", "Please find enclosed the records you requested.", "Sincerely,", "Records Access Officer"]


def test_a_pdf_that_is_not_a_printed_email_is_one_text_document_with_page_positions(tmp_path):
    path = make_pdf(tmp_path / "report.pdf", [REPORT_P1, REPORT_P2], stamp=False)
    stats, out = read(path)
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (1, 1, 0)
    assert stats.extra["pages"] == 2 and stats.extra["pages_uncovered"] == 2
    assert [r["event_type"] for r in out] == ["text_document"]
    doc = out[0]["payload"]
    assert doc["format"] == "pdf" and doc["encoding"] is None and doc["defects"] == []
    assert doc["chars"] == len(doc["text"])
    assert [(p["kind"], p["n"], p["name"]) for p in doc["positions"]] == [("page", 1, None), ("page", 2, None)]
    page1, page2 = (doc["text"][p["start"]:p["end"]] for p in doc["positions"])
    assert page1.startswith("Annual Report on Facial Recognition Use") and "Section 1. Scope" in page1
    assert page2 == "Section 2. Findings.\nThe unit ran 1,203 searches in 2019."
    assert doc["metadata"]["created"] == "2021-12-06T00:00:00+00:00"
    assert set(doc["metadata"]) >= {"title", "author", "created"}


def test_a_letter_page_and_a_printed_email_give_the_email_and_a_text_document_of_the_letter_page(tmp_path):
    path = make_pdf(tmp_path / "mixed.pdf", [LETTER, TOP], bates=["NYPD 000010", "NYPD 000011"])
    stats, out = read(path)
    assert [r["event_type"] for r in out] == ["email_message", "text_document"]
    assert stats.expected_items == stats.extracted_items == 2 and stats.extra["pages_uncovered"] == 1
    email, doc = out[0]["payload"], out[1]["payload"]
    assert email["pages"] == [2, 2] and email["subject"] == "Search results"
    assert email["body_text"] == "Hollis,\nResults look useful.\nRenata"
    assert [(p["kind"], p["n"]) for p in doc["positions"]] == [("page", 1)]
    assert "Dear Ms. Solberg," in doc["text"] and "Records Access Officer" in doc["text"]
    assert "Search results" not in doc["text"] and "Results look useful" not in doc["text"]
    assert out[1]["source_bates"] == "NYPD 000010"


def test_a_page_without_a_header_after_an_email_continues_its_body(tmp_path):
    # Outlook prints a long message over several pages; a following page with no header block cannot be
    # told apart from a continuation, so it stays in the email body (no text_document is emitted).
    path = make_pdf(tmp_path / "cont.pdf", [TOP, LETTER], bates=["NYPD 000010", "NYPD 000011"])
    stats, out = read(path)
    assert [r["event_type"] for r in out] == ["email_message"] and stats.extra["pages_uncovered"] == 0
    assert out[0]["payload"]["pages"] == [1, 2] and "Dear Ms. Solberg," in out[0]["payload"]["body_text"]


def test_real_world_report_pdf_text_is_read():
    path = Path(__file__).parent / "fixtures" / "real_world" / "files" / "tika_testPDF.pdf"
    if not path.exists():
        pytest.skip("real-world fixture not present")
    stats, out = read(path)
    assert [r["event_type"] for r in out] == ["text_document"]
    doc = out[0]["payload"]
    assert ("Apache Tika is a toolkit for detecting and extracting metadata and structured text content"
            in doc["text"])
    assert doc["positions"][0]["kind"] == "page" and doc["positions"][0]["n"] == 1
    assert doc["metadata"]["title"] == "Apache Tika - Apache Tika"


def test_pdf_without_text_layer_is_ocred_or_waits_for_an_engine(tmp_path, monkeypatch):
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.rect(20, 20, 100, 60)
    path = tmp_path / "scan.pdf"
    path.write_bytes(bytes(pdf.output()))
    if ocr.engine() is not None:
        stats, rows = read(path)
        pages = [r for r in rows if r["event_type"] == "page_ocr"]
        assert [r["payload"]["page"] for r in pages] == [1, 2]
        assert all(r["payload"]["engine"] == "tesseract" and r["payload"]["words"] == 0 for r in pages)
        assert stats.extra["pages_ocr"] == 2 and "pages_awaiting_ocr" not in stats.extra
    # Without an engine the pages are quarantined with a reason that says how to install one, and the file
    # is marked to be read again once one exists.
    monkeypatch.setenv("FOIL_TESSERACT", str(tmp_path / "no-such-tesseract"))
    stats, rows = read(path)
    waiting = [r for r in rows if r["event_type"] == "item_quarantined"]
    assert [r["payload"]["page"] for r in waiting] == [1, 2]
    assert all("apt-get install tesseract-ocr" in r["payload"]["reason"] for r in waiting)
    assert stats.extra["pages_awaiting_ocr"] == 2


def test_corrupt_and_encrypted_pdfs_are_unreadable(tmp_path):
    good = make_pdf(tmp_path / "good.pdf", [TOP]).read_bytes()
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good[: len(good) // 3])
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.4\n this is not a pdf at all")
    for path in (truncated, garbage):
        with pytest.raises(UnreadableFile):
            read(path)
    locked = make_pdf(tmp_path / "locked.pdf", [TOP], owner_password="owner", user_password="secret")
    with pytest.raises(UnreadableFile, match="encrypted PDF"):
        read(locked)


def test_page_header_and_footer_cleaning():
    lines, bates = clean_page("SYNTHETIC SAMPLE\nFrom: A\nbody\nPage 2 of 9\nNYPD 000123\n")
    assert bates == "NYPD 000123" and lines == ["From: A", "body", ""]
    lines, bates = clean_page("From: A\nbody mentions NYPD 2019 budget\nlast")
    assert bates is None and "body mentions NYPD 2019 budget" in lines


@settings(max_examples=100, deadline=None)
@given(prefix=st.sampled_from([b"", b"%PDF-1.4\n", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"]),
       data=st.binary(max_size=600))
def test_pdf_reader_on_random_bytes_yields_batches_or_unreadable(prefix, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.pdf"
        path.write_bytes(prefix + data)
        stats = FileStats()
        try:
            for batch in PrintedEmailPdfReader().batches(path, stats):
                assert batch.schema == BATCH_SCHEMA
        except UnreadableFile:
            return
        assert stats.expected_items == stats.extracted_items + stats.quarantined_items


@settings(max_examples=25, deadline=None)
@given(junk=st.binary(max_size=200), cut=st.floats(0.1, 0.99))
def test_damaged_real_pdfs_yield_batches_or_unreadable(junk, cut):
    with tempfile.TemporaryDirectory() as tmp:
        good = make_pdf(Path(tmp) / "g.pdf", [TOP, REPLY]).read_bytes()
        i = int(len(good) * cut)
        path = Path(tmp) / "bad.pdf"
        path.write_bytes(good[:i] + junk + good[i + len(junk):])
        try:
            list(PrintedEmailPdfReader().batches(path, FileStats()))
        except UnreadableFile:
            pass
