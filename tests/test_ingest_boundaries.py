"""A release reads only its own regular files, and a zipped production reads its own members."""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile

import duckdb

from pipelines.lib.ingest import ingest_release
from pipelines.lib.manifest import load_manifest

from .conftest import eml, write_release
from .test_meetings_and_cards import ICS
from .test_readers_loadfile import EMAIL, HEADER, concordance


def ingest(db, folder):
    with duckdb.connect(str(db)) as con:
        return ingest_release(con, load_manifest(folder))


def payloads(db) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return "\n".join(r[0] for r in con.execute("select payload::varchar from raw.events").fetchall())


def test_links_pipes_and_dangling_links_are_quarantined_never_read(raw, tmp_path):
    secret = tmp_path / "outside.txt"
    secret.write_text("OUTSIDE SECRET never to be read")
    folder = write_release(raw, "rel", files={"emails/a.eml": eml("a@nypd.example")})
    os.symlink(secret, folder / "emails" / "b.eml")
    os.symlink("/etc/passwd", folder / "passwd.txt")
    os.symlink(tmp_path / "missing", folder / "dangling.eml")
    os.symlink(folder / "loop", folder / "loop")
    os.symlink(tmp_path, folder / "linked_dir")
    os.mkfifo(folder / "pipe.eml")
    result = ingest(tmp_path / "b.duckdb", folder)
    reasons = {f.path: f.quarantine_reason for f in result.files if f.quarantine_reason}
    assert set(reasons) == {"emails/b.eml", "passwd.txt", "dangling.eml", "loop", "linked_dir", "pipe.eml"}
    assert all("symbolic link" in reasons[p] for p in ("emails/b.eml", "passwd.txt", "dangling.eml", "loop", "linked_dir"))
    assert "not a regular file" in reasons["pipe.eml"]
    text = payloads(tmp_path / "b.duckdb")
    assert "OUTSIDE SECRET" not in text and "root:x:0:0" not in text
    assert result.documents == 1
    # the next build finds the same entries and refuses nothing
    assert ingest(tmp_path / "b.duckdb", folder).new_events == 0


def test_a_zipped_load_file_reads_its_sibling_members_and_nothing_outside(raw, tmp_path):
    (tmp_path / "secret.txt").write_text("TEMP SECRET outside the archive")
    escape = EMAIL[:12] + [r"..\..\..\secret.txt", ""]
    inside = EMAIL[:12] + [r"VOL001\TEXT\NYPD-CV-001001.txt", ""]
    dat = concordance([HEADER, inside, escape]).encode("cp1252")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("VOL001/DATA/VOL001.dat", dat)
        zf.writestr("VOL001/TEXT/NYPD-CV-001001.txt", "SYNTHETIC SAMPLE\r\nBody from a sibling member.\r\n")
    folder = write_release(raw, "rel", files={"production.zip": buf.getvalue()})
    result = ingest(tmp_path / "b.duckdb", folder)
    assert not [f for f in result.files if f.quarantine_reason]
    text = payloads(tmp_path / "b.duckdb")
    assert "Body from a sibling member." in text
    assert "TEMP SECRET" not in text and "outside release refused" in text
    observed = [json.loads(p) for p in text.splitlines() if '"reader":"zip"' in p]
    assert observed and observed[0]["extracted_items"] == 2


def test_a_small_file_is_opened_once_and_what_is_parsed_is_what_was_hashed(raw, tmp_path, monkeypatch):
    """Hash, sniffing and reader share one read through open_regular: no second open by name, which a
    link swapped in after the hash would have followed, and no events parsed from other bytes than the
    ones their source_sha256 names."""
    files = {"emails/a.eml": eml("a@nypd.example"), "notes/cover.txt": "Cover letter for the production.\n",
             "calendar/demo.ics": ICS}
    folder = write_release(raw, "rel", files=files)
    release_files = {str(folder / rel) for rel in files}
    opened_by_name = []
    real_open = io.open

    def watched(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) in release_files:
            opened_by_name.append(os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", watched)
    monkeypatch.setattr("builtins.open", watched)
    result = ingest(tmp_path / "b.duckdb", folder)
    assert opened_by_name == []
    assert {f.path: (f.reader, f.quarantine_reason) for f in result.files} == {
        "emails/a.eml": ("eml", None), "notes/cover.txt": ("plain_text", None), "calendar/demo.ics": ("calendar_ics", None)}
    with duckdb.connect(str(tmp_path / "b.duckdb"), read_only=True) as con:
        hashed = dict(con.execute("select distinct source_path, source_sha256 from raw.events "
                                  "where event_type = 'file_observed'").fetchall())
    assert hashed == {rel: hashlib.sha256((folder / rel).read_bytes()).hexdigest() for rel in files}
