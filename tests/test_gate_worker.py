"""The gate helper process (pipelines/lib/gate_worker.py): same verdicts as in-process, clear failures."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib import gate_worker
from pipelines.lib.gates import check_table

from .test_gates import SPEC


@pytest.fixture
def build_db(tmp_path):
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("""create schema marts; create table marts.searches as
            select 's' || i as search_id, case when i = 4 then 0 else 1 end as search_count,
                   'rel' as release_id, 'doc' || i as document_id
            from range(8) t(i)""")
    yield db
    gate_worker.stop()


def test_the_helper_gives_the_in_process_verdict_and_a_preview(build_db):
    gate_worker.start()
    result, rows, preview, read_from = gate_worker.check(build_db, "searches", SPEC)
    expected, expected_rows, _ = check_table(build_db, "searches", SPEC)
    assert read_from == "build database"
    assert (result, rows) == (expected, expected_rows) and not result.success
    assert result.failures[0]["sources"] == ["rel/doc4"]
    assert preview.splitlines()[0] == "| search_id | search_count | release_id | document_id |"
    assert len(preview.splitlines()) == 2 + 5


def test_a_check_that_fails_in_the_helper_names_the_mart_and_the_cause(build_db):
    with pytest.raises(RuntimeError, match=r"marts\.nosuch(.|\n)*Table with name nosuch does not exist"):
        gate_worker.check(build_db, "nosuch", SPEC)
    # the helper survives a failed check
    assert gate_worker.check(build_db, "searches", SPEC)[1] == 8


def test_a_helper_that_dies_is_reported_and_replaced(build_db):
    helper = gate_worker.start()
    helper.kill()
    helper.wait()
    assert gate_worker.check(build_db, "searches", SPEC)[1] == 8  # a dead helper is replaced before a check
    gate_worker.start().stdin.close()  # ends the helper while the next check waits on it
    with pytest.raises(RuntimeError, match=r"gate helper process ended \(exit code 0\) while checking marts\.searches"):
        gate_worker.check(build_db, "searches", SPEC)


def test_stop_ends_the_helper(build_db):
    helper = gate_worker.start()
    gate_worker.stop()
    assert helper.poll() == 0
    gate_worker.stop()  # stopping twice is harmless
    # without waiting: the helper is gone from use at once, ends on its own and is reaped at exit
    helper = gate_worker.start()
    gate_worker.stop(wait=False)
    assert gate_worker.start() is not helper
    assert helper.wait(timeout=30) == 0 and helper in gate_worker._ending
    gate_worker._stop_all()
    assert gate_worker._ending == []


def _dbt_holding(build_db):
    """A writable connection like dbt's: while it is open no other process can open the file."""
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{build_db}' as build")
    return con


def test_a_prefetched_mart_is_checked_while_another_connection_holds_the_database(build_db):
    expected = check_table(build_db, "searches", SPEC)
    gate_worker.begin(build_db)
    con = _dbt_holding(build_db)
    gate_worker.prefetch(con.cursor(), '"build"."marts"."searches"', build_db, "searches", SPEC)
    snapshot = build_db.parent / "gate_snapshots" / "searches.parquet"
    assert snapshot.exists()
    # the helper could not open build_db now: the verdict comes from the snapshot
    result, rows, preview, read_from = gate_worker.check(build_db, "searches", SPEC)
    assert read_from == "snapshot"
    assert (result, rows) == expected[:2] and result.failures[0]["sources"] == ["rel/doc4"]
    assert preview.splitlines()[0] == "| search_id | search_count | release_id | document_id |"
    assert not snapshot.exists()  # used once, then removed
    # the snapshot is spent: a second check reads the database, which is still held
    with pytest.raises(RuntimeError, match="marts.searches"):
        gate_worker.check(build_db, "searches", SPEC)
    con.close()


def test_the_snapshot_holds_only_the_checked_columns(build_db):
    with duckdb.connect(str(build_db)) as con:
        con.execute("alter table marts.searches add column body varchar default 'long text'")
    con = _dbt_holding(build_db)
    gate_worker.begin(build_db)
    gate_worker.prefetch(con.cursor(), "build.marts.searches", build_db, "searches", SPEC)
    snapshot = build_db.parent / "gate_snapshots" / "searches.parquet"
    with duckdb.connect() as snap:
        assert [c[0] for c in snap.execute(f"describe from '{snapshot}'").fetchall()] == [
            "search_id", "search_count", "release_id", "document_id"]
    con.close()
    gate_worker.check(build_db, "searches", SPEC)


def test_replies_reach_their_own_check_in_any_order(build_db):
    with duckdb.connect(str(build_db)) as con:
        con.execute("create table marts.accounts as select * from marts.searches where search_count = 1")
    con = _dbt_holding(build_db)
    gate_worker.begin(build_db)
    for mart in ("searches", "accounts"):
        gate_worker.prefetch(con.cursor(), f"build.marts.{mart}", build_db, mart, SPEC)
    con.close()
    assert gate_worker.check(build_db, "accounts", SPEC)[0].success  # its reply comes second
    assert not gate_worker.check(build_db, "searches", SPEC)[0].success  # kept while waiting for the other
    assert gate_worker._replies == {}


def test_a_new_build_or_another_suite_does_not_use_an_old_snapshot(build_db):
    con = _dbt_holding(build_db)
    gate_worker.begin(build_db)
    gate_worker.prefetch(con.cursor(), "build.marts.searches", build_db, "searches", SPEC)
    con.execute("update build.marts.searches set search_count = 1")  # the next build fixes the bad row
    con.close()
    gate_worker.begin(build_db)
    assert not (build_db.parent / "gate_snapshots").exists()
    assert gate_worker.check(build_db, "searches", SPEC)[0].success
    # a snapshot taken for one suite is not the verdict of another
    con = _dbt_holding(build_db)
    gate_worker.prefetch(con.cursor(), "build.marts.searches", build_db, "searches", SPEC)
    con.execute("update build.marts.searches set search_id = null where search_id = 's1'")
    con.close()
    only_ids = {**SPEC, "expectations": SPEC["expectations"][:1]}
    result, _, _, read_from = gate_worker.check(build_db, "searches", only_ids)
    assert not result.success and result.evaluated == 1 and read_from == "build database"
    assert gate_worker.check(build_db, "searches", SPEC)[0].success is False  # read afresh, not the stale verdict


def test_a_mart_above_the_prefetch_size_is_left_for_after_dbt(build_db, monkeypatch):
    monkeypatch.setattr(gate_worker, "PREFETCH_ROWS", 7)  # the mart has 8 rows
    con = _dbt_holding(build_db)
    gate_worker.begin(build_db)
    assert gate_worker.prefetch(con.cursor(), "build.marts.searches", build_db, "searches", SPEC) is False
    assert not (build_db.parent / "gate_snapshots" / "searches.parquet").exists()
    con.close()
    assert gate_worker.check(build_db, "searches", SPEC).read_from == "build database"
    monkeypatch.setattr(gate_worker, "PREFETCH_ROWS", 8)
    con = _dbt_holding(build_db)
    assert gate_worker.prefetch(con.cursor(), "build.marts.searches", build_db, "searches", SPEC) is True
    con.close()
    assert gate_worker.check(build_db, "searches", SPEC).read_from == "snapshot"
