"""The Dagster instance a build records into: the state folder's home, with Dagster's stock SQLite storage."""
from __future__ import annotations

import dagster as dg

from pipelines.lib.instance import TEMPLATE, prepare_dagster_home
from pipelines.lib.paths import resolve


@dg.asset
def tally() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset_check(asset=tally, blocking=True)
def tally_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _home(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("FOIL_STATE_DIR", raising=False)
    home = prepare_dagster_home(resolve(tmp_path / "raw", tmp_path / "wh" / "analytics.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # restored after the test
    return home


def _records_runs(instance: dg.DagsterInstance, times: int, before: int = 0) -> None:
    for _ in range(times):
        assert dg.materialize([tally, tally_positive], instance=instance).success
    records = instance.fetch_materializations(tally.key, limit=10).records
    assert len(records) == before + times
    assert records[0].asset_materialization.metadata["rows"].value == 3
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key([tally_positive.check_key])
    assert check[tally_positive.check_key].status.value == "SUCCEEDED"


def test_state_folder_instance_records_runs_in_the_default_layout(tmp_path, monkeypatch):
    home = _home(tmp_path, monkeypatch)
    assert home == tmp_path / "wh" / ".analytics.state" / "dagster_home"
    assert (home / "dagster.yaml").read_text() == TEMPLATE.read_text()
    with dg.DagsterInstance.get() as instance:
        _records_runs(instance, 2)
        # Dagster's own layout: one event log per run beside the index, runs in history/runs.db
        assert (home / "history" / "runs" / "index.db").exists() and (home / "history" / "runs.db").exists()
        assert all((home / "history" / "runs" / f"{run.run_id}.db").exists() for run in instance.get_runs())


def test_a_home_made_for_the_retired_event_log_is_upgraded_and_keeps_its_history(tmp_path, monkeypatch):
    """Homes created before the stock storage name a module that is gone: their dagster.yaml is
    replaced (the old one kept beside it) and the runs they recorded are still there."""
    home = _home(tmp_path, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        _records_runs(instance, 1)
    retired = ("telemetry:\n  enabled: false\nevent_log_storage:\n"
               "  module: pipelines.lib.dagster_sqlite\n  class: PooledSqliteEventLogStorage\n")
    (home / "dagster.yaml").write_text(retired)
    assert prepare_dagster_home(resolve(tmp_path / "raw", tmp_path / "wh" / "analytics.duckdb")) == home
    assert (home / "dagster.yaml").read_text() == TEMPLATE.read_text()
    assert (home / "dagster.yaml.old").read_text() == retired
    with dg.DagsterInstance.get() as instance:
        assert len(instance.get_runs()) == 1
        _records_runs(instance, 2, before=1)


def test_a_home_someone_configured_is_left_as_it_is(tmp_path, monkeypatch):
    home = _home(tmp_path, monkeypatch)
    own = TEMPLATE.read_text() + "# kept\n"
    (home / "dagster.yaml").write_text(own)
    prepare_dagster_home(resolve(tmp_path / "raw", tmp_path / "wh" / "analytics.duckdb"))
    assert (home / "dagster.yaml").read_text() == own and not (home / "dagster.yaml.old").exists()
