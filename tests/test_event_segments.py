"""The event log as Parquet segments: content-addressed files, recorded with the view in one transaction,
orphans of a crash removed on resume, and a log kept as a table (before segments) moved into segments."""
from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from pipelines.lib import event_log
from pipelines.lib.ingest import ingest_release
from pipelines.lib.manifest import load_manifest

from .conftest import eml, write_release

FILES = {f"m{i}.eml": eml(f"m{i}@nypd.example", subject=f"S{i}") for i in range(3)}


def ingest(db: Path, folder: Path):
    with duckdb.connect(str(db)) as con:
        return ingest_release(con, load_manifest(folder))


def rows(db: Path, query: str):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


def test_segments_are_named_by_their_content_and_recorded(raw, tmp_path):
    db = tmp_path / "build.duckdb"
    ingest(db, write_release(raw, "rel", files=FILES))
    recorded = rows(db, "select path, release_id, events from raw.segments")
    files = sorted((tmp_path / "build.segments" / "rel").iterdir())
    assert {Path(p).name for p, _, _ in recorded} == {f.name for f in files}
    for f in files:
        assert f.name == hashlib.sha256(f.read_bytes()).hexdigest() + ".parquet"
    # one segment per reader and version: the release's own events (ingest) and the emails (eml)
    assert {parser for (parser,) in rows(db, "select parser from raw.segments")} == {"ingest", "eml"}
    assert sum(n for _, _, n in recorded) == rows(db, "select count(*) from raw.events")[0][0]


def test_a_segment_written_but_never_recorded_is_removed_and_not_counted(raw, tmp_path, monkeypatch):
    db = tmp_path / "build.duckdb"
    folder = write_release(raw, "rel", files=FILES)

    def crash(con, written):
        raise KeyboardInterrupt  # killed between writing the segment and recording it

    monkeypatch.setattr(event_log, "_record", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest(db, folder)
    orphans = list((tmp_path / "build.segments" / "rel").glob("*.parquet"))
    assert orphans and rows(db, "select count(*) from raw.segments") == [(0,)]
    assert rows(db, "select count(*) from raw.events") == [(0,)]
    monkeypatch.undo()

    result = ingest(db, folder)
    assert result.documents == len(FILES)
    left = {f.name for f in (tmp_path / "build.segments" / "rel").glob("*.parquet")}
    assert left == {Path(p).name for (p,) in rows(db, "select path from raw.segments")}
    assert rows(db, "select count(*) - count(distinct event_id) from raw.events") == [(0,)]
    assert rows(db, "select count(*) from raw.events where event_type = 'email_message'") == [(len(FILES),)]


def test_a_log_kept_as_a_table_moves_into_segments_with_the_same_events(raw, tmp_path):
    folder = write_release(raw, "rel", files=FILES)
    db = tmp_path / "build.duckdb"
    ingest(db, folder)
    before = rows(db, f"select {event_log.NAMES} from raw.events order by event_id")
    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as con:  # the layout before segments: raw.events a table
        con.execute(f"attach '{db}' as new (read_only)")
        con.execute("create schema raw")
        con.execute(f"create table raw.events as select {event_log.NAMES} from new.raw.events")
    again = ingest(old, folder)
    assert again.new_events == 0
    assert rows(old, "select table_type from information_schema.tables where table_name = 'events'") == [("VIEW",)]
    assert rows(old, f"select {event_log.NAMES} from raw.events order by event_id") == before
