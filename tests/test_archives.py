"""Zip archives: members become documents of their own; unsafe archives and members are refused."""
from __future__ import annotations

import io
import zipfile

import duckdb

from pipelines.lib import archives
from pipelines.lib.ingest import ingest_release
from pipelines.lib.manifest import load_manifest

from .conftest import eml, write_release


def zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def outcomes(raw, tmp_path, files):
    folder = write_release(raw, "rel", files=files)
    with duckdb.connect(str(tmp_path / "b.duckdb")) as con:
        result = ingest_release(con, load_manifest(folder))
        paths = dict(con.execute("""select source_path, event_type from raw.events
                                    where event_type in ('file_observed', 'file_quarantined')""").fetchall())
    return result, paths


def test_members_are_read_by_their_readers_and_cited_inside_the_archive(raw, tmp_path):
    inner = zip_bytes({"deep/c.eml": eml("c@x")})
    data = zip_bytes({"a.eml": eml("a@x"), "logs/s.csv": b"account_ref,searched_at\ncv-1,2019-01-01\n",
                      "notes.docx": b"PK\x03\x04 broken", "inner.zip": inner})
    result, paths = outcomes(raw, tmp_path, {"prod.zip": data})
    assert paths == {
        "prod.zip": "file_observed", "prod.zip!/a.eml": "file_observed", "prod.zip!/logs/s.csv": "file_observed",
        "prod.zip!/notes.docx": "file_quarantined", "prod.zip!/inner.zip": "file_observed",
        "prod.zip!/inner.zip!/deep/c.eml": "file_observed",
    }
    top = result.files[0]
    assert (top.stats.expected_items, top.stats.extracted_items, top.stats.quarantined_items) == (4, 3, 1)


def test_path_traversal_and_symlinks_are_refused(raw, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../escape.eml", eml("e@x"))
        zf.writestr("/abs.eml", eml("f@x"))
        link = zipfile.ZipInfo("link.eml")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
        zf.writestr("ok.eml", eml("g@x"))
    result, paths = outcomes(raw, tmp_path, {"bad.zip": buf.getvalue()})
    reasons = {f.path: f.quarantine_reason for f in result.files if f.quarantine_reason}
    assert "escapes" in reasons["bad.zip!/../escape.eml"] and "escapes" in reasons["bad.zip!//abs.eml"]
    assert "symbolic link" in reasons["bad.zip!/link.eml"]
    assert paths["bad.zip!/ok.eml"] == "file_observed"
    assert not (tmp_path / "escape.eml").exists() and not (raw / "escape.eml").exists()


def test_zip_bomb_is_refused_by_ratio_and_by_total(raw, tmp_path, monkeypatch):
    bomb = zip_bytes({"zeros.eml": b"\0" * (8 << 20)})
    result, paths = outcomes(raw, tmp_path, {"bomb.zip": bomb})
    reasons = {f.path: f.quarantine_reason for f in result.files if f.quarantine_reason}
    assert "zip bomb" in reasons["bomb.zip!/zeros.eml"]
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 1000)
    (raw / "rel").rename(raw / "old")
    result, paths = outcomes(raw, tmp_path / "..", {"big.zip": zip_bytes({"a.eml": eml("a@x") * 20})})
    assert "possible zip bomb" in result.files[0].quarantine_reason


def test_corrupt_zip_is_quarantined_with_the_reason(raw, tmp_path):
    result, paths = outcomes(raw, tmp_path, {"broken.zip": b"PK\x03\x04 not really"})
    assert paths == {"broken.zip": "file_quarantined"}
    assert "unreadable zip" in result.files[0].quarantine_reason


def test_reingesting_an_archive_appends_nothing(raw, tmp_path):
    files = {"prod.zip": zip_bytes({"a.eml": eml("a@x"), "b.eml": eml("b@x")})}
    folder = write_release(raw, "rel", files=files)
    with duckdb.connect(str(tmp_path / "b.duckdb")) as con:
        first = ingest_release(con, load_manifest(folder))
        again = ingest_release(con, load_manifest(folder))
    assert first.new_events > 0 and again.new_events == 0
    assert [f.path for f in again.files] == [f.path for f in first.files]
