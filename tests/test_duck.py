"""Connections to the build database: the memory cap, and row groups small enough to scan on both cores."""
from __future__ import annotations

import duckdb

from pipelines.lib import duck


def _row_groups(con, table: str) -> list[int]:
    return [r[0] for r in con.execute(
        f"select max(start + count) - min(start) from pragma_storage_info('{table}') where column_id = 0 "
        "group by row_group_id order by row_group_id").fetchall()]


def test_a_written_build_database_gets_small_row_groups_and_reads_as_before(tmp_path):
    db = tmp_path / "build.duckdb"
    with duck.connect(db) as con:
        con.execute("create schema raw")
        con.execute("create table raw.events as select range as n from range(50000)")
        assert con.execute("select current_database()").fetchone()[0] == "build"  # the name DuckDB gives the file
        capped = duckdb.connect(config=duck.config()).execute("select current_setting('memory_limit')").fetchone()
        assert con.execute("select current_setting('memory_limit')").fetchone() == capped
    with duck.connect(db, read_only=True) as con:
        assert con.execute("select count(*), sum(n) from raw.events").fetchone() == (50000, sum(range(50000)))
        groups = _row_groups(con, "raw.events")
    assert len(groups) == 4 and max(groups) == duck.ROW_GROUP_ROWS
    # a plain connection (the size is not stored in the file) would have written one group
    with duckdb.connect(str(db)) as con:
        con.execute("create table raw.plain as select range as n from range(50000)")
        assert _row_groups(con, "raw.plain") == [50000]


def test_the_dbt_profile_attaches_with_the_same_row_group_size():
    from pathlib import Path

    import yaml

    profile = yaml.safe_load((Path(__file__).parents[1] / "dbt_project" / "profiles.yml").read_text())
    (attachment,) = profile["foil"]["outputs"]["dev"]["attach"]
    assert attachment["alias"] == profile["foil"]["outputs"]["dev"]["database"] == "build"
    assert attachment["options"]["row_group_size"] == duck.ROW_GROUP_ROWS


def test_what_does_not_fit_spills_to_its_own_place_not_the_working_folder(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("FOIL_DUCKDB_MEMORY", "100MB")
    (tmp_path / "state").mkdir()
    spill = tmp_path / "state" / "build.duckdb.tmp"
    with duck.connect(spill=spill) as con:  # in memory: DuckDB alone would spill to ./.tmp
        con.execute("create table t as select range as n, md5(range::varchar) as h from range(4000000)")
        assert con.execute("select count(distinct h) from t").fetchone() == (4000000,)
        spilled = con.execute("select count(*) from duckdb_temporary_files() where path like ?",
                              [f"{spill}/%"]).fetchone()[0]
        assert spilled > 0 and spill.is_dir()
    assert list(cwd.iterdir()) == []
    with duck.connect(tmp_path / "build.duckdb") as con:  # a file: next to it, as DuckDB would
        assert con.execute("select current_setting('temp_directory')").fetchone() == (f"{tmp_path / 'build.duckdb'}.tmp",)


def test_the_dbt_profile_spills_next_to_the_build_database():
    from pathlib import Path

    import yaml

    profile = yaml.safe_load((Path(__file__).parents[1] / "dbt_project" / "profiles.yml").read_text())
    dev = profile["foil"]["outputs"]["dev"]
    assert dev["config_options"]["temp_directory"] == dev["attach"][0]["path"].rstrip() + ".tmp"
