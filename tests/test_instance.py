"""The Dagster instance a build records into: the state folder's home, with the pooled SQLite event log."""
from __future__ import annotations

import dagster as dg

from pipelines.lib import dagster_sqlite
from pipelines.lib.dagster_sqlite import PooledSqliteEventLogStorage
from pipelines.lib.instance import prepare_dagster_home
from pipelines.lib.paths import resolve


@dg.asset
def tally() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset_check(asset=tally, blocking=True)
def tally_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("FOIL_STATE_DIR", raising=False)
    home = prepare_dagster_home(resolve(tmp_path / "raw", tmp_path / "wh" / "analytics.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # restored after the test
    return home, dg.DagsterInstance.get()


def test_state_folder_instance_records_runs_through_the_pooled_event_log(tmp_path, monkeypatch):
    home, instance = _instance(tmp_path, monkeypatch)
    with instance:
        assert home == tmp_path / "wh" / ".analytics.state" / "dagster_home"
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        # the default layout, so homes created before this storage keep their history
        assert (home / "history" / "runs" / "index.db").exists()
        for _ in range(2):
            assert dg.materialize([tally, tally_positive], instance=instance).success
        records = instance.fetch_materializations(tally.key, limit=10).records
        assert len(records) == 2
        assert records[0].asset_materialization.metadata["rows"].value == 3
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key([tally_positive.check_key])
        assert check[tally_positive.check_key].status.value == "SUCCEEDED"


def test_pooled_event_log_keeps_few_files_open_and_survives_a_wipe(tmp_path, monkeypatch):
    monkeypatch.setattr(dagster_sqlite, "MAX_OPEN_SHARDS", 3)
    _, instance = _instance(tmp_path, monkeypatch)
    with instance:
        for _ in range(5):
            assert dg.materialize([tally], instance=instance).success
        storage = instance.event_log_storage
        assert len(storage._engines) <= 3
        # every run's events are still readable after its engine was closed
        runs = instance.get_runs()
        assert len(runs) == 5
        assert all(instance.all_logs(run.run_id) for run in runs)
        instance.wipe()
        assert set(storage._engines) <= {"index"}  # the deleted run shards are closed, not cached
        assert dg.materialize([tally], instance=instance).success
        assert len(instance.fetch_materializations(tally.key, limit=10).records) == 1


def test_table_checks_are_answered_from_memory_once_a_table_is_seen(tmp_path, monkeypatch):
    """The stock check reflects the schema (a new engine) for every asset check event; tables only get
    added, so a table seen once is not looked up again, and a wipe forgets what was seen."""
    _, instance = _instance(tmp_path, monkeypatch)
    with instance:
        storage = instance.event_log_storage
        lookups = []
        stock = dagster_sqlite.SqliteEventLogStorage.has_table
        monkeypatch.setattr(dagster_sqlite.SqliteEventLogStorage, "has_table",
                            lambda self, name: lookups.append(name) or stock(self, name))
        for _ in range(3):
            assert dg.materialize([tally, tally_positive], instance=instance).success
        assert lookups.count("asset_check_executions") == 1
        assert storage.has_table("asset_check_executions") and not storage.has_table("no_such_table")
        assert not storage.has_table("no_such_table")
        assert lookups.count("no_such_table") == 2  # a missing table is asked again: a migration may add it
        instance.wipe()
        assert storage.has_table("asset_check_executions")
        assert lookups.count("asset_check_executions") == 2
