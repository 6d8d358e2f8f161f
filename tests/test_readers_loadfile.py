"""Concordance/Relativity DAT and Opticon OPT readers on small load files built in the test."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.readers import BATCH_SCHEMA, FileStats, UnreadableFile, reader_for
from pipelines.readers.concordance_dat import ConcordanceDatReader, detect_encoding, parse_loose_datetime, parse_people
from pipelines.readers.opticon_opt import OpticonOptReader

from .conftest import REPO, write_release

SEP, Q, NL = "\x14", "\u00fe", "\u00ae"
HEADER = ["BEGBATES", "ENDBATES", "BEGATTACH", "ENDATTACH", "PARENTID", "CUSTODIAN", "FROM", "TO", "CC",
          "SUBJECT", "DATESENT", "TIMESENT", "TEXTPATH", "NOTES"]


def concordance(rows: list[list[str]], eol: str = "\r\n") -> str:
    return "".join(SEP.join(Q + v + Q for v in row) + eol for row in rows)


def doj(rows: list[list[str]], eol: str = "\r\n") -> str:
    return "".join("|".join("^" + v + "^" for v in row) + eol for row in rows)


EMAIL = ["NYPD-CV-001001", "NYPD-CV-001002", "NYPD-CV-001001", "NYPD-CV-001003", "", "Vayle, Hector",
         "Vayle, Hector <hector.vayle@nypd.example>",
         "Varga, Hollis <HOLLIS@clearview.example>; Kolowski, Brett; [REDACTED 87(2)(b)]",
         "Solberg, Renata [mailto:renata.solberg@nypd.example]", "FIS trial accounts", "01/08/2019", "2:14 PM",
         r"VOL001\TEXT\NYPD-CV-001001.txt", "first" + NL + "second"]
ATTACHMENT = ["NYPD-CV-001003", "NYPD-CV-001003", "NYPD-CV-001001", "NYPD-CV-001003", "NYPD-CV-001001",
              "Vayle, Hector", "", "", "", "", "20190108", "", r"VOL001\TEXT\NYPD-CV-001003.txt", "caf\u00e9"]


def rows(path: Path, reader=None):
    reader = reader or reader_for(path)
    assert reader is not None, f"no reader for {path.name}"
    stats = FileStats()
    out = []
    for batch in reader.batches(path, stats):
        assert batch.schema == BATCH_SCHEMA
        for row in batch.to_pylist():
            row["payload"] = json.loads(row["payload"])
            out.append(row)
    return reader, stats, out


def volume(raw: Path, dat: bytes, texts: dict | None = None, name: str = "VOL001.dat") -> Path:
    texts = {"VOL001/TEXT/NYPD-CV-001001.txt": "SYNTHETIC SAMPLE\r\nHello Hollis.\r\n".encode("cp1252"),
             "VOL001/TEXT/NYPD-CV-001003.txt": b"attachment text"} if texts is None else texts
    folder = write_release(raw, "rel-load", files={f"VOL001/DATA/{name}": dat, **texts})
    return folder / "VOL001" / "DATA" / name


@pytest.mark.parametrize("encoding, bom", [("cp1252", b""), ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"),
                                           ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                           ("utf-16-le", b"")])
def test_concordance_dat_in_each_encoding(raw, encoding, bom):
    path = volume(raw, bom + concordance([HEADER, EMAIL, ATTACHMENT]).encode(encoding))
    reader, stats, out = rows(path)
    assert reader.name == "concordance_dat"
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (2, 2, 0)
    assert [r["event_type"] for r in out] == ["email_message", "load_file_record"]
    assert [r["source_row"] for r in out] == [1, 2]
    email, doc = out[0]["payload"], out[1]["payload"]
    expected_name = {"cp1252": "windows-1252", "utf-8": "utf-8-sig" if bom else "utf-8"}.get(encoding, encoding)
    assert email["encoding"] == doc["encoding"] == stats.extra["encoding"] == expected_name
    # byte offset of the first data record = BOM + encoded header line
    header_len = len(concordance([HEADER]).encode(encoding))
    assert out[0]["source_offset"] == len(bom) + header_len
    assert out[0]["source_bates"] == email["bates_begin"] == "NYPD-CV-001001"
    assert email["bates_end"] == "NYPD-CV-001002" and email["custodian"] == "Vayle, Hector"
    assert email["fields"]["NOTES"] == "first\nsecond"          # ® back to a newline
    assert doc["fields"]["NOTES"] == "café"
    assert doc["parent_bates"] == "NYPD-CV-001001" and doc["attach_begin"] == "NYPD-CV-001001"
    assert doc["text"] == "attachment text" and doc["text_path"] == "VOL001/TEXT/NYPD-CV-001003.txt"


def test_email_records_have_the_email_message_shape(raw):
    path = volume(raw, concordance([HEADER, EMAIL]).encode("cp1252"))
    _, _, (row,) = rows(path)
    p = row["payload"]
    for key in ("index", "message_id", "in_reply_to", "references", "subject", "date_raw", "body_text", "attachments",
                "defects", "from", "to", "cc", "bcc", "reply_to", "from_raw", "to_raw", "cc_raw", "bcc_raw"):
        assert key in p, key
    assert p["message_id"] is None and p["subject"] == "FIS trial accounts"
    assert p["from"] == [{"name": "Vayle, Hector", "email": "hector.vayle@nypd.example", "redacted": False}]
    assert p["to"] == [{"name": "Varga, Hollis", "email": "hollis@clearview.example", "redacted": False},
                       {"name": "Kolowski, Brett", "email": None, "redacted": False},
                       {"name": "[REDACTED 87(2)(b)]", "email": None, "redacted": True}]
    assert p["cc"] == [{"name": "Solberg, Renata", "email": "renata.solberg@nypd.example", "redacted": False}]
    assert p["date_raw"] == "01/08/2019 2:14 PM"
    assert row["occurred_at"].isoformat() == "2019-01-08T14:14:00+00:00"
    assert "date: no time zone, assumed UTC" in p["defects"]
    assert p["body_text"] == "SYNTHETIC SAMPLE\nHello Hollis.\n"


def test_doj_summation_profile_bare_values_and_embedded_newlines(raw):
    header = ["BEGDOC#", "ENDDOC#", "From", "Subject", "DateSent", "Notes"]
    text = ("|".join(header) + "\r\n"
            + "^ABC-0001^|^ABC-0002^|^Roe, Jane^|^Hello^|^20190301^|^line one~line two^\r\n"
            + "ABC-0003|ABC-0003|||03-02-2019|^a quoted\r\nvalue with a real CR/LF^\r\n")
    path = volume(raw, text.encode("utf-8"), texts={})
    _, stats, out = rows(path)
    assert stats.extra["delimiter_profile"] == "doj_summation"
    assert (stats.expected_items, stats.extracted_items) == (2, 2)
    first, second = out[0]["payload"], out[1]["payload"]
    assert out[0]["event_type"] == "email_message" and first["bates_begin"] == "ABC-0001"
    assert first["from"] == [{"name": "Roe, Jane", "email": None, "redacted": False}]
    assert first["fields"]["Notes"] == "line one\nline two"
    assert out[0]["occurred_at"].isoformat() == "2019-03-01T00:00:00+00:00"
    assert out[1]["event_type"] == "load_file_record" and second["bates_begin"] == "ABC-0003"
    assert second["fields"]["Notes"] == "a quoted\nvalue with a real CR/LF"
    assert out[1]["occurred_at"].isoformat() == "2019-03-02T00:00:00+00:00"


def test_wrong_field_count_is_quarantined_and_the_rest_kept(raw):
    short = EMAIL[:5]
    path = volume(raw, concordance([HEADER, EMAIL, short, ATTACHMENT]).encode("cp1252"))
    _, stats, out = rows(path)
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (3, 2, 1)
    assert [r["event_type"] for r in out] == ["email_message", "item_quarantined", "load_file_record"]
    q = out[1]["payload"]
    assert q["index"] == 1 and out[1]["source_row"] == 2
    assert q["reason"] == f"record 2 (line 3): 5 fields, header has {len(HEADER)} fields"


def test_textpath_escaping_the_release_is_refused_and_missing_text_is_a_defect(raw):
    (raw / "secret.txt").write_text("must never be read")
    escape = list(EMAIL)
    escape[12] = r"..\..\..\secret.txt"
    absolute = list(ATTACHMENT)
    absolute[12] = r"C:\Windows\win.ini"
    missing = list(ATTACHMENT)
    missing[0] = missing[1] = "NYPD-CV-001004"
    missing[12] = r"VOL001\TEXT\NYPD-CV-001004.txt"
    path = volume(raw, concordance([HEADER, escape, absolute, missing]).encode("cp1252"))
    _, stats, out = rows(path)
    assert stats.extracted_items == 3 and stats.quarantined_items == 0
    e, a, m = (r["payload"] for r in out)
    assert e["body_text"] is None and any(d.startswith("textpath outside release refused") for d in e["defects"])
    assert a["text"] is None and any(d.startswith("textpath outside release refused") for d in a["defects"])
    assert m["text"] is None and any(d.startswith("textpath: file not found") for d in m["defects"])
    assert stats.extra["textpath_refused"] == 2 and stats.extra["textpath_missing"] == 1
    assert "must never" not in json.dumps([r["payload"] for r in out])


def test_unterminated_qualifier_does_not_swallow_the_file(tmp_path, monkeypatch):
    import pipelines.readers.concordance_dat as dat

    monkeypatch.setattr(dat, "RECORD_MAX_BYTES", 200)
    body = concordance([["BEGBATES", "NOTES"], ["A1", "ok"]]) + SEP.join([Q + "A2" + Q, Q + "never closed"]) + "\r\n"
    body += (SEP.join(["A3", "bare value, no qualifier"]) + "\r\n") * 10
    path = tmp_path / "open.dat"
    path.write_bytes(body.encode("cp1252"))
    with pytest.raises(UnreadableFile, match="record starting on line 3 runs past 200 bytes"):
        list(ConcordanceDatReader().batches(path, FileStats()))


def test_cp1252_thorn_is_not_mistaken_for_a_utf16_bom(tmp_path):
    path = tmp_path / "x.dat"
    path.write_bytes(concordance([["BEGBATES", "ENDBATES"], ["A1", "A1"]]).encode("cp1252"))
    assert path.read_bytes()[:2] == b"\xfeB"
    assert detect_encoding(path).name == "windows-1252"


def test_file_that_is_not_a_load_file_is_refused(tmp_path):
    binary = tmp_path / "game.dat"
    binary.write_bytes(b"\x00\x01\x02 not a load file \xff")
    no_known = tmp_path / "other.dat"
    no_known.write_text("alpha|beta\n1|2\n")
    with pytest.raises(UnreadableFile, match="not a load file"):
        list(ConcordanceDatReader().batches(binary, FileStats()))
    with pytest.raises(UnreadableFile, match="no known field name"):
        list(ConcordanceDatReader().batches(no_known, FileStats()))


def test_people_split_on_semicolons_only_and_loose_dates():
    assert [p["name"] for p in parse_people("Roe, Jane; Doe, John;")] == ["Roe, Jane", "Doe, John"]
    assert parse_people("'a@b.example'") == [{"name": None, "email": "a@b.example", "redacted": False}]
    defects: list[str] = []
    assert parse_loose_datetime("Friday, August 27, 2010 2:52 PM", defects).isoformat() == "2010-08-27T14:52:00+00:00"
    assert parse_loose_datetime("12-31-2019 23:59:59 -05:00", defects).isoformat() == "2020-01-01T04:59:59+00:00"
    assert parse_loose_datetime("13/45/2019", defects) is None and any("unparseable" in d for d in defects)


def test_opticon_opt_pages(tmp_path):
    path = tmp_path / "VOL001.opt"
    path.write_bytes(b"NYPD-000101,VOL001,VOL001\\IMAGES\\001\\NYPD-000101.tif,Y,,,3\r\n"
                     b"NYPD-000102,VOL001,VOL001\\IMAGES\\001\\NYPD-000102.tif,,,,\r\n"
                     b"\r\n"
                     b"NYPD-000103,VOL001\r\n"
                     b"NYPD-000104,VOL001,VOL001\\IMAGES\\a,b.tif,Y,,,x\r\n")
    reader, stats, out = rows(path)
    assert reader.name == "opticon_opt"
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (4, 3, 1)
    assert [r["event_type"] for r in out] == ["page_image", "page_image", "item_quarantined", "page_image"]
    first = out[0]["payload"]
    assert out[0]["source_bates"] == first["image_key"] == "NYPD-000101"
    assert first["image_path"] == "VOL001/IMAGES/001/NYPD-000101.tif"
    assert first["doc_break"] is True and first["page_count"] == 3 and first["volume"] == "VOL001"
    assert out[1]["payload"]["doc_break"] is False and out[1]["payload"]["page_count"] is None
    assert out[2]["source_row"] == 4 and "line 4" in out[2]["payload"]["reason"]
    last = out[3]["payload"]
    assert last["image_path"] == "VOL001/IMAGES/a,b.tif" and any("page_count" in d for d in last["defects"])


# --- property tests ------------------------------------------------------------------------------

def _check(reader, data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        stats = FileStats()
        try:
            for batch in reader.batches(path, stats):
                assert batch.schema == BATCH_SCHEMA
                for payload in batch.column("payload").to_pylist():
                    json.loads(payload)
        except UnreadableFile:
            return
        assert stats.expected_items == stats.extracted_items + stats.quarantined_items


PREFIXES = st.sampled_from([b"", "\u00feBEGBATES\u00fe\x14\u00feFROM\u00fe\r\n".encode("cp1252"),
                            b"BEGDOC#|SUBJECT|TEXTPATH\n", b"\xff\xfe", b"\xef\xbb\xbf"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=PREFIXES, data=st.binary(max_size=400))
def test_dat_reader_on_random_bytes_yields_batches_or_unreadable(prefix, data):
    _check(ConcordanceDatReader(), prefix + data, ".dat")


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400))
def test_opt_reader_on_random_bytes_yields_batches_or_unreadable(data):
    _check(OpticonOptReader(), data, ".opt")


VALUE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[Q, NL, SEP, "\r"]), max_size=12)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.lists(VALUE, min_size=3, max_size=3), min_size=1, max_size=5),
       encoding=st.sampled_from(["utf-8", "utf-16-le"]))
def test_dat_values_round_trip(values, encoding):
    header = ["BEGBATES", "ENDBATES", "NOTES"]
    records = [[v.replace("\n", NL) for v in row] for row in values]
    data = concordance([header, *records]).encode(encoding)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.dat"
        path.write_bytes(data)
        _, stats, out = rows(path, ConcordanceDatReader())
    kept = [row for row in values if any(v.strip() for v in row)]  # an all-blank line is not a record
    assert stats.extracted_items == len(kept)
    assert [list(r["payload"]["fields"].values()) for r in out] == kept


# --- the generated sample release ----------------------------------------------------------------

SAMPLE = REPO / "raw" / "nypd-clearview-2021-12-loadfile" / "VOL001"


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample load-file release not generated")
def test_sample_load_file_release():
    _, stats, out = rows(SAMPLE / "DATA" / "VOL001.dat")
    assert (stats.expected_items, stats.extracted_items, stats.extra["encoding"]) == (15, 15, "windows-1252")
    assert stats.extra["textpath_missing"] == stats.extra["textpath_refused"] == 0
    assert out[0]["source_bates"] == "NYPD-CV-001001"
    assert sum(r["event_type"] == "email_message" for r in out) >= 2
    assert any("\n" in v for r in out for v in r["payload"]["fields"].values())
    _, opt_stats, pages = rows(SAMPLE / "DATA" / "VOL001.opt")
    assert opt_stats.extracted_items == len(pages) == sum(int(r["payload"]["fields"]["PGCOUNT"]) for r in out)
    assert [p["source_bates"] for p in pages if p["payload"]["doc_break"]] == [r["source_bates"] for r in out]
    result = subprocess.run([sys.executable, "raw/_generator/gen_loadfile_release.py", "--check"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# --- references that leave the release (issue #14) ----------------------------------------------

LINK_HEADER = ["BEGBATES", "ENDBATES", "TEXTPATH", "NATIVEPATH"]
OUTSIDE = b"OUTSIDE-SECRET: this text lives outside the release and must never be read"


def _payload_text(out: list[dict], stats: FileStats) -> str:
    return json.dumps([r["payload"] for r in out]) + json.dumps(stats.extra, default=str)


def test_references_outside_the_release_or_through_links_are_refused_on_disk(raw, tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_bytes(OUTSIDE)
    records = [
        ["R01", "R01", r"..\..\..\..\etc\hostname", ""],              # `..` escaping the release
        ["R02", "R02", "../../../../etc/hostname", ""],
        ["R03", "R03", "/etc/hostname", "/etc/passwd"],               # POSIX absolute
        ["R04", "R04", str(tmp_path / "etc" / "hostname"), ""],
        ["R05", "R05", r"VOL001\TEXT\outside-link.txt", r"VOL001\NATIVES\outside-link.txt"],  # link to outside
        ["R06", "R06", r"VOL001\TEXT\inner-link.txt", ""],            # link to a file inside: still a link
        ["R07", "R07", r"VOL001\LINKED\hostname", ""],                # a linked folder on the way
        ["R08", "R08", r"VOL001\TEXT\pipe", ""],                      # a named pipe: never opened (never blocks)
        ["R09", "R09", r"..\TEXT\R09.txt", r"VOL001\NATIVES\R09.msg"],  # `..` that stays inside: fine
        ["R10", "R10", r"\VOL001\TEXT\R10.txt", ""],                  # leading backslash = volume root
    ]
    path = volume(raw, concordance([LINK_HEADER, *records]).encode("cp1252"), texts={
        "VOL001/TEXT/R09.txt": b"nine", "VOL001/TEXT/R10.txt": b"ten", "VOL001/NATIVES/R09.msg": b"msg"})
    text_dir = path.parents[1] / "TEXT"
    os.symlink(tmp_path / "etc" / "hostname", text_dir / "outside-link.txt")
    (path.parents[1] / "NATIVES" / "outside-link.txt").symlink_to(tmp_path / "etc" / "hostname")
    os.symlink("R09.txt", text_dir / "inner-link.txt")
    os.symlink(tmp_path / "etc", path.parents[1] / "LINKED")
    os.mkfifo(text_dir / "pipe")

    _, stats, out = rows(path)
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (10, 10, 0)
    p = {r["source_bates"]: r["payload"] for r in out}
    for bates in ("R01", "R02", "R03", "R04"):
        assert p[bates]["text"] is None and p[bates]["text_path"] is None
        assert any(d.startswith("textpath outside release refused: ") for d in p[bates]["defects"]), bates
    assert "nativepath outside release refused: /etc/passwd" in p["R03"]["defects"]
    for bates in ("R05", "R06", "R07"):
        assert p[bates]["text"] is None and p[bates]["text_path"] is None
        assert any(d.startswith("textpath symbolic link refused: ") for d in p[bates]["defects"]), bates
    assert p["R05"]["native_path"] is None
    assert r"nativepath symbolic link refused: VOL001\NATIVES\outside-link.txt" in p["R05"]["defects"]
    assert p["R08"]["text"] is None
    assert r"textpath not a regular file refused: VOL001\TEXT\pipe" in p["R08"]["defects"]
    assert (p["R09"]["text"], p["R09"]["text_path"], p["R09"]["native_path"]) == (
        "nine", "VOL001/TEXT/R09.txt", "VOL001/NATIVES/R09.msg")
    assert (p["R10"]["text"], p["R10"]["text_path"], p["R10"]["defects"]) == ("ten", "VOL001/TEXT/R10.txt", [])
    assert stats.extra["textpath_refused"] == 8 and stats.extra["textpath_missing"] == 0
    assert OUTSIDE.decode() not in _payload_text(out, stats)
    if Path("/etc/hostname").is_file() and len(Path("/etc/hostname").read_text().strip()) >= 6:
        assert Path("/etc/hostname").read_text().strip() not in _payload_text(out, stats)


def _extract_zip(data: bytes, scratch: Path | None) -> tuple[tempfile.TemporaryDirectory, Path]:
    """Extract every member as the ingest does: archives.plan + archives.extract into a foil-zip- folder."""
    import io
    import zipfile

    from pipelines.lib import archives
    from pipelines.lib.release_files import SCRATCH_PREFIX

    holder = tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=scratch)
    root = Path(holder.name)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for member in archives.plan(zf):
            assert member.refusal is None, member.refusal
            archives.extract(zf, member, root)
    return holder, root


@pytest.mark.parametrize("told", [True, False], ids=["read_root set", "read_root not set"])
@pytest.mark.parametrize("where", ["state scratch", "system temp"])
def test_references_inside_a_zip_stay_inside_its_extraction_folder(tmp_path, told, where):
    import io
    import zipfile

    from pipelines.lib.release_files import read_root

    scratch = tmp_path / "scratch" if where == "state scratch" else None
    if scratch:
        scratch.mkdir()
    parent = scratch or Path(tempfile.gettempdir())
    # files next to the extraction folder and above it: what the old resolver read
    secret = tempfile.NamedTemporaryFile(dir=parent, prefix="foil-secret-", suffix=".txt", delete=False)
    secret.write(OUTSIDE)
    secret.close()
    name = Path(secret.name).name
    records = [
        ["Z01", "Z01", f"..\\{name}", ""],
        ["Z02", "Z02", f"../../{parent.name}/{name}", ""],
        ["Z03", "Z03", secret.name, ""],                              # absolute
        ["Z04", "Z04", r"TEXT\link.txt", ""],                         # a link planted in the extraction folder
        ["Z05", "Z05", r"TEXT\Z05.txt", ""],                          # the zip's own text: read
    ]
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("VOL001.dat", concordance([LINK_HEADER, *records]).encode("cp1252"))
        zf.writestr("TEXT/Z05.txt", b"five")
    holder, root = _extract_zip(data.getvalue(), scratch)
    try:
        (root / "TEXT" / "link.txt").symlink_to(secret.name)
        if told:
            with read_root(root):
                _, stats, out = rows(root / "VOL001.dat")
        else:
            _, stats, out = rows(root / "VOL001.dat")
    finally:
        holder.cleanup()
        os.unlink(secret.name)
    p = {r["source_bates"]: r["payload"] for r in out}
    for bates in ("Z01", "Z02", "Z03"):
        assert p[bates]["text"] is None
        assert any(d.startswith("textpath outside release refused: ") for d in p[bates]["defects"]), bates
    assert p["Z04"]["text"] is None and r"textpath symbolic link refused: TEXT\link.txt" in p["Z04"]["defects"]
    assert (p["Z05"]["text"], p["Z05"]["text_path"]) == ("five", "TEXT/Z05.txt")
    assert stats.extra["textpath_refused"] == 4
    assert OUTSIDE.decode() not in _payload_text(out, stats)


def test_a_read_root_that_does_not_hold_the_load_file_is_not_used(raw, tmp_path):
    """The read root bounds a load file only when the file is inside it; else the narrower fallback (the
    release folder holding a manifest, an extraction folder, or the file's own folder) applies."""
    from pipelines.lib.release_files import read_root

    (raw / "secret.txt").write_bytes(OUTSIDE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = volume(raw, concordance([LINK_HEADER, ["A1", "A1", r"..\..\..\secret.txt", ""]]).encode("cp1252"),
                  texts={})
    for root in (elsewhere, path.parents[2]):
        with read_root(root):
            _, stats, out = rows(path)
        assert out[0]["payload"]["text"] is None and stats.extra["textpath_refused"] == 1
        assert OUTSIDE.decode() not in _payload_text(out, stats)
