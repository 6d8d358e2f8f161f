"""Readers chosen by content, the extension only a hint (issue #15): sniff(), reader_for(), and the ingest
recording `detected_type`, `extension` and a mismatch defect."""
from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import os
import time
import zipfile

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from pipelines.lib.ingest import ingest_release
from pipelines.lib.manifest import load_manifest
from pipelines.readers import HEAD_BYTES, READERS, Reader, reader_for
from pipelines.readers.sniff import TYPES, sniff

from .conftest import REPO, eml, write_release

_spec = importlib.util.spec_from_file_location("gen_office_release", REPO / "raw/_generator/gen_office_release.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

SAMPLE_PDF = (REPO / "raw/nypd-clearview-2021-12-loadfile/VOL001/PDF/printed_emails.pdf").read_bytes()
RFC822 = (b"Received: from mx.nypd.example by mail.nypd.example; Mon, 01 Oct 2018 10:00:01 -0400\r\n"
          + eml("rfc@nypd.example"))
MBOX = b"From ann@nypd.example Mon Oct  1 10:00:00 2018\n" + eml("m1@x").replace(b"\r\n", b"\n") + b"\n"
ROSTER = b"account_ref,holder_email,created_at\ncv-1,a@nypd.example,2019-01-01\ncv-2,b@nypd.example,2019-01-02\n"


def outlook_msg() -> bytes:
    return gen.msg_bytes(dict(subject="Hello", body="SYNTHETIC SAMPLE\r\nbody", from_name="Ann Officer",
                              from_email="ann@nypd.example", recipients=[("Vic Vendor", "vic@clearview.example", 1)],
                              date=dt.datetime(2020, 2, 3, 14, 5), message_id="msg1@nypd.example"))


def zip_of(members: dict[str, bytes], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name) if stored_first else name, data)
    return buf.getvalue()


