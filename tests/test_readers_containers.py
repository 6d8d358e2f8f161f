"""The rest of a production (issue #15 part 4): 7z and tar archives, Outlook PST, calendar invitations,
contact cards and images."""
from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.lib import archives
from pipelines.lib.ingest import ingest_release
from pipelines.lib.manifest import load_manifest
from pipelines.readers.base import FileStats, UnreadableFile
from pipelines.readers.calendar_ics import CalendarIcsReader
from pipelines.readers.contact_vcf import ContactVcfReader
from pipelines.readers.image import ImageReader
from pipelines.readers.outlook_pst import OutlookPstReader

from .conftest import REPO, eml, write_release

FIXTURES = Path(__file__).parent / "fixtures"
BOMB = b"\0" * (8 << 20)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tar_bytes(mode: str, members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return buf.getvalue()


def ingest(raw, tmp_path, files):
    folder = write_release(raw, "rel", files=files)
    with duckdb.connect(str(tmp_path / "b.duckdb")) as con:
        result = ingest_release(con, load_manifest(folder))
        rows = con.execute("""select source_path, event_type, parser, payload::varchar from raw.events
                              where event_type in ('file_observed', 'file_quarantined')""").fetchall()
        messages = con.execute("select source_path from raw.events where event_type = 'email_message'").fetchall()
    outcomes = {path: etype for path, etype, _, _ in rows}
    payloads = {path: (parser, json.loads(payload)) for path, _, parser, payload in rows}
    return result, outcomes, payloads, sorted(p for (p,) in messages)


def reasons(result) -> dict[str, str]:
    return {f.path: f.quarantine_reason for f in result.files if f.quarantine_reason}


# ---- tar --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode,name,media", [("w:gz", "prod.tar.gz", "application/gzip"),
                                             ("w:bz2", "prod.tar.bz2", "application/x-bzip2"),
                                             ("w:xz", "prod.tar.xz", "application/x-xz"),
                                             ("w", "prod.tar", "application/x-tar")])
def test_tar_members_are_read_and_unsafe_ones_refused(raw, tmp_path, mode, name, media):
    members = {"mail/a.eml": eml("a@x"), "inner.zip": zip_bytes({"deep/c.eml": eml("c@x")}),
               "../escape.eml": eml("e@x"), "/abs.eml": eml("f@x")}
    compressed = mode != "w"
    if compressed:
        members["zeros.eml"] = BOMB
    data = tar_bytes(mode, members, symlinks={"link.eml": "/etc/passwd"})
    result, outcomes, payloads, messages = ingest(raw, tmp_path, {name: data})
    assert outcomes[name] == "file_observed"
    assert payloads[name][0] == "tar" and payloads[name][1]["media_type"] == media
    assert outcomes[f"{name}!/mail/a.eml"] == "file_observed"
    assert outcomes[f"{name}!/inner.zip"] == "file_observed"
    assert outcomes[f"{name}!/inner.zip!/deep/c.eml"] == "file_observed"
    why = reasons(result)
    assert "escapes" in why[f"{name}!/../escape.eml"] and "escapes" in why[f"{name}!//abs.eml"]
    assert "symbolic link" in why[f"{name}!/link.eml"]
    if compressed:
        assert "possible zip bomb" in why[f"{name}!/zeros.eml"]
    assert messages == [f"{name}!/inner.zip!/deep/c.eml", f"{name}!/mail/a.eml"]
    top = result.files[0]
    assert top.stats.expected_items == len(members) + 1
    assert (top.stats.extracted_items, top.stats.quarantined_items) == (2, len(members) + 1 - 2)
    assert not (tmp_path / "escape.eml").exists() and not (raw / "escape.eml").exists()


def test_tar_total_over_the_limit_is_refused_whole(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 1000)
    result, outcomes, _, _ = ingest(raw, tmp_path, {"big.tgz": tar_bytes("w:gz", {"a.eml": eml("a@x") * 20})})
    assert outcomes == {"big.tgz": "file_quarantined"}
    assert "possible zip bomb" in result.files[0].quarantine_reason


