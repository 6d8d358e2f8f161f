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
    result, rows, preview = gate_worker.check(build_db, "searches", SPEC)
    expected, expected_rows, _ = check_table(build_db, "searches", SPEC)
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
