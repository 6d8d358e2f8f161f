"""Readers on small fixtures, including broken ones: what each emits and what it refuses."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.readers import FileStats, UnreadableFile, reader_for
from pipelines.readers.email_message import message_observation
from pipelines.readers.mbox import split_offsets

from .conftest import eml


def rows(path: Path):
    reader = reader_for(path)
    assert reader is not None, f"no reader for {path.name}"
    stats = FileStats()
    out = []
    for batch in reader.batches(path, stats):
        for row in batch.to_pylist():
            row["payload"] = json.loads(row["payload"])
            out.append(row)
    return reader, stats, out


def test_eml_headers_addresses_redactions_and_utc_date(tmp_path):
    path = tmp_path / "a.eml"
    path.write_bytes(eml("m1@nypd.example", to="[REDACTED 87(2)(b)], Vic Vendor <VIC@clearview.example>"))
    reader, stats, out = rows(path)
    assert reader.name == "eml" and (stats.expected_items, stats.extracted_items) == (1, 1)
    (row,) = out
    p = row["payload"]
    assert row["event_type"] == "email_message"
    assert row["occurred_at"].isoformat() == "2018-10-01T14:00:00+00:00"
    assert p["message_id"] == "m1@nypd.example"
    assert p["from"] == [{"name": "Ann Officer", "email": "ann@nypd.example", "redacted": False}]
    assert p["to"][0] == {"name": "[REDACTED 87(2)(b)]", "email": None, "redacted": True}
    assert p["to"][1]["email"] == "vic@clearview.example"
    assert p["defects"] == []


def test_eml_encoded_headers_html_body_and_attachment(tmp_path):
    msg = (
        b"From: =?utf-8?q?Jos=C3=A9_Ruiz?= <jose@nypd.example>\r\nTo: a@clearview.example\r\n"
        b"Subject: =?utf-8?b?Q2Fmw6k=?=\r\nDate: Tue, 02 Oct 2018 09:00:00 +0000\r\nMessage-ID: <m2@x>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello&nbsp;<b>world</b></p>\r\n"
        b"--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"memo.pdf\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n"
    )
    path = tmp_path / "b.eml"
    path.write_bytes(msg)
    _, _, (row,) = rows(path)
    p = row["payload"]
    assert p["from"][0]["name"] == "José Ruiz" and p["subject"] == "Café"
    assert "Hello world" in p["body_text"]
    (att,) = p["attachments"]
    assert att["filename"] == "memo.pdf" and att["media_type"] == "application/pdf" and att["size_bytes"] == 9


@pytest.mark.parametrize(
    "date, defect",
    [("", "date: missing"), ("not a date", "date: unparseable"), ("Mon, 01 Oct 2018 10:00:00", "no time zone"),
     ("Mon, 01 Oct 2199 10:00:00 +0000", "implausible")],
)
def test_bad_dates_are_kept_as_defects(date, defect):
    data = eml("m3@x", date=date) if date else b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n"
    obs = message_observation(data, index=0)
    assert any(defect in d for d in obs.payload["defects"]), obs.payload["defects"]


def test_unknown_charset_is_a_defect_not_a_crash():
    data = b"From: a@b.example\r\nContent-Type: text/plain; charset=x-klingon\r\nDate: Mon, 01 Oct 2018 10:00:00 +0000\r\n\r\ncaf\xe9\r\n"
    obs = message_observation(data, index=0)
    assert "café" in obs.payload["body_text"]
    assert any("unknown charset" in d for d in obs.payload["defects"])


def test_mbox_offsets_mboxrd_unescaping_and_empty_items(tmp_path):
    m1 = b"From a@x Mon Oct  1 10:00:00 2018\n" + eml("a@x").replace(b"\r\n", b"\n").replace(b"Hello there.", b">From the desk\n>>From quoted") + b"\n"
    m2 = b"From b@x Mon Oct  1 11:00:00 2018\n" + eml("b@x", subject="Second").replace(b"\r\n", b"\n") + b"\n"
    empty = b"From c@x Mon Oct  1 12:00:00 2018\n\n"
    path = tmp_path / "box.mbox"
    path.write_bytes(m1 + m2 + empty)
    assert split_offsets(path.read_bytes()) == [0, len(m1), len(m1) + len(m2)]
    reader, stats, out = rows(path)
    assert reader.name == "mbox"
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (3, 2, 1)
    assert [r["event_type"] for r in out] == ["email_message", "email_message", "item_quarantined"]
    assert [r["source_offset"] for r in out] == [0, len(m1), len(m1) + len(m2)]
    body = out[0]["payload"]["body_text"]
    assert "\nFrom the desk" in body and "\n>From quoted" in body


def test_truncated_mbox_keeps_the_partial_message(tmp_path):
    path = tmp_path / "cut.mbox"
    path.write_bytes(b"From a@x Mon Oct  1 10:00:00 2018\n" + eml("a@x")[:60])
    _, stats, out = rows(path)
    assert stats.extracted_items == 1 and out[0]["event_type"] == "email_message"


def test_file_named_mbox_that_is_not_one_is_refused(tmp_path):
    path = tmp_path / "fake.mbox"
    path.write_bytes(b"PK\x03\x04 definitely a zip")
    reader = reader_for(path)
    with pytest.raises(UnreadableFile, match="not an mbox"):
        list(reader.batches(path, FileStats()))


def test_roster_and_search_log_csv(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("account_ref,vendor,holder_email,created_at,extra\ncv-1,Clearview AI,a@nypd.example,2018-12-03T10:00:00-05:00,x\n")
    log = tmp_path / "log.csv"
    log.write_text("search_ref,account_ref,searched_at,client\ns1,cv-1,2019-01-02T03:04:05Z,ios\ns2,cv-1,2019-01-02 10:00:00,web\ns3,cv-1,garbage,web\n")
    reader, stats, out = rows(roster)
    assert reader.name == "account_roster_csv" and stats.extracted_items == 1
    assert out[0]["payload"]["extra"] == "x" and out[0]["source_row"] == 1
    assert out[0]["occurred_at"].isoformat() == "2018-12-03T15:00:00+00:00"
    reader, stats, out = rows(log)
    assert reader.name == "search_log_csv" and stats.expected_items == 3
    assert [r["source_row"] for r in out] == [1, 2, 3]
    assert out[1]["occurred_at"].isoformat() == "2019-01-02T10:00:00+00:00"
    assert out[2]["occurred_at"] is None and out[2]["payload"]["searched_at"] == "garbage"


def test_csv_of_unknown_shape_is_a_text_document_and_unknown_types_have_no_reader(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    xml = tmp_path / "data.xml"
    xml.write_text('<?xml version="1.0"?><root/>\n')
    assert reader_for(other).name == "csv_text" and reader_for(xml) is None


def test_parallel_mbox_read_equals_the_sequential_one(tmp_path, monkeypatch):
    from pipelines.readers import mbox

    fwd = (b"From: a@nypd.example\nSubject: fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
           b"--B\nContent-Type: text/plain\n\nsee attached\n--B\nContent-Type: message/rfc822\n\n"
           + eml("inner@x").replace(b"\r\n", b"\n") + b"\n--B--\n")
    parts = []
    for i in range(23):
        data = fwd if i % 7 == 3 else b"\n" if i == 5 else eml(f"m{i}@x", body=f">From line {i}").replace(b"\r\n", b"\n")
        parts.append(f"From x{i} Mon Oct  1 10:00:00 2018\n".encode() + data + b"\n")
    path = tmp_path / "box.mbox"
    path.write_bytes(b"".join(parts))

    def read():
        stats = FileStats()
        got = [row for batch in mbox.MboxReader().batches(path, stats) for row in batch.to_pylist()]
        return (stats.expected_items, stats.extracted_items, stats.quarantined_items), got

    sequential = read()
    monkeypatch.setattr(mbox, "PARALLEL_MIN", 1)
    monkeypatch.setattr(mbox, "CHUNK", 4)
    monkeypatch.setenv("FOIL_INGEST_WORKERS", "2")  # a 2-worker LocalCluster even on one core
    parallel = read()
    assert parallel == sequential
    assert sequential[0] == (23 + 3, 22 + 3, 1)