def test_single_gzip_file_is_one_member_and_a_corrupt_tar_is_quarantined(raw, tmp_path):
    files = {"note.eml.gz": gzip.compress(eml("g@x")), "broken.tar": b"not a tar at all" * 40,
             "cut.tar.gz": tar_bytes("w:gz", {"a.eml": eml("a@x") * 50})[:60]}
    result, outcomes, payloads, messages = ingest(raw, tmp_path, files)
    assert outcomes["note.eml.gz"] == "file_observed" and outcomes["note.eml.gz!/note.eml"] == "file_observed"
    assert payloads["note.eml.gz"][0] == "decompress"
    assert messages == ["note.eml.gz!/note.eml"]
    assert outcomes["broken.tar"] == "file_quarantined"
    assert reasons(result)["broken.tar"].startswith("unreadable tar")
    # a gzip stream cut short: read as one compressed file whose decompression fails
    assert "cut.tar.gz" in outcomes
    assert any(p.startswith("cut.tar.gz") and outcomes[p] == "file_quarantined" for p in outcomes)


def test_nesting_deeper_than_the_limit_is_refused(raw, tmp_path):
    data = eml("n@x")
    for level in range(4):
        data = tar_bytes("w:gz", {f"l{level}.eml" if level == 0 else f"l{level}.tgz": data})
    result, outcomes, _, messages = ingest(raw, tmp_path, {"top.tgz": data})
    assert messages == []
    assert any("nested deeper than 3 levels" in r for r in reasons(result).values())


def test_reingesting_a_tar_appends_nothing(raw, tmp_path):
    folder = write_release(raw, "rel", files={"p.tgz": tar_bytes("w:gz", {"a.eml": eml("a@x")})})
    with duckdb.connect(str(tmp_path / "b.duckdb")) as con:
        first = ingest_release(con, load_manifest(folder))
        again = ingest_release(con, load_manifest(folder))
    assert first.new_events > 0 and again.new_events == 0


# ---- 7z ---------------------------------------------------------------------------------------------

def seven_z(members: dict[str, bytes], **kwargs) -> bytes:
    py7zr = pytest.importorskip("py7zr")
    buf = io.BytesIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(py7zr.py7zr, "check_archive_path", lambda name: True)  # py7zr refuses to write `../x`
        with py7zr.SevenZipFile(buf, "w", **kwargs) as sz:
            for name, data in members.items():
                sz.writestr(data, name)
    return buf.getvalue()


def test_7z_members_are_read_and_unsafe_ones_refused(raw, tmp_path):
    data = seven_z({"mail/a.eml": eml("a@x"), "inner.zip": zip_bytes({"c.eml": eml("c@x")}),
                    "../escape.eml": eml("e@x"), "zeros.eml": BOMB, "empty.txt": b""})
    result, outcomes, payloads, messages = ingest(raw, tmp_path, {"prod.7z": data})
    assert outcomes["prod.7z"] == "file_observed" and payloads["prod.7z"][0] == "7z"
    assert payloads["prod.7z"][1]["media_type"] == "application/x-7z-compressed"
    assert messages == ["prod.7z!/inner.zip!/c.eml", "prod.7z!/mail/a.eml"]
    why = reasons(result)
    assert "escapes" in why["prod.7z!/../escape.eml"]
    assert "possible zip bomb" in why["prod.7z!/zeros.eml"]
    assert why["prod.7z!/empty.txt"] == "empty file"


def test_7z_symlink_member_is_refused(raw, tmp_path):
    py7zr = pytest.importorskip("py7zr")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.eml").write_bytes(eml("a@x"))
    (src / "link.eml").symlink_to("/etc/passwd")
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as sz:
        sz.write(src / "a.eml", "a.eml")
        sz.write(src / "link.eml", "link.eml")
    result, outcomes, _, messages = ingest(raw, tmp_path, {"l.7z": buf.getvalue()})
    assert "symbolic link" in reasons(result)["l.7z!/link.eml"]
    assert messages == ["l.7z!/a.eml"]


