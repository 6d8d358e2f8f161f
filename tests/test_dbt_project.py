"""dbt through dagster-dbt's public API (pipelines/defs/transform/): the manifest a fresh clone lacks is
parsed once under a lock, and a build reaches its own build database through --vars, streams each
model's row count, and in quiet mode prints only row counts, problems and dbt's summary."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.lib import event_log

REPO = Path(__file__).resolve().parents[1]


def test_a_project_without_manifest_is_parsed_once_while_other_loaders_wait(tmp_path):
    project_dir = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project_dir, ignore=shutil.ignore_patterns("target", "logs"))
    code = ("import sys; from pathlib import Path; from dagster_dbt import DbtProject; "
            "from pipelines.defs.transform.project import prepare; "
            "p = DbtProject(project_dir=Path(sys.argv[1]), profiles_dir=Path(sys.argv[1])); "
            "print('parsed' if prepare(p) else 'reused')")
    loaders = [subprocess.Popen([sys.executable, "-c", code, str(project_dir)], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    said = sorted(p.communicate(timeout=300)[0].strip() for p in loaders)
    assert all(p.returncode == 0 for p in loaders)
    assert said == ["parsed", "reused"]
    target = project_dir / "target"
    assert (target / "manifest.json").exists()
    assert (target / "dbt.log").read_text().count("Running with dbt=") == 1
    # fresh now: loading again parses nothing; an edited model makes the manifest stale again
    from dagster_dbt import DbtProject

    from pipelines.defs.transform.project import prepare

    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    assert prepare(project) is False
    model = project_dir / "models" / "marts" / "releases.sql"
    os.utime(model, ((target / "manifest.json").stat().st_mtime + 60,) * 2)
    assert prepare(project) is True


def test_a_broken_project_says_what_to_do(tmp_path):
    from dagster_dbt import DbtProject

    from pipelines.defs.transform.project import prepare

    project_dir = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project_dir, ignore=shutil.ignore_patterns("target", "logs"))
    (project_dir / "models" / "marts" / "broken.sql").write_text("select {{ ref('no_such_model') }}")
    with pytest.raises(RuntimeError, match="could not parse") as raised:
        prepare(DbtProject(project_dir=project_dir, profiles_dir=project_dir))
    assert "no_such_model" in str(raised.value) and "dbt parse" in str(raised.value)


def _build_staging(tmp_path, monkeypatch, output: str | None, as_of: str = "", fresh: bool = True):
    """Build every model (and dbt test) over an empty event log, in a warehouse in tmp_path, through the
    real asset and resources."""
    from pipelines.defs.resources import BuildLock, FoilPaths
    from pipelines.defs.transform.assets import defs as transform_defs
    from pipelines.defs.transform.assets import warehouse_models
    from pipelines.lib.paths import resolve

    monkeypatch.delenv("FOIL_BUILD_DB", raising=False)
    if output:
        monkeypatch.setenv("FOIL_DBT_OUTPUT", output)
    else:
        monkeypatch.delenv("FOIL_DBT_OUTPUT", raising=False)
    paths = resolve(tmp_path / "raw", tmp_path / "wh" / "analytics.duckdb")
    if fresh:
        paths.state_dir.mkdir(parents=True)
        with duckdb.connect(str(paths.build_db)) as con:
            event_log.ensure_schema(con)
    foil = FoilPaths(raw_dir=str(paths.raw_dir), warehouse=str(paths.warehouse))
    result = dg.materialize(
        [warehouse_models],
        resources={"dbt": transform_defs.resources["dbt"], "foil": foil, "build_lock": BuildLock(foil=foil)},
        run_config={"ops": {"warehouse_models": {"config": {"as_of_release": as_of}}}},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    )
    return paths, result


def test_a_build_uses_its_own_build_database_and_records_row_counts(tmp_path, monkeypatch, capfd):
    paths, result = _build_staging(tmp_path, monkeypatch, output=None)
    assert result.success
    mats = {m.asset_key.to_user_string(): m for m in result.asset_materializations_for_node("warehouse_models")}
    assert {"staging/stg_events__events", "marts/releases"} <= mats.keys()
    # a table's count, logged by the post-hook and streamed while dbt ran (views are not counted)
    assert mats["marts/releases"].metadata["dagster/row_count"].value == 0
    target = paths.state_dir / "dbt_target"
    log = (target / "dbt.log").read_text()
    assert "Running with dbt=" in log  # dbt's log is the warehouse's own
    # the warehouse's build database came in --vars
    assert json.loads((target / "run_results.json").read_text())["args"]["vars"] == {"build_db": str(paths.build_db)}
    with duckdb.connect(str(paths.build_db), read_only=True) as con:
        assert con.execute("select count(*) from marts.releases").fetchone()[0] == 0
    # dagster-dbt's adapter in this process opened no database: none of its files are open here, and
    # none was created from the profile's in-memory path
    open_files = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    assert str(paths.build_db) not in open_files
    assert not (REPO / "dbt_project" / ":memory:").exists()
    out = capfd.readouterr().out
    assert "Running with dbt=" in out  # without the quiet mode, every dbt line reaches stdout
    # the first build of a warehouse parses with its vars; the next reuses that parse (per warehouse)
    _, again = _build_staging(tmp_path, monkeypatch, output=None, fresh=False)
    assert again.success
    second = (target / "dbt.log").read_text().split("Running with dbt=")[-1]
    assert "Unable to do partial parsing" not in second
    # an as-of build passes its release in --vars too: dbt's own test refuses a release the log lacks
    _, as_of = _build_staging(tmp_path, monkeypatch, output=None, as_of="no-such-release", fresh=False)
    assert not as_of.success
    third = (target / "dbt.log").read_text().split("Running with dbt=")[-1]
    assert "FAIL 1 assert_as_of_release_exists" in third
    assert json.loads((target / "run_results.json").read_text())["args"]["vars"] == {
        "build_db": str(paths.build_db), "as_of_release": "no-such-release"}


def test_quiet_mode_prints_row_counts_problems_and_the_summary(tmp_path, monkeypatch, capfd):
    paths, result = _build_staging(tmp_path, monkeypatch, output="progress")
    assert result.success
    out = capfd.readouterr().out
    assert '0 rows in "build"."marts"."releases"' in out
    assert "Done. PASS=" in out
    assert "Running with dbt=" not in out and "START" not in out
