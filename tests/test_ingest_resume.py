"""An interrupted ingest loses nothing and resumes; transient failures never become quarantine rows."""
from __future__ import annotations

import errno
import os
import subprocess
import sys

import duckdb
import pytest

from pipelines.lib import ingest as ingest_mod
from pipelines.lib.ingest import ReleaseChanged, ingest_release, is_complete
from pipelines.lib.manifest import load_manifest
from pipelines.readers import eml as eml_mod

from .conftest import REPO, eml, ingest_script, write_release

FILES = {f"emails/{n:03d}.eml": eml(f"m{n}@nypd.example", subject=f"Message {n}") for n in range(40)}


def ingest(db, folder):
    with duckdb.connect(str(db)) as con:
        return ingest_release(con, load_manifest(folder))


def rows(db, query):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


def event_ids(db):
    return rows(db, "select event_id from raw.events order by event_id")


def fail_at(monkeypatch, name: str, exc: BaseException):
    """Make the eml reader raise `exc` when it reaches file `name` (after the files before it)."""
    original = eml_mod.EmlReader.batches

    def batches(self, path, stats):
        if path.name == name:
            raise exc
        yield from original(self, path, stats)

    monkeypatch.setattr(eml_mod.EmlReader, "batches", batches)


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), MemoryError(), OSError(errno.ENOSPC, "No space left on device"),
                                 duckdb.OutOfMemoryException("could not allocate"), OSError(errno.EIO, "I/O error")])
def test_transient_failure_fails_the_ingest_without_quarantine_and_the_next_run_resumes(raw, tmp_path, monkeypatch, exc):
    folder = write_release(raw, "rel", files=FILES)
    monkeypatch.setattr(ingest_mod, "GROUP_FILES", 10)
    db = tmp_path / "b.duckdb"
    with monkeypatch.context() as m:
        fail_at(m, "025.eml", exc)
        with pytest.raises(type(exc)):
            ingest(db, folder)
    # the groups before the failure are committed; nothing says anything about the failed file
    done = {r[0] for r in rows(db, "select source_path from raw.events where event_type = 'file_observed'")}
    assert 10 <= len(done) < 25 and done == {f"emails/{n:03d}.eml" for n in range(len(done))}
    assert rows(db, "select count(*) from raw.events where event_type like '%quarantined'") == [(0,)]
    with duckdb.connect(str(db)) as con:
        assert not is_complete(con, "rel")

    resumed = ingest(db, folder)  # not refused as "changed": the release was never complete
    assert resumed.documents == len(FILES) and resumed.quarantined == 0
    ingest(tmp_path / "clean.duckdb", folder)
    assert event_ids(db) == event_ids(tmp_path / "clean.duckdb")


def test_content_failure_still_quarantines_that_file_alone(raw, tmp_path, monkeypatch):
    folder = write_release(raw, "rel", files=FILES)
    fail_at(monkeypatch, "007.eml", ValueError("bad header"))
    result = ingest(tmp_path / "b.duckdb", folder)
    reasons = {f.path: f.quarantine_reason for f in result.files if f.quarantine_reason}
    assert reasons == {"emails/007.eml": "eml reader failed: ValueError: bad header"}
    assert result.documents == len(FILES) - 1


def test_olefile_style_oserror_without_errno_is_content(raw, tmp_path, monkeypatch):
    folder = write_release(raw, "rel", files=FILES)
    fail_at(monkeypatch, "003.eml", OSError("not an OLE2 structured storage file"))
    result = ingest(tmp_path / "b.duckdb", folder)
    assert [f.path for f in result.files if f.quarantine_reason] == ["emails/003.eml"]