@pytest.mark.parametrize("header_encryption", [False, True])
def test_encrypted_7z_is_quarantined_password_required(raw, tmp_path, header_encryption):
    data = seven_z({"a.eml": eml("a@x")}, password="secret", header_encryption=header_encryption)
    result, outcomes, _, messages = ingest(raw, tmp_path, {"locked.7z": data})
    assert outcomes == {"locked.7z": "file_quarantined"} and messages == []
    assert result.files[0].quarantine_reason.startswith("password required: ")


def test_corrupt_7z_is_quarantined(raw, tmp_path):
    result, outcomes, _, _ = ingest(raw, tmp_path, {"bad.7z": archives.SEVEN_Z_MAGIC + b"\0" * 100})
    assert outcomes == {"bad.7z": "file_quarantined"}
    assert result.files[0].quarantine_reason.startswith("unreadable 7z archive")


def test_7z_member_lying_about_its_size_is_refused(tmp_path, monkeypatch):
    data = seven_z({"a.eml": eml("a@x"), "b.eml": eml("b@x")})
    (tmp_path / "x.7z").write_bytes(data)
    with archives.open_archive(tmp_path / "x.7z", "7z") as archive:
        members = archive.plan()
        members[0].size = 5  # as if the header declared 5 bytes
        out = archive.extract_all(members, tmp_path / "out")
    assert "beyond its declared size" in members[0].refusal and members[0].name not in out
    assert (tmp_path / "out" / members[1].name).read_bytes().startswith(b"From:")


# ---- PST --------------------------------------------------------------------------------------------

def _pst_file() -> Path | None:
    for folder in (FIXTURES / "real_world", FIXTURES / "pst"):
        found = sorted(folder.glob("*.pst")) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def read_all(reader, path: Path) -> tuple[list[dict], FileStats]:
    stats = FileStats()
    rows = [row for batch in reader.batches(path, stats) for row in batch.to_pylist()]
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows, stats


def test_pst_messages_with_folders_and_stats():
    pytest.importorskip("pypff", reason="libpff-python is not installed (pip install libpff-python)")
    path = _pst_file()
    if path is None:
        pytest.skip("no real PST file in tests/fixtures/pst or tests/fixtures/real_world")
    rows, stats = read_all(OutlookPstReader(), path)
    messages = [r for r in rows if r["event_type"] == "email_message"]
    assert messages and stats.extracted_items == len(messages)
    assert stats.expected_items == stats.extracted_items + stats.quarantined_items
    folders = stats.extra["folders"]
    assert sum(f["expected"] or 0 for f in folders) == stats.expected_items
    assert sum(f["extracted"] for f in folders) == stats.extracted_items
    keys = {"from", "to", "cc", "subject", "date_raw", "body_text", "attachments", "defects", "index", "folder_path"}
    for m in messages:
        assert keys <= set(m["payload"])
        assert m["payload"]["folder_path"] in {f["path"] for f in folders}
    assert [m["payload"]["index"] for m in messages] == sorted(m["payload"]["index"] for m in messages)
    if path.name == "testPST_variousBodyTypes.pst":
        assert stats.extra["format"] == "PST"
        assert {m["payload"]["folder_path"] for m in messages} == {"Top of Outlook data file/Inbox/tmp"}
        first = messages[0]["payload"]
        assert first["subject"] == "original email"
        assert first["from"][0]["email"] == "tallison@mitre.org"
        assert first["body_text"].startswith("This is the original email (html)")
        assert messages[0]["occurred_at"] == dt.datetime(2017, 8, 30, 19, 26, 3, tzinfo=dt.timezone.utc)
        assert all(m["payload"]["body_text"] for m in messages)


