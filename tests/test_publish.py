"""Write-audit-publish: the swap is atomic, readers keep their snapshot, the previous file is kept."""
from __future__ import annotations

import duckdb

from pipelines.lib import duck
from pipelines.lib.publish import file_sha256, publish


def make_build(path, n):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts; create schema if not exists raw")
        con.execute("create or replace table marts.accounts as select range as account_id from range(?)", [n])
        con.execute("create or replace table raw.events as select 'e' || range as event_id, 'rel' as release_id from range(?)", [n])
        con.execute("create or replace table marts.releases as select 'rel' as release_id")


def test_publish_swaps_while_a_reader_holds_the_old_file(tmp_path):
    build, wh, prev = tmp_path / "build.duckdb", tmp_path / "pub" / "analytics.duckdb", tmp_path / "state" / "prev.duckdb"
    make_build(build, 3)
    info = publish(build, wh, prev, {"run_id": "r1"})
    assert info["row_counts"] == {"accounts": 3, "releases": 1, "events": 3} and info["releases"] == ["rel"]
    assert info["sha256"] == file_sha256(wh)
    first = file_sha256(wh)

    reader = duckdb.connect(str(wh), read_only=True)
    make_build(build, 5)
    publish(build, wh, prev, {"run_id": "r2"})
    # the open reader keeps its snapshot; a new reader sees the new file
    assert reader.execute("select count(*) from accounts").fetchone()[0] == 3
    reader.close()
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select count(*) from accounts").fetchone()[0] == 5
        assert con.execute("select run_id from build_info").fetchone()[0] == "r2"
    assert file_sha256(prev) == first
    assert not list(wh.parent.glob("*.tmp")) and not list(wh.parent.glob("*.wal"))


def storage_number(path) -> int:
    """The storage-format number in a DuckDB file header (after the 'DUCK' magic)."""
    header = path.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    return int.from_bytes(header[12:20], "little")


def test_published_file_uses_the_older_storage_format(tmp_path):
    build, wh = tmp_path / "build.duckdb", tmp_path / "analytics.duckdb"
    make_build(build, 40000)
    publish(build, wh, tmp_path / "prev.duckdb", {})
    # the build file has DuckDB 2.0's default format; the published one the v1.4-readable format
    assert storage_number(wh) < storage_number(build)
    # in row groups small enough for a scan of a mid-sized mart to use every core
    with duckdb.connect(str(wh), read_only=True) as con:
        groups = con.execute("select count(distinct row_group_id) from pragma_storage_info('accounts')").fetchone()[0]
    assert groups == -(-40000 // duck.ROW_GROUP_ROWS)