DOCX = zip_of({"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>", "word/document.xml": b"<w:document/>"})
ODT = zip_of({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office:document-content/>"},
             stored_first=True)
RANDOM = bytes((i * 7919 + 13) % 256 for i in range(3000)) + os.urandom(1000)

CASES = {
    "rfc822": RFC822,
    "mbox": MBOX,
    "outlook_msg": None,  # built per test (olefile)
    "pdf": SAMPLE_PDF,
    "zip": zip_of({"a.txt": b"hello", "b/c.csv": b"x,y\n"}),
    "docx": DOCX,
    "xlsx": gen.xlsx_bytes([("Usage", [["account_ref", "searches"], ["cv-1", 3]])]),
    "odt": ODT,
    "7z": b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 40,
    "gzip": b"\x1f\x8b\x08\x00" + b"\x00" * 20,
    "bzip2": b"BZh91AY&SY" + b"\x01" * 20,
    "xz": b"\xfd7zXZ\x00\x00\x04" + b"\x00" * 20,
    "pst": b"!BDN\x00\x00\x00\x00SM\x17\x00" + b"\x00" * 40,
    "jsonl": b'{"account_ref": "cv-1", "searched_at": "2019-01-01"}\n{"account_ref": "cv-2", "searched_at": "2019-01-02"}\n',
    "json": b'{\n  "account_ref": "cv-1",\n  "searched_at": "2019-01-01"\n}\n',
    "csv": ROSTER,
    "concordance_dat": "þBEGBATESþ\x14þENDBATESþ\x14þFROMþ\r\nþNYPD-1þ\x14þNYPD-2þ\x14þa@xþ\r\n".encode("cp1252"),
    "opticon_opt": b"NYPD-001,VOL001,VOL001\\IMAGES\\001\\NYPD-001.tif,Y,,,2\r\nNYPD-002,VOL001,VOL001\\IMAGES\\001\\NYPD-002.tif,,,,\r\n",
    "html": b"  <!DOCTYPE html>\n<html><body>hi</body></html>\n",
    "rtf": b"{\\rtf1\\ansi hello}",
    "icalendar": b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Demo\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "vcard": b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Officer\r\nEND:VCARD\r\n",
    "tiff": b"II*\x00\x08\x00\x00\x00" + b"\x00" * 20,
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20,
    "png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,
    "gif": b"GIF89a" + b"\x00" * 20,
    "text": b"SYNTHETIC SAMPLE - a plain note.\n\nNothing structured here, just prose.\n",
    "binary": RANDOM,
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_sniff_detects_the_type_from_the_bytes(tmp_path, kind):
    data = CASES[kind] if CASES[kind] is not None else outlook_msg()
    path = tmp_path / "file_without_extension"
    path.write_bytes(data)
    found = sniff(path, data[:HEAD_BYTES])
    assert found.type == kind, found
    assert found.type in TYPES and found.evidence


def test_sniff_text_variants():
    utf16 = "\ufeffSYNTHETIC SAMPLE note\r\nsecond line\r\n".encode("utf-16-le")
    found = sniff(None, b"\xff\xfe" + utf16[2:])
    assert found.type == "text" and found.encoding == "utf-16-le"
    dat16 = "\ufeffþBEGBATESþ\x14þENDBATESþ\r\n".encode("utf-16-le")
    assert sniff(None, dat16).type == "concordance_dat"
    assert sniff(None, b"^BEGBATES^|^ENDBATES^|^FROM^\r\n^A^|^B^|^C^\r\n").type == "concordance_dat"
    assert sniff(None, b"\xef\xbb\xbf  \r\n" + RFC822).type == "rfc822"  # a BOM and blank lines first
    printed = b"From: Ann Officer\r\nSent: Monday, October 1, 2018\r\nTo: Vic\r\nSubject: Hi\r\n\r\nbody\r\n"
    assert (sniff(None, printed).type, sniff(None, printed).confidence) == ("rfc822", "weak")  # a printed email
    assert sniff(None, b"12 \n" + eml("x@y")).type == "emlx"
    assert sniff(None, b"").type == "empty"
    assert sniff(None, b"%!junk\r\n%PDF-1.4\r\n\x00\x01binary").type == "pdf"


def test_ole_without_a_readable_directory_is_a_weak_guess(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    found = sniff(path, path.read_bytes())
    assert (found.type, found.confidence) == ("ole", "weak")


def chosen(tmp_path, name: str, data: bytes) -> str | None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    reader = reader_for(path)
    return reader.name if reader else None


@pytest.mark.parametrize("name, data, reader", [
    ("a.msg", RFC822, "eml"),                           # an RFC 822 message named .msg
    ("b.eml", None, "outlook_msg"),                     # an Outlook .msg named .eml
    ("scan", SAMPLE_PDF, "printed_pdf"),                # a PDF without extension
    ("box.txt", MBOX, "mbox"),                          # an mbox named .txt
    ("box", MBOX, "mbox"),
    ("letter.docx", DOCX, "docx"),                      # a real docx
    ("noise", RANDOM, None),                            # random bytes
    ("noise.bin", RANDOM, None),
    ("noise.pdf", RANDOM, "printed_pdf"),               # unrecognised bytes: the extension decides (as before)
    ("cover_letter.docx", b"Dear requester,\nplease find enclosed.\n", "plain_text"),  # text named .docx: read, mismatch noted
    ("note.txt", b"one, two\nthree, four\n", "plain_text"),  # prose that looks like CSV stays plain text
    ("printed.txt", b"From: Ann\r\nTo: Vic\r\nSubject: Hi\r\n\r\nbody\r\n", "plain_text"),  # printed email text
    ("note", b"just some words\n", "plain_text"),       # text without extension
    ("note.001", b"just some words\n", "plain_text"),   # text under an extension no format claims
    ("roster.csv", ROSTER, "account_roster_csv"),
    ("roster", ROSTER, "account_roster_csv"),           # the CSV readers still choose by header columns
    ("log.csv", b"account_ref,searched_at\ncv-1,2019-01-01\n", "search_log_csv"),
    ("other.csv", b"a,b\n1,2\n", "csv_text"),            # an unknown header: a text document
    ("one.jsonl", b'{"account_ref": "' + b"x" * 5000 + b'", "searched_at": "2019"}\n', "record_jsonl"),  # long first line
    ("pretty.json", CASES["json"], "json_text"),
    ("rows.json", CASES["jsonl"], "record_jsonl"),
    ("load.txt", CASES["concordance_dat"], "concordance_dat"),
    ("cal.ics", CASES["icalendar"], "calendar_ics"),
    ("data.xml", b"<?xml version=\"1.0\"?><root/>\n", None),  # XML: no reader yet
    ("book.xlsx", CASES["xlsx"], "spreadsheet"),         # no record header: a text document
    ("book.zip.xlsx", b"PK\x03\x04 broken", "spreadsheet"),  # an unreadable zip: the extension decides (reader says why)
])
def test_reader_is_chosen_by_content(tmp_path, name, data, reader):
    assert chosen(tmp_path, name, data if data is not None else outlook_msg()) == reader


def test_mismatch_defect_text():
    assert sniff(None, RFC822).mismatch(".msg") == "extension .msg but content rfc822"
    assert sniff(None, RFC822).mismatch(".eml") is None
    assert sniff(None, RFC822).mismatch("") is None and sniff(None, RFC822).mismatch(".001") is None
    assert sniff(None, ROSTER).mismatch(".txt") is None  # a CSV named .txt is no defect
    assert sniff(None, b"plain words\n").mismatch(".docx") == "extension .docx but content text"


def test_every_reader_declares_known_types():
    for reader in READERS:
        assert reader.sniffed, reader.name
        assert set(reader.sniffed) <= set(TYPES), reader.name
        assert all(e.startswith(".") and e == e.lower() for e in reader.extensions), reader.name


def test_a_reader_that_declares_no_type_is_asked_by_its_accepts(tmp_path, monkeypatch):
    import pipelines.readers as readers

    class Legacy(Reader):
        name, version, media_type = "legacy", "1", "x/legacy"

        def accepts(self, path, head):
            return path.suffix == ".leg"

    monkeypatch.setattr(readers, "READERS", (*readers.READERS, Legacy()))
    assert chosen(tmp_path, "a.leg", b"some text\n") == "legacy"
    assert chosen(tmp_path, "b.leg", SAMPLE_PDF) == "printed_pdf"  # content first


def test_sniff_is_fast_on_text(tmp_path):
    head = (b"SYNTHETIC SAMPLE, a line of prose; with, commas\n" * 100)[:HEAD_BYTES]
    start = time.perf_counter()
    for _ in range(500):
        sniff(None, head)
    assert (time.perf_counter() - start) / 500 < 0.005


# --- the ingest records what it saw -----------------------------------------------------------------


def payloads(db) -> dict[str, tuple[str, dict]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select source_path, event_type, payload from raw.events "
                           "where event_type in ('file_observed', 'file_quarantined')").fetchall()
    return {path: (kind, json.loads(payload)) for path, kind, payload in rows}


def test_ingest_records_detected_type_extension_and_the_mismatch(raw, tmp_path):
    files = {
        "emails/a.msg": RFC822,
        "emails/b.eml": outlook_msg(),
        "emails/c.eml": eml("c@nypd.example"),
        "scans/scan": SAMPLE_PDF,
        "data.xml": b"<?xml version=\"1.0\"?><root/>\n",
        "noise": RANDOM,
        "empty.eml": b"",
        "bundle.zip": zip_of({"inner.msg": RFC822, "notes.txt": b"plain words\n"}),
    }
    folder = write_release(raw, "rel", files=files)
    db = tmp_path / "b.duckdb"
    with duckdb.connect(str(db)) as con:
        result = ingest_release(con, load_manifest(folder))
    by_path = {f.path: f for f in result.files}
    assert by_path["emails/a.msg"].reader == "eml" and not by_path["emails/a.msg"].quarantine_reason
    assert by_path["emails/b.eml"].reader == "outlook_msg" and not by_path["emails/b.eml"].quarantine_reason
    assert by_path["scans/scan"].reader == "printed_pdf"
    assert by_path["data.xml"].quarantine_reason == "unsupported file type: detected XML (.xml); no reader for it yet"
    assert by_path["noise"].quarantine_reason == (
        "unsupported file type: detected unrecognised binary data (no extension); no reader for it yet")

    seen = payloads(db)
    kind, p = seen["emails/a.msg"]
    assert kind == "file_observed"
    assert (p["detected_type"], p["extension"], p["defects"]) == ("rfc822", ".msg", ["extension .msg but content rfc822"])
    _, p = seen["emails/b.eml"]
    assert (p["detected_type"], p["extension"], p["defects"]) == ("outlook_msg", ".eml", ["extension .eml but content outlook_msg"])
    _, p = seen["emails/c.eml"]
    assert (p["detected_type"], p["extension"], p["defects"]) == ("rfc822", ".eml", [])
    _, p = seen["scans/scan"]
    assert (p["detected_type"], p["extension"], p["defects"]) == ("pdf", None, [])
    kind, p = seen["data.xml"]
    assert kind == "file_quarantined" and (p["detected_type"], p["extension"], p["defects"]) == ("xml", ".xml", [])
    _, p = seen["empty.eml"]
    assert (p["detected_type"], p["extension"], p["reason"]) == ("empty", ".eml", "empty file")
    _, p = seen["bundle.zip"]
    assert (p["detected_type"], p["extension"], p["defects"]) == ("zip", ".zip", [])
    kind, p = seen["bundle.zip!/inner.msg"]  # a member: sniffed inside the zip's extraction folder
    assert kind == "file_observed" and p["reader"] == "eml"
    assert (p["detected_type"], p["defects"]) == ("rfc822", ["extension .msg but content rfc822"])
    _, p = seen["bundle.zip!/notes.txt"]
    assert (p["detected_type"], p["extension"], p["reader"]) == ("text", ".txt", "plain_text")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from([b"", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PK\x03\x04", b"From x\n", b"\xff\xfe", b"[[[[", b"{",
                               b"\xef\xbb\xbf", "þA\x14".encode("cp1252"), b"BEGIN:VCARD"]),
       data=st.binary(max_size=4200))
def test_sniff_never_raises_and_reader_for_never_fails(tmp_path, prefix, data):
    path = tmp_path / "f"
    path.write_bytes(prefix + data)
    found = sniff(path, (prefix + data)[:HEAD_BYTES])
    assert found.type in TYPES
    reader_for(path)