def test_pst_that_is_not_one_is_unreadable(tmp_path):
    pytest.importorskip("pypff", reason="libpff-python is not installed")
    bad = tmp_path / "x.pst"
    bad.write_bytes(b"!BDN" + b"\0" * 600)
    with pytest.raises(UnreadableFile, match="unreadable Outlook data file"):
        read_all(OutlookPstReader(), bad)


# ---- calendar invitations ---------------------------------------------------------------------------

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T020000\r\n"
    "END:STANDARD\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:evt-1@nypd.example\r\nSEQUENCE:2\r\n"
    "SUMMARY:Demo of facial recognition\\, phase 2\\; bring laptops\r\n"
    "DESCRIPTION:Agenda:\\n1. Intro\\n2. Trial accounts\\, questions. This line is folded\r\n"
    "  across two lines\r\n"
    "LOCATION:1 Police Plaza\\, Room 1100\r\n"
    "DTSTART;TZID=Eastern Standard Time:20190301T100000\r\nDTEND;TZID=Eastern Standard Time:20190301T110000\r\n"
    'ORGANIZER;CN="Officer, Ann":mailto:Ann@NYPD.example\r\n'
    "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;CN=Vic Vendor:mailto:vic@clearview.exa\r\n"
    " mple\r\n"
    "ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:bo@nypd.example\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nEND:VALARM\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:evt-2\r\nSUMMARY:All-day training\r\nDTSTART;VALUE=DATE:20190305\r\n"
    "DTEND;VALUE=DATE:20190306\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def test_ics_events_with_folded_lines_and_escaped_text(tmp_path):
    path = tmp_path / "invite.ics"
    path.write_bytes(ICS.encode())
    rows, stats = read_all(CalendarIcsReader(), path)
    assert [r["event_type"] for r in rows] == ["calendar_event", "calendar_event"]
    first, second = rows[0]["payload"], rows[1]["payload"]
    assert first["summary"] == "Demo of facial recognition, phase 2; bring laptops"
    assert first["description"] == "Agenda:\n1. Intro\n2. Trial accounts, questions. This line is folded across two lines"
    assert first["location"] == "1 Police Plaza, Room 1100"
    assert first["organizer"] == {"name": "Officer, Ann", "email": "ann@nypd.example"}
    assert first["attendees"] == [
        {"name": "Vic Vendor", "email": "vic@clearview.example", "role": "REQ-PARTICIPANT", "partstat": "NEEDS-ACTION"},
        {"name": None, "email": "bo@nypd.example", "role": "OPT-PARTICIPANT", "partstat": "ACCEPTED"}]
    assert (first["method"], first["sequence"], first["uid"], first["index"]) == ("REQUEST", 2, "evt-1@nypd.example", 0)
    assert first["start_raw"] == "20190301T100000" and first["start_tzid"] == "Eastern Standard Time"
    assert rows[0]["occurred_at"] == dt.datetime(2019, 3, 1, 15, 0, tzinfo=dt.timezone.utc)
    assert first["defects"] == []
    assert second["all_day"] is True and second["index"] == 1 and second["sequence"] is None
    assert rows[1]["occurred_at"] == dt.datetime(2019, 3, 5, tzinfo=dt.timezone.utc)
    assert (stats.expected_items, stats.extracted_items) == (2, 2)
    assert stats.extra["components"]["VEVENT"] == 2


def test_ics_without_a_calendar_is_unreadable(tmp_path):
    path = tmp_path / "x.ics"
    path.write_text("hello")
    with pytest.raises(UnreadableFile):
        read_all(CalendarIcsReader(), path)


# ---- contact cards ----------------------------------------------------------------------------------

VCF = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Officer\r\nN:Officer;Ann;Q.;Det.;\r\n"
    "EMAIL;TYPE=INTERNET,WORK:Ann@NYPD.example\r\nEMAIL;TYPE=HOME:ann@home.example\r\n"
    "TEL;TYPE=WORK,VOICE:+1 212 555 0100\r\nORG:NYPD;Intelligence Bureau\r\nTITLE:Detective\\, 1st grade\r\n"
    "NOTE:long note folded\r\n  over a line\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Vendor;Vic\r\nEMAIL;INTERNET:vic@clearview.example\r\n"
    "TEL;CELL:555-0199\r\nORG;ENCODING=QUOTED-PRINTABLE;CHARSET=utf-8:Clearview =C3=A4I\r\nEND:VCARD\r\n"
)


