"""mbox separators: only real From_ lines split messages; mboxo body lines such as 'From time to time' do not."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.readers.base import FileStats, UnreadableFile
from pipelines.readers.mbox import MboxReader, is_from_line, split_offsets

FIXTURE = Path(__file__).parent / "fixtures" / "real_world" / "files" / "cpython_mailbox_01.mbox"


def msg(n: int) -> bytes:
    return f"From: a{n}@x.example\nSubject: s{n}\n\nbody {n}\n".encode()


def read(path: Path):
    stats = FileStats()
    rows = [row for batch in MboxReader().batches(path, stats) for row in batch.to_pylist()]
    return stats, rows


def test_from_time_to_time_body_line_stays_in_its_message():
    data = FIXTURE.read_bytes()
    assert b"\nFrom time to time" in data
    assert split_offsets(data) == [0]


def test_fixture_reads_as_one_message(tmp_path):
    path = tmp_path / "one.mbox"
    path.write_bytes(FIXTURE.read_bytes())
    stats, rows = read(path)
    assert (stats.expected_items, stats.extracted_items, stats.quarantined_items) == (1, 1, 0)
    assert "From time to time" in rows[0]["payload"]


@pytest.mark.parametrize("line", [
    b"From bench@nypd.example Mon Mar  4 10:00:00 2019",
    b"From MAILER-DAEMON Sun Aug  7 11:40:37 2022 extra info",
    b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011",
    b"From a@b.example Mon Oct  1 10:00:00 2018 -0500",
    b"From a@b.example Mon Oct  1 10:00:00 -0500 2018",
    b"From a@b.example Mon Oct  1 10:00:00 EST 2018",
    b"From a@b.example Sat, 20 Nov 2004 10:00:00 -0500",
    b"From a@b.example 20 Nov 2004 10:00:00 +0000",
    b"From a@b.example Oct 1 10:00 2018",
    b"From - Sat Nov 20 10:00:00 2004",
    b"From 1234567890@xxx Sat Nov 20 10:00:00 +0000 2004",
    b"From a@b.example  Mon Oct  1 10:00:00 2018\r",
])
def test_real_from_lines_split(line):
    assert is_from_line(line)
    data = line + b"\n" + msg(1) + b"\n" + line + b"\n" + msg(2)
    assert split_offsets(data) == [0, len(line) + 1 + len(msg(1)) + 1]


@pytest.mark.parametrize("line", [
    b"From time to time",
    b"From the desk of the unit: see attached.",
    b"From Monday on, 10 people will join",
    b"From: someone@x.example",
    b"From 10:00 to 11:00 in 2019",
])
def test_body_lines_do_not_split(line):
    assert not is_from_line(line)
    first = b"From a@x Mon Oct  1 10:00:00 2018\n" + msg(1)
    assert split_offsets(first + line + b"\n" + msg(2)) == [0]


def test_first_line_not_from_still_refused(tmp_path):
    path = tmp_path / "fake.mbox"
    path.write_bytes(b"Subject: no separator\n\nFrom a@x Mon Oct  1 10:00:00 2018\n" + msg(1))
    with pytest.raises(UnreadableFile, match="not an mbox"):
        list(MboxReader().batches(path, FileStats()))


def test_separators_do_not_depend_on_scan_chunks(monkeypatch):
    from pipelines.readers import mbox

    parts = [b"From x%d Mon Oct  1 10:00:00 2018\n" % i + msg(i) + (b"From time to time\n" if i % 3 else b"") for i in range(60)]
    data = b"".join(parts)
    whole = split_offsets(data)
    assert len(whole) == 60
    for size in (7, 40, 41, 100, 333):
        monkeypatch.setattr(mbox, "RELEASE_BYTES", size)
        assert split_offsets(data) == whole


def test_parallel_read_keeps_unescaped_from_lines_in_the_body(tmp_path, monkeypatch):
    from pipelines.readers import mbox

    parts = [b"From x%d Mon Oct  1 10:00:00 2018\n" % i + msg(i) + b"From time to time\n" for i in range(23)]
    path = tmp_path / "box.mbox"
    path.write_bytes(b"".join(parts))
    sequential = read(path)
    monkeypatch.setattr(mbox, "PARALLEL_MIN", 1)
    monkeypatch.setattr(mbox, "CHUNK", 4)
    monkeypatch.setenv("FOIL_INGEST_WORKERS", "2")  # a 2-worker LocalCluster even on one core
    assert read(path) == sequential
    assert (sequential[0].expected_items, sequential[0].extracted_items) == (23, 23)
