"""The event log: deterministic ids, idempotent re-ingest, immutability, nothing lost."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.ingest import ReleaseChanged, ingest_release
from pipelines.lib.manifest import load_manifest

from .conftest import eml, write_release

FILES = {
    "emails/a.eml": eml("a@nypd.example"),
    "emails/b.eml": eml("b@nypd.example", subject="Second"),
    "box.mbox": b"From x Mon Oct  1 10:00:00 2018\n" + eml("c@x").replace(b"\r\n", b"\n") + b"\nFrom y Mon Oct  1 10:00:00 2018\n\n",
    "records/log.csv": "account_ref,searched_at\ncv-1,2019-01-01T00:00:00Z\ncv-1,2019-01-02T00:00:00Z\n",
    "cover.docx": b"PK\x03\x04 fake",
    "empty.eml": b"",
}


def ingest(db, folder):
    with duckdb.connect(str(db)) as con:
        return ingest_release(con, load_manifest(folder))


def events(db):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select event_id, event_type, source_path from raw.events order by event_id").fetchall()


def test_every_file_is_a_document_or_quarantined(raw, tmp_path):
    folder = write_release(raw, "rel", files=FILES)
    result = ingest(tmp_path / "b.duckdb", folder)
    assert result.documents + result.quarantined == len(FILES) == len(result.files)
    reasons = {f.path: f.quarantine_reason for f in result.files if f.quarantine_reason}
    assert reasons == {"cover.docx": "unreadable DOCX: BadZipFile: File is not a zip file", "empty.eml": "empty file"}
    kinds = [e[1] for e in events(tmp_path / "b.duckdb")]
    assert kinds.count("email_message") == 3 and kinds.count("search_log_row") == 2
    assert kinds.count("item_quarantined") == 1 and kinds.count("release_registered") == 1


def test_reingest_appends_nothing_and_ids_are_deterministic(raw, tmp_path):
    folder = write_release(raw, "rel", files=FILES)
    first = ingest(tmp_path / "one.duckdb", folder)
    again = ingest(tmp_path / "one.duckdb", folder)
    assert first.new_events > 0 and again.new_events == 0
    ingest(tmp_path / "two.duckdb", folder)  # a fresh database gets the very same ids
    assert events(tmp_path / "one.duckdb") == events(tmp_path / "two.duckdb")


@pytest.mark.parametrize("change", ["modify", "add", "remove", "manifest"])
def test_changed_release_is_refused_and_old_events_stay(raw, tmp_path, change):
    folder = write_release(raw, "rel", files=FILES)
    db = tmp_path / "b.duckdb"
    ingest(db, folder)
    before = events(db)
    if change == "modify":
        (folder / "emails/a.eml").write_bytes(eml("a@nypd.example", body="edited"))
    elif change == "add":
        (folder / "emails/new.eml").write_bytes(eml("new@x"))
    elif change == "remove":
        (folder / "emails/b.eml").unlink()
    else:
        (folder / "release.yaml").write_text((folder / "release.yaml").read_text() + "title: changed\n")
    with pytest.raises(ReleaseChanged, match="supersedes: \\[rel\\]"):
        ingest(db, folder)
    assert events(db) == before


def test_a_reader_crash_quarantines_that_file_only(raw, tmp_path, monkeypatch):
    from pipelines.readers import mbox

    original = mbox.MboxReader.batches

    def boom(self, path, stats):
        yield next(original(self, path, stats))  # a batch is appended, then rolled back
        raise RuntimeError("simulated reader bug")

    monkeypatch.setattr(mbox.MboxReader, "batches", boom)
    folder = write_release(raw, "rel", files=FILES)
    result = ingest(tmp_path / "b.duckdb", folder)
    reasons = {f.path: f.quarantine_reason for f in result.files if f.quarantine_reason}
    assert "simulated reader bug" in reasons["box.mbox"]
    assert result.documents == 3
    assert not [e for e in events(tmp_path / "b.duckdb") if e[2] == "box.mbox" and e[1] != "file_quarantined"]


def test_large_files_commit_in_chunks_and_a_late_failure_leaves_no_file_observed(raw, tmp_path, monkeypatch):
    from pipelines.lib import ingest as ingest_mod
    from pipelines.readers import record_csv

    monkeypatch.setattr(record_csv, "BATCH_ROWS", 2)
    monkeypatch.setattr(ingest_mod, "COMMIT_ROWS", 2)
    monkeypatch.setattr(ingest_mod, "FILE_BUFFER_ROWS", 2)  # a "large" file: written as it is read
    rows = "".join(f"cv-1,2019-01-{d:02d}T00:00:00Z\n" for d in range(1, 8))
    folder = write_release(raw, "rel", files={"log.csv": "account_ref,searched_at\n" + rows})
    first = ingest(tmp_path / "ok.duckdb", folder)
    assert first.files[0].quarantine_reason is None and first.files[0].stats.extracted_items == 7
    kinds = [e[1] for e in events(tmp_path / "ok.duckdb")]
    assert kinds.count("search_log_row") == 7 and kinds.count("file_observed") == 1
    assert ingest(tmp_path / "ok.duckdb", folder).new_events == 0

    original = record_csv.SearchLogCsvReader.batches

    def fails_late(self, path, stats):
        batches = original(self, path, stats)
        yield next(batches)
        yield next(batches)
        raise RuntimeError("disk error half-way")

    monkeypatch.setattr(record_csv.SearchLogCsvReader, "batches", fails_late)
    failed = ingest(tmp_path / "bad.duckdb", folder)
    assert "disk error half-way" in failed.files[0].quarantine_reason
    kinds = [e[1] for e in events(tmp_path / "bad.duckdb")]
    # the first committed chunk stays in the log (nothing is deleted) but, with no file_observed,
    # staging never uses it (stg_events__events unit test)
    assert "file_observed" not in kinds and kinds.count("file_quarantined") == 1
    assert 0 < kinds.count("search_log_row") < 7