def test_vcf_cards(tmp_path):
    path = tmp_path / "contacts.vcf"
    path.write_bytes(VCF.encode())
    rows, stats = read_all(ContactVcfReader(), path)
    assert [r["event_type"] for r in rows] == ["contact_card", "contact_card"]
    ann, vic = rows[0]["payload"], rows[1]["payload"]
    assert ann["full_name"] == "Ann Officer" and ann["names"]["family"] == "Officer"
    assert ann["emails"] == ["ann@nypd.example", "ann@home.example"]
    assert ann["phones"] == [{"number": "+1 212 555 0100", "types": ["work", "voice"]}]
    assert (ann["org"], ann["org_units"], ann["title"], ann["index"]) == ("NYPD", ["Intelligence Bureau"], "Detective, 1st grade", 0)
    assert vic["full_name"] == "Vic Vendor" and "FN: missing, built from N" in vic["defects"]
    assert vic["emails"] == ["vic@clearview.example"] and vic["phones"] == [{"number": "555-0199", "types": ["cell"]}]
    assert vic["org"] == "Clearview \u00e4I" and vic["index"] == 1 and vic["version"] == "2.1"
    assert rows[0]["source_row"] == 1 and rows[1]["source_row"] == 13
    assert (stats.expected_items, stats.extracted_items) == (2, 2)


REAL_WORLD = REPO / "tests/fixtures/real_world/files"


def test_vcf_real_world_rfc2426_and_outlook_cards():
    rows, stats = read_all(ContactVcfReader(), REAL_WORLD / "ezvcard_rfc2426-example.vcf")
    frank, tim = rows[0]["payload"], rows[1]["payload"]
    assert frank["emails"] == ["frank_dawson@lotus.com", "fdawson@earthlink.net"]
    assert frank["emails_raw"] == ["Frank_Dawson@Lotus.com", "fdawson@earthlink.net"]
    assert frank["other"]["ADR"] == [";;6544 Battleford Drive;Raleigh;NC;27613-3502;U.S.A."]  # folded line
    assert frank["other"]["URL"] == ["http://home.earthlink.net/~fdawson"]
    assert tim["emails"] == ["howes@netscape.com"] and (stats.expected_items, stats.extracted_items) == (2, 2)
    rows, _ = read_all(ContactVcfReader(), REAL_WORLD / "ezvcard_outlook-2007.vcf")
    (card,) = [r["payload"] for r in rows]
    assert card["note"].startswith("This is the NOTE field") and "It does not preserve the formatting" in card["note"]
    assert card["version"] == "2.1" and card["emails"] == ["mike.angstadt@gmail.com"]
    assert card["other"]["NICKNAME"] == ["Mike"] and card["other"]["X-MS-IMADDRESS"] == ["im@aim.com"]
    assert card["other"]["LABEL"] == ["222 Broadway\r\nNew York, NY 99999\r\nUSA"]  # quoted-printable decoded
    assert {"KEY", "PHOTO", "BDAY", "ROLE", "ADR"} <= set(card["other"])


def test_vcf_groups_repeats_and_v4(tmp_path):
    vcf = ("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann\r\nFN:Ann Officer\r\nitem1.EMAIL;TYPE=work:Ann@X.example\r\n"
           "item1.X-ABLabel:_$!<Work>!$_\r\nTEL;VALUE=uri;TYPE=\"voice,cell\":tel:+1-555-0100\r\n"
           "NOTE:one\\, two\r\nNOTE:three\r\nEND:VCARD\r\n")
    path = tmp_path / "c.vcf"
    path.write_text(vcf)
    rows, _ = read_all(ContactVcfReader(), path)
    card = rows[0]["payload"]
    assert card["full_name"] == "Ann" and card["other"]["FN"] == ["Ann Officer"]
    assert card["emails"] == ["ann@x.example"] and card["other"]["X-ABLABEL"] == ["_$!<Work>!$_"]
    assert card["phones"] == [{"number": "+1-555-0100", "types": ["voice", "cell"]}]
    assert card["note"] == "one, two\n\nthree"