def interrupted(raw, db, monkeypatch):
    """A release whose ingest a Ctrl-C cut short at its 16th file (after a committed group)."""
    folder = write_release(raw, "rel", files=FILES)
    monkeypatch.setattr(ingest_mod, "GROUP_FILES", 10)
    with monkeypatch.context() as m:
        fail_at(m, "015.eml", KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            ingest(db, folder)
    return folder


def test_a_file_added_to_an_interrupted_release_is_read_but_one_added_to_a_complete_release_is_refused(raw, tmp_path, monkeypatch):
    db = tmp_path / "b.duckdb"
    folder = interrupted(raw, db, monkeypatch)
    (folder / "emails/late.eml").write_bytes(eml("late@nypd.example"))  # e.g. the copy was still running
    assert ingest(db, folder).documents == len(FILES) + 1
    (folder / "emails/later.eml").write_bytes(eml("later@nypd.example"))
    with pytest.raises(ReleaseChanged, match="later.eml added"):
        ingest(db, folder)


def test_a_changed_committed_file_in_an_interrupted_release_is_still_refused(raw, tmp_path, monkeypatch):
    db = tmp_path / "b.duckdb"
    folder = interrupted(raw, db, monkeypatch)
    (folder / "emails/000.eml").write_bytes(eml("m0@nypd.example", body="edited after it was read"))
    with pytest.raises(ReleaseChanged, match="000.eml changed"):
        ingest(db, folder)


def test_many_small_files_take_few_commits(raw, tmp_path, monkeypatch):
    """Durability does not cost a commit per file: files are committed in groups."""
    folder = write_release(raw, "rel", files=FILES)
    commits = []
    original = ingest_mod._Writer.commit

    def counting(self):
        commits.append(1)
        original(self)

    monkeypatch.setattr(ingest_mod._Writer, "commit", counting)
    assert ingest(tmp_path / "b.duckdb", folder).documents == len(FILES)
    assert len(commits) <= 2


def test_an_item_over_the_memory_cap_fails_the_run_not_the_file_and_a_higher_cap_reads_it(raw, tmp_path, monkeypatch):
    """One 50 MB line among good messages: DuckDB's cap is the machine's limit, not the mailbox's fault."""
    from pipelines.lib import duck

    def msg(i, body):
        return (f"From x Mon Oct  1 10:00:00 2018\nFrom: a@nypd.example\nSubject: m{i}\nMessage-ID: <m{i}@x>\n\n"
                f"{body}\n").encode()

    folder = write_release(raw, "rel", files={"box.mbox": msg(1, "hello") + msg(2, "A" * 50_000_000) + msg(3, "bye")})
    db = tmp_path / "b.duckdb"
    monkeypatch.setenv("FOIL_DUCKDB_MEMORY", "40MB")
    with pytest.raises(duckdb.OutOfMemoryException):  # the real error, not "transaction is aborted"
        with duck.connect(db) as con:
            ingest_release(con, load_manifest(folder))
    assert rows(db, "select count(*) from raw.events where event_type like '%quarantined'") == [(0,)]
    monkeypatch.setenv("FOIL_DUCKDB_MEMORY", "1GB")
    with duck.connect(db) as con:
        result = ingest_release(con, load_manifest(folder))
    assert result.files[0].quarantine_reason is None and result.files[0].stats.extracted_items == 3


KILLED_INGEST = ingest_script('os.kill(os.getpid(), signal.SIGKILL)', group_files=50)


def test_kill9_mid_release_of_many_small_files_then_rerun_reads_every_file_exactly_once(raw, tmp_path):
    """A release of many small files read by worker processes, the build killed with SIGKILL between
    group commits: the rerun reads only the rest, every file has exactly one outcome, no event twice,
    and the ids are those of an uninterrupted ingest."""
    files = {f"emails/{n:04d}.eml": eml(f"k{n}@nypd.example", subject=f"Kill {n}") for n in range(600)}
    files["emails/empty.eml"] = b""  # a quarantined file among them
    folder = write_release(raw, "rel", files=files)
    db = tmp_path / "b.duckdb"
    env = {**os.environ, "FOIL_INGEST_WORKERS": "2"}  # workers even on a one-core runner
    killed = subprocess.run([sys.executable, "-c", KILLED_INGEST, str(db), str(folder)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    committed = [r[0] for r in rows(db, "select source_path from raw.events where event_type = 'file_observed'")]
    assert 0 < len(committed) < len(files)
    assert sorted(committed) == sorted(files)[:len(committed)]  # the first files of the listing, whole
    with duckdb.connect(str(db)) as con:
        assert not is_complete(con, "rel")

    resumed = ingest(db, folder)
    assert resumed.documents == len(files) - 1 and resumed.quarantined == 1
    outcomes = rows(db, """select source_path, count(*) from raw.events
                           where event_type in ('file_observed', 'file_quarantined') group by 1""")
    assert sorted(outcomes) == [(path, 1) for path in sorted(files)]
    assert rows(db, "select count(*) - count(distinct event_id) from raw.events") == [(0,)]
    ingest(tmp_path / "clean.duckdb", folder)
    assert event_ids(db) == event_ids(tmp_path / "clean.duckdb")


def test_workers_and_one_process_write_the_same_events(raw, tmp_path, monkeypatch):
    """The pool is an optimisation only: the same release read in this process gives the same ids."""
    files = {f"emails/{n:03d}.eml": eml(f"w{n}@nypd.example", subject=f"W {n}") for n in range(60)}
    files.update({"empty.eml": b"", "notes.txt": b"plain text\n", "log.csv": b"account_ref,searched_at\ncv-1,2019-01-01T00:00:00Z\n"})
    folder = write_release(raw, "rel", files=files)
    monkeypatch.setattr(ingest_mod, "POOL_MIN_FILES", 16)  # workers for this small release
    monkeypatch.setenv("FOIL_INGEST_WORKERS", "2")
    pooled = ingest(tmp_path / "pool.duckdb", folder)
    monkeypatch.setenv("FOIL_INGEST_WORKERS", "1")
    alone = ingest(tmp_path / "alone.duckdb", folder)
    assert [(f.path, f.reader, f.quarantine_reason) for f in pooled.files] == \
        [(f.path, f.reader, f.quarantine_reason) for f in alone.files]
    assert event_ids(tmp_path / "pool.duckdb") == event_ids(tmp_path / "alone.duckdb")
    assert pooled.new_events == alone.new_events > len(files)

    monkeypatch.setenv("FOIL_INGEST_WORKERS", "2")  # again: nothing new, and a changed file is refused
    assert ingest(tmp_path / "pool.duckdb", folder).new_events == 0
    (folder / "emails/007.eml").write_bytes(eml("changed@nypd.example"))
    with pytest.raises(ReleaseChanged, match="emails/007.eml changed"):
        ingest(tmp_path / "pool.duckdb", folder)
