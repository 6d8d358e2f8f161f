"""Office-format readers: Outlook .msg, attached messages in eml/mbox, JSONL and XLSX record dumps."""
from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.readers import BATCH_SCHEMA, FileStats, UnreadableFile
from pipelines.readers.outlook_msg import OLE_MAGIC, OutlookMsgReader
from pipelines.readers.record_csv import ACCOUNT_ROSTER, SEARCH_LOG, USAGE_REPORT, kind_for
from pipelines.readers.record_jsonl import RecordJsonlReader
from pipelines.readers.record_xlsx import RecordXlsxReader

from .conftest import REPO, eml
from .test_readers import rows

_spec = importlib.util.spec_from_file_location("gen_office_release", REPO / "raw/_generator/gen_office_release.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

USAGE_HEADER = ["account_ref", "user_email", "period_start", "period_end", "searches", "source"]


def _message(subject: str, message_id: str, **extra) -> dict:
    return dict(subject=subject, body="SYNTHETIC SAMPLE\r\nbody of " + subject, from_name="Ann Officer",
                from_email="ann@nypd.example", recipients=[("Vic Vendor", "vic@clearview.example", 1),
                                                           ("Bo Cc", "bo@nypd.example", 2)],
                date=dt.datetime(2020, 2, 3, 14, 5), message_id=message_id, **extra)


# --- kinds -----------------------------------------------------------------------------------------


def test_kind_detection_from_column_names():
    assert kind_for(["Account_Ref", " holder_email", "created_at", "x"]) is ACCOUNT_ROSTER
    assert kind_for(["account_ref", "searched_at"]) is SEARCH_LOG
    assert kind_for(USAGE_HEADER) is USAGE_REPORT
    assert kind_for(["account_ref", "period_start", "period_end"]) is None  # `searches` is required
    assert USAGE_REPORT.event_type == "usage_report_row" and USAGE_REPORT.time_column == "period_start"


def test_usage_report_csv(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(",".join(USAGE_HEADER) + "\ncv-1,a@nypd.example,2019-01-01,2019-01-31,412,vendor usage report\n")
    reader, stats, (row,) = rows(path)
    assert reader.name == "usage_report_csv" and stats.extracted_items == 1
    assert row["event_type"] == "usage_report_row" and row["occurred_at"].isoformat() == "2019-01-01T00:00:00+00:00"
    assert row["payload"]["searches"] == "412"


# --- .msg ------------------------------------------------------------------------------------------


def test_msg_payload_matches_the_email_message_shape(tmp_path):
    path = tmp_path / "a.msg"
    path.write_bytes(gen.msg_bytes(_message("Hello", "m1@nypd.example", in_reply_to="m0@clearview.example",
                                            attachments=[dict(filename="memo.txt", media_type="text/plain",
                                                              data=b"hello memo")])))
    reader, stats, (row,) = rows(path)
    assert reader.name == "outlook_msg" and (stats.expected_items, stats.extracted_items) == (1, 1)
    p = row["payload"]
    eml_keys = set(json.loads(json.dumps(__import__("pipelines.readers.email_message", fromlist=["x"])
                                         .message_observation(eml("x@y"), 0).payload)))
    assert set(p) == eml_keys
    assert row["event_type"] == "email_message" and row["occurred_at"].isoformat() == "2020-02-03T14:05:00+00:00"
    assert p["from"] == [{"name": "Ann Officer", "email": "ann@nypd.example", "redacted": False}]
    assert p["to"][0]["email"] == "vic@clearview.example" and p["cc"][0]["email"] == "bo@nypd.example"
    assert (p["message_id"], p["in_reply_to"], p["subject"]) == ("m1@nypd.example", "m0@clearview.example", "Hello")
    assert p["body_text"] == "SYNTHETIC SAMPLE\nbody of Hello"
    (att,) = p["attachments"]
    assert att["filename"] == "memo.txt" and att["size_bytes"] == 10 and len(att["sha256"]) == 64
    assert "hello memo" not in json.dumps(p)


def test_msg_transport_headers_win_and_keep_redaction_tokens(tmp_path):
    m = _message("Re: figures", "m2@nypd.example")
    m["headers"] = ("From: Ann Officer <ann@nypd.example>\r\nTo: [REDACTED 87(2)(b)], Vic <vic@clearview.example>\r\n"
                    "Date: Mon, 03 Feb 2020 09:05:00 -0500\r\nMessage-ID: <m2@nypd.example>\r\n\r\n")
    path = tmp_path / "b.msg"
    path.write_bytes(gen.msg_bytes(m))
    _, _, (row,) = rows(path)
    p = row["payload"]
    assert p["date_raw"] == "Mon, 03 Feb 2020 09:05:00 -0500"
    assert p["to"][0] == {"name": "[REDACTED 87(2)(b)]", "email": None, "redacted": True}


def test_msg_attached_message_is_its_own_observation(tmp_path):
    inner = _message("Inner", "inner@clearview.example", attachments=[dict(message=_message("Deepest", "deep@x"))])
    outer = _message("FW: Inner", "outer@nypd.example", attachments=[dict(message=inner)])
    path = tmp_path / "fw.msg"
    path.write_bytes(gen.msg_bytes(outer))
    _, stats, out = rows(path)
    assert (stats.expected_items, stats.extracted_items) == (3, 3)
    assert [(r["payload"]["index"], r["payload"].get("attached_to_index"), r["payload"]["subject"]) for r in out] == [
        (0, None, "FW: Inner"), (1, 0, "Inner"), (2, 1, "Deepest")]
    assert out[0]["payload"]["attachments"][0]["media_type"] == "application/vnd.ms-outlook"
    assert "body of Inner" not in out[0]["payload"]["body_text"]


def test_msg_8bit_strings_decoded_in_the_message_code_page():
    # 001E strings, no PR_MESSAGE_CODEPAGE, PR_INTERNET_CPID = 950 (Big5): extract-msg alone reads them as latin
    path = REPO / "tests/fixtures/real_world/files/tika_testMSG_chinese.msg"
    reader = OutlookMsgReader()
    assert reader.version == "3"
    obs = [r for b in reader.batches(path, FileStats()) for r in b.to_pylist()]
    payload = json.loads(obs[0]["payload"])
    assert payload["subject"] == "Alfresco MSG format testing ( MSG \u683c\u5f0f\u6e2c\u8a66 )"
    assert "\u4e2d\u6587\u6e2c\u8a66" in payload["body_text"] and payload["defects"] == []


def test_msg_code_page_lookup_and_fallback_defect():
    from pipelines.readers.outlook_msg import string_encoding

    class Fake:
        areStringsUnicode, stringEncoding = False, "iso-8859-15"

        def __init__(self, props):
            self.props = props

        def getPropertyVal(self, key):
            return self.props.get(key)

    assert string_encoding(Fake({"3FDE0003": 950})) == ("cp950", [])
    assert string_encoding(Fake({"3FFD0003": 1251, "3FDE0003": 950})) == ("cp1251", [])
    codec, defects = string_encoding(Fake({}))
    assert codec is None and defects == ["encoding: no code page property (PR_MESSAGE_CODEPAGE/PR_INTERNET_CPID/"
                                         "PR_CODE_PAGE_ID), 8-bit strings decoded as iso-8859-15"]
    codec, defects = string_encoding(Fake({"3FFD0003": 99999}))
    assert codec is None and defects == ["encoding: PR_MESSAGE_CODEPAGE code page 99999 unknown, 8-bit strings "
                                         "decoded as iso-8859-15"]
    unicode = Fake({})
    unicode.areStringsUnicode = True
    assert string_encoding(unicode) == (None, [])


@pytest.mark.parametrize("data, reason", [(b"", "empty file"), (b"not an OLE file at all", "no OLE compound file"),
                                          (OLE_MAGIC + b"\0" * 600, "unreadable MSG")])
def test_corrupt_msg_is_unreadable(tmp_path, data, reason):
    path = tmp_path / "bad.msg"
    path.write_bytes(data)
    with pytest.raises(UnreadableFile, match=reason):
        list(OutlookMsgReader().batches(path, FileStats()))


def test_truncated_msg_is_unreadable(tmp_path):
    path = tmp_path / "cut.msg"
    path.write_bytes(gen.msg_bytes(_message("Hello", "m1@x"))[:1500])
    with pytest.raises(UnreadableFile):
        list(OutlookMsgReader().batches(path, FileStats()))


# --- attached message/rfc822 in eml and mbox ------------------------------------------------------


def _forward(inner: bytes, message_id: str = "out@nypd.example", b: str = "XX") -> bytes:
    return (f"From: Ann <ann@nypd.example>\r\nTo: b@nypd.example\r\nSubject: Fwd\r\n"
            f"Date: Tue, 02 Oct 2018 10:00:00 -0400\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n--{b}\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            f"--{b}\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n"
            ).encode() + inner + f"--{b}--\r\n".encode()


def test_eml_attached_message_is_emitted_and_not_inlined(tmp_path):
    path = tmp_path / "fwd.eml"
    path.write_bytes(_forward(_forward(eml("deep@clearview.example", body="DEEP BODY"), "mid@x", b="YY")))
    _, stats, out = rows(path)
    assert (stats.expected_items, stats.extracted_items) == (3, 3)
    assert [(r["payload"]["index"], r["payload"].get("attached_to_index"), r["payload"]["message_id"]) for r in out] == [
        (0, None, "out@nypd.example"), (1, 0, "mid@x"), (2, 1, "deep@clearview.example")]
    outer = out[0]["payload"]
    assert outer["body_text"].strip() == "see attached"
    (att,) = outer["attachments"]
    assert att["media_type"] == "message/rfc822" and att["filename"] == "fwd.eml" and att["size_bytes"] > 0
    assert "DEEP BODY" in out[2]["payload"]["body_text"]


def test_mbox_attached_messages_numbered_after_the_mailbox(tmp_path):
    m1 = b"From a@x Mon Oct  1 10:00:00 2018\n" + _forward(eml("in@x")).replace(b"\r\n", b"\n") + b"\n"
    m2 = b"From b@x Mon Oct  1 11:00:00 2018\n" + eml("b@x").replace(b"\r\n", b"\n") + b"\n"
    path = tmp_path / "box.mbox"
    path.write_bytes(m1 + m2)
    _, stats, out = rows(path)
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (3, 3, 0)
    got = [(r["payload"]["index"], r["payload"].get("attached_to_index"), r["payload"]["message_id"], r["source_offset"])
           for r in out]
    assert got == [(0, None, "out@nypd.example", 0), (2, 0, "in@x", 0), (1, None, "b@x", len(m1))]


# --- JSONL -----------------------------------------------------------------------------------------


def test_jsonl_clean(tmp_path):
    path = tmp_path / "usage.jsonl"
    lines = [{"account_ref": "cv-1", "period_start": "2019-01-01", "period_end": "2019-01-31", "searches": 12,
              "by_client": {"web": 10, "ios": 2}, "note": None},
             {"account_ref": "cv-2", "period_start": "2019-02-01T00:00:00-05:00", "period_end": "2019-02-28",
              "searches": "7"}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    reader, stats, out = rows(path)
    assert reader.name == "record_jsonl" and (stats.expected_items, stats.extracted_items) == (2, 2)
    assert [r["source_row"] for r in out] == [1, 2] and {r["event_type"] for r in out} == {"usage_report_row"}
    assert out[0]["payload"]["searches"] == "12" and json.loads(out[0]["payload"]["by_client"]) == {"web": 10, "ios": 2}
    assert out[1]["occurred_at"].isoformat() == "2019-02-01T05:00:00+00:00"


def test_jsonl_malformed_lines_are_quarantined_with_line_numbers(tmp_path):
    path = tmp_path / "log.jsonl"
    good = json.dumps({"search_ref": "s1", "account_ref": "cv-1", "searched_at": "2019-01-02T03:04:05Z"})
    path.write_text(f"{good}\n{{\"account_ref\": \"cv-1\", \"sear\n\n[1, 2]\n{good}\n")
    _, stats, out = rows(path)
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (4, 2, 2)
    bad = [r["payload"] for r in out if r["event_type"] == "item_quarantined"]
    assert [b["index"] for b in bad] == [2, 4] and "not a JSON object" in bad[1]["reason"]
    assert [r["source_row"] for r in out if r["event_type"] == "search_log_row"] == [1, 5]


@pytest.mark.parametrize("text, reason", [("", "empty file"), ("{\"a\": 1}\n", "no known record kind"),
                                          ("nope\n[]\n", "no line is a JSON object"), ("{}\n", "no keys")])
def test_jsonl_unreadable(tmp_path, text, reason):
    path = tmp_path / "x.jsonl"
    path.write_text(text)
    with pytest.raises(UnreadableFile, match=reason):
        list(RecordJsonlReader().batches(path, FileStats()))


def test_jsonl_is_streamed_in_blocks_with_the_same_events(tmp_path, monkeypatch):
    """A large dump is read in blocks of whole lines; cutting it small must not change a single event."""
    from pipelines.readers import record_jsonl

    path = tmp_path / "log.jsonl"
    good = [json.dumps({"search_ref": f"s{i}", "account_ref": "cv-1", "searched_at": f"2019-01-{i:02d}T03:04:05Z",
                        "filters": {"age": i}}) for i in range(1, 21)]
    lines = good[:5] + ["", "{\"broken"] + good[5:12] + ["[1]", "   "] + good[12:]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n\n")
    _, whole_stats, whole = rows(path)
    for block in (64, 150, 1000):  # shorter than a line, a couple of lines, several lines
        monkeypatch.setattr(record_jsonl, "BLOCK_BYTES", block)
        _, stats, out = rows(path)
        # blocks interleave quarantines and rows; the events themselves are the same
        assert sorted(out, key=lambda r: r["source_row"]) == sorted(whole, key=lambda r: r["source_row"])
        assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == \
            (whole_stats.expected_items, whole_stats.extracted_items, whole_stats.quarantined_items) == (22, 20, 2)
    assert [r["payload"]["index"] for r in whole if r["event_type"] == "item_quarantined"] == [7, 15]
    assert [r["source_row"] for r in whole if r["event_type"] == "search_log_row"][:7] == [1, 2, 3, 4, 5, 8, 9]


def test_jsonl_kind_changing_partway_is_refused(tmp_path, monkeypatch):
    from pipelines.readers import record_jsonl

    monkeypatch.setattr(record_jsonl, "BLOCK_BYTES", 100)
    path = tmp_path / "mixed.jsonl"
    search = json.dumps({"account_ref": "cv-1", "searched_at": "2019-01-02T03:04:05Z"})
    usage = json.dumps({"account_ref": "cv-1", "period_start": "2019-01-01", "period_end": "2019-01-31", "searches": 3})
    path.write_text("\n".join([search] * 4 + [usage] * 4) + "\n")
    with pytest.raises(UnreadableFile, match="usage_report_row records, the lines before search_log_row"):
        list(RecordJsonlReader().batches(path, FileStats()))


# --- XLSX ------------------------------------------------------------------------------------------


def test_xlsx_reads_matching_sheets_and_reports_the_others(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(gen.xlsx_bytes([
        ("About", [["SYNTHETIC SAMPLE"], ["cover note"]]),
        ("Usage", [USAGE_HEADER, ["cv-1", "a@nypd.example", "2019-01-01", "2019-01-31", 412, "vendor"],
                   [None] * 6, ["cv-2", None, "2019-02-01", "2019-02-28", 3, None]]),
        ("Roster", [["account_ref", "vendor", "holder_email", "created_at"],
                    ["cv-1", "Clearview AI", "a@nypd.example", "2018-12-03T10:00:00Z"]]),
        ("Empty", []),
    ]))
    reader, stats, out = rows(path)
    assert reader.name == "record_xlsx"
    assert stats.extra["ignored_sheets"] == ["About", "Empty"] and (stats.expected_items, stats.extracted_items) == (3, 3)
    usage = [r for r in out if r["event_type"] == "usage_report_row"]
    assert [r["source_row"] for r in usage] == [1, 3]
    assert usage[0]["payload"] == {"account_ref": "cv-1", "user_email": "a@nypd.example", "period_start": "2019-01-01",
                                   "period_end": "2019-01-31", "searches": "412", "source": "vendor", "sheet": "Usage"}
    (roster,) = [r for r in out if r["event_type"] == "roster_row"]
    assert roster["payload"]["sheet"] == "Roster" and roster["occurred_at"].isoformat() == "2018-12-03T10:00:00+00:00"


def test_xlsx_without_a_known_sheet_is_unreadable(tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_bytes(gen.xlsx_bytes([("Notes", [["a", "b"], [1, 2]])]))
    with pytest.raises(UnreadableFile, match="no sheet with a known header: sheets 'Notes'"):
        list(RecordXlsxReader().batches(path, FileStats()))


def test_sample_release_reads_cleanly():
    folder = REPO / "raw" / "nypd-clearview-2022-02-office"
    if not folder.is_dir():
        pytest.skip("sample release not generated")
    counts = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "release.yaml":
            _, stats, out = rows(path)
            counts[path.name] = (stats.expected_items, stats.extracted_items, stats.quarantined_items)
    assert counts["NYPD-CV-OFF-0002.msg"] == (2, 2, 0)
    assert counts["usage_report.jsonl"][2] == 1 and counts["usage_report.xlsx"][2] == 0


# --- property tests: random bytes give valid batches or UnreadableFile, nothing else ---------------


def _valid_or_unreadable(reader, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    stats = FileStats()
    try:
        for batch in reader.batches(path, stats):
            assert batch.schema == BATCH_SCHEMA
    except UnreadableFile:
        pass


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(prefix=st.sampled_from([b"", OLE_MAGIC]), data=st.binary(max_size=2048))
def test_msg_random_bytes(tmp_path, prefix, data):
    _valid_or_unreadable(OutlookMsgReader(), tmp_path / "f.msg", prefix + data)


@FUZZ
@given(data=st.one_of(st.binary(max_size=1024),
                      st.lists(st.sampled_from(['{"account_ref":"a","searched_at":"2019-01-01"}', "{", "[]", "",
                                                '{"account_ref":1,"searched_at":{"x":[1]}}', "null", '"s"', "{}"]),
                               max_size=8).map(lambda xs: "\n".join(xs).encode())))
def test_jsonl_random_bytes(tmp_path, data):
    _valid_or_unreadable(RecordJsonlReader(), tmp_path / "f.jsonl", data)


@FUZZ
@given(data=st.binary(max_size=2048), cut=st.integers(min_value=0, max_value=5000), pk=st.booleans())
def test_xlsx_random_bytes(tmp_path, data, cut, pk):
    book = gen.xlsx_bytes([("Usage", [USAGE_HEADER, ["cv-1", None, "2019-01-01", "2019-01-31", 1, None]])])
    _valid_or_unreadable(RecordXlsxReader(), tmp_path / "f.xlsx", (book[:cut] + data) if pk else data)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), min_size=1, max_size=20))
def test_msg_mutated_bytes(tmp_path, edits):
    data = bytearray(gen.msg_bytes(_message("FW", "o@x", attachments=[dict(message=_message("In", "i@x"))])))
    for pos, value in edits:
        data[pos % len(data)] = value
    _valid_or_unreadable(OutlookMsgReader(), tmp_path / "m.msg", bytes(data))