# ---- images -----------------------------------------------------------------------------------------

def test_images_frames_and_sizes(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    frames = [Image.new("L", (200, 100), 255), Image.new("L", (300, 150), 0)]
    tif = tmp_path / "scan.tif"
    frames[0].save(tif, save_all=True, append_images=frames[1:], dpi=(300, 300))
    rows, stats = read_all(ImageReader(), tif)
    frames = [r for r in rows if r["event_type"] == "page_image"]
    assert [r["payload"]["page"] for r in frames] == [1, 2]
    assert [(r["payload"]["width"], r["payload"]["height"]) for r in frames] == [(200, 100), (300, 150)]
    assert [r["payload"]["mode"] for r in frames] == ["L", "L"]
    assert stats.extra["frames"] == 2 and stats.extra["format"] == "TIFF" and stats.extra["dpi"] == [300.0, 300.0]
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif")):
        path = tmp_path / f"p.{ext}"
        Image.new("RGB", (40, 30), (255, 0, 0)).save(path, fmt)
        rows, stats = read_all(ImageReader(), path)
        assert [r["event_type"] for r in rows if r["event_type"] == "page_image"] == ["page_image"]
        assert (stats.extra["width"], stats.extra["height"], stats.extra["format"]) == (40, 30, fmt)


def test_image_over_the_pixel_limit_is_still_described(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    path = tmp_path / "huge.png"
    Image.new("1", (20000, 20000)).save(path)  # 400 MP: Image.open would refuse it as a bomb
    rows, stats = read_all(ImageReader(), path)
    assert (stats.extra["width"], stats.extra["height"]) == (20000, 20000)


# ---- fuzz: random bytes -> batches or UnreadableFile ------------------------------------------------

PREFIXES = {
    "calendar": (CalendarIcsReader, ".ics", [b"", b"BEGIN:VCALENDAR\r\n", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:"]),
    "contact": (ContactVcfReader, ".vcf", [b"", b"BEGIN:VCARD\r\n", b"BEGIN:VCARD\r\nN:"]),
    "image": (ImageReader, ".tif", [b"", b"II*\x00", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff"]),
    "pst": (OutlookPstReader, ".pst", [b"", b"!BDN", b"!BDN\x00\x00\x00\x00SM\x17\x00"]),
}


@pytest.mark.parametrize("kind", sorted(PREFIXES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_bytes_give_batches_or_unreadable(tmp_path, kind, data):
    reader_class, ext, prefixes = PREFIXES[kind]
    if kind == "pst":
        pytest.importorskip("pypff")
    prefix = data.draw(st.sampled_from(prefixes))
    body = data.draw(st.binary(max_size=2048) | st.text(max_size=1024).map(str.encode))
    path = tmp_path / f"fuzz{ext}"
    path.write_bytes(prefix + body)
    try:
        read_all(reader_class(), path)
    except UnreadableFile:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048), magic=st.sampled_from([b"", b"\x1f\x8b", b"BZh9", b"\xfd7zXZ\x00",
                                                              archives.SEVEN_Z_MAGIC]))
def test_random_archives_plan_or_fail_cleanly(tmp_path, data, magic):
    path = tmp_path / "fuzz.tar"
    path.write_bytes(magic + data)
    kind = archives.archive_kind(path)
    if kind is None:
        return
    try:
        with archives.open_archive(path, kind) as archive:
            members = archive.plan()
            archive.extract_all(members, tmp_path / "out")
    except (archives.BadArchive, archives.UnsafeArchive):
        pass
