"""The one asset graph: it loads, and its lineage runs raw -> staging -> marts -> checks -> publish."""
from __future__ import annotations

import datetime

import dagster as dg
import pytest

from pipelines.lib.gates import suite_names


@pytest.fixture(scope="module")
def repo():
    from pipelines.definitions import defs

    return defs.get_repository_def()


def test_jobs_exist(repo):
    assert {"ingest_release", "build_warehouse", "process_release"} <= {j.name for j in repo.get_all_jobs()}


def test_lineage_from_ingest_to_publish(repo):
    graph = repo.asset_graph
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    core = {"accounts", "searches", "contacts", "referrals", "people", "organizations", "messages",
            "documents", "releases", "redactions", "quarantine"}
    assert {f"marts/{m}" for m in core} <= keys
    events = dg.AssetKey(["raw", "events"])
    # walk children from raw/events: every mart and the publish asset must be reachable
    seen, todo = set(), [events]
    while todo:
        key = todo.pop()
        for child in graph.get(key).child_keys:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    reached = {k.to_user_string() for k in seen}
    assert any(k.startswith("staging/") for k in reached)
    # organizations come from the seeds alone; everything else derives from the event log
    assert {f"marts/{m}" for m in core - {"organizations"}} | {"published_warehouse"} <= reached
    assert graph.get(events).group_name == "ingest"
    assert graph.get(dg.AssetKey("published_warehouse")).group_name == "publish"


def test_gx_suites_are_blocking_checks_on_the_marts(repo):
    checks = {(k.asset_key.to_user_string(), k.name): spec for k, spec in
              ((key, repo.asset_graph.get_check_spec(key)) for key in repo.asset_graph.asset_check_keys)}
    for mart in suite_names():
        spec = checks[(f"marts/{mart}", f"gx_{mart}")]
        assert spec.blocking
    # dbt tests are checks too, and error-severity ones block
    assert any(name.startswith("unique_") and spec.blocking for (_, name), spec in checks.items())


def test_the_daily_rebuild_asks_for_a_full_rebuild_and_a_fresh_file(repo):
    from pipelines.defs.ingest.sensors import rebuild_schedule

    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance,
                                            scheduled_execution_time=datetime.datetime(2026, 1, 1))
        requests = list(rebuild_schedule(context))
    rebuild = [r for r in requests if r.job_name is None]
    assert len(rebuild) == 1
    ops = rebuild[0].run_config["ops"]
    assert ops["warehouse_models"]["config"]["full_refresh"] is True
    assert ops["published_warehouse"]["config"]["full"] is True
    # and every Great Expectations gate checks every row
    gates = {name: op for name, op in ops.items() if "_gx_" in name}
    assert len(gates) == len(suite_names()) and all(op["config"]["full"] is True for op in gates.values())
    # the config is one the job accepts
    job = repo.get_job("build_warehouse")
    assert dg.validate_run_config(job, rebuild[0].run_config)
