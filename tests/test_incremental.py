"""An incremental build publishes what a full rebuild of the same event log publishes, table for table.

The sample's releases arrive in steps, out of release order (a release ordered between two built ones
shifts their ranks; a re-release supersedes one already built); a withdrawal and a reinstatement are
built incrementally too. Each step is compared with `foil build --full` of the same releases.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from pipelines.lib.paths import resolve

from .conftest import REPO, run_foil

SAMPLE = REPO / "raw"
# Steps of releases added to the incremental warehouse: later releases first, then the ones ordered
# before or between them (ranks shift), then a superseding release and the rest.
STEPS = [
    ["nypd-clearview-2021-04-initial", "nypd-clearview-2021-12-loadfile"],
    ["nypd-clearview-2021-09-rerelease", "nypd-clearview-2022-05-scanned"],
    ["nypd-clearview-2021-06-supplemental", "nypd-clearview-2022-02-office"],
]
# Log columns that say when a row was written, not what it holds
WRITTEN_AT = {"events": ["ingested_at"]}
# Events that carry who/when in their payload (ids differ between two logs); the marts read only their effect
UNCOMPARABLE_EVENTS = ("release_withdrawn", "release_reinstated")


def build(raw: Path, warehouse: Path, *extra: str) -> str:
    out = run_foil("build", "--raw", str(raw), "--warehouse", str(warehouse), *extra, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def withdraw(raw: Path, warehouse: Path, release: str, *extra: str) -> str:
    out = run_foil("withdraw", release, "--reason", "test", "--raw", str(raw), "--warehouse", str(warehouse),
                   *extra, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def differences(left: Path, right: Path) -> dict[str, str]:
    """table -> what differs between two published files (columns, or rows in either direction)."""
    found = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")

        def columns(db: str) -> dict[str, list[str]]:
            rows = con.execute("select table_name, column_name from duckdb_columns() where database_name = ? "
                               "order by table_name, column_index", [db]).fetchall()
            tables: dict[str, list[str]] = {}
            for table, column in rows:
                tables.setdefault(table, []).append(column)
            return tables

        left_tables, right_tables = columns("l"), columns("r")
        assert len(left_tables) > 20, sorted(left_tables)
        for table in sorted(set(left_tables) | set(right_tables)):
            if table == "build_info":  # when and by which run: differs by design
                continue
            if left_tables.get(table) != right_tables.get(table):
                found[table] = f"columns {left_tables.get(table)} != {right_tables.get(table)}"
                continue
            cols = ", ".join(f'"{c}"' for c in left_tables[table] if c not in WRITTEN_AT.get(table, []))
            where = f" where event_type not in {UNCOMPARABLE_EVENTS}" if table == "events" else ""
            only = [con.execute(f"select count(*) from (select {cols} from {a}.{table}{where} "
                                f"except all select {cols} from {b}.{table}{where})").fetchone()[0]
                    for a, b in (("l", "r"), ("r", "l"))]
            if any(only):
                found[table] = f"{only[0]} rows only in the incremental build, {only[1]} only in the full one"
    return found


def published_releases(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute("select release_id from releases order by 1").fetchall()]


def test_incremental_builds_publish_what_a_full_rebuild_publishes(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    incremental, full = tmp_path / "inc" / "analytics.duckdb", tmp_path / "full" / "analytics.duckdb"
    for step, releases in enumerate(STEPS):
        for release in releases:
            shutil.copytree(SAMPLE / release, raw / release)
        out = build(raw, incremental)
        # the first build has no earlier one; later ones add to it
        assert ("full rebuild" in out) is False, out[-2000:]
    assert published_releases(incremental) == sorted(r for step in STEPS for r in step)
    assert "full rebuild (--full)" in build(raw, full, "--full")
    assert differences(incremental, full) == {}

    # a withdrawn release leaves the incremental build as it leaves a full one, and comes back
    gone = "nypd-clearview-2021-09-rerelease"
    withdraw(raw, incremental, gone)
    withdraw(raw, full, gone, "--no-build")
    build(raw, full, "--full")
    assert gone not in published_releases(incremental)
    assert differences(incremental, full) == {}

    withdraw(raw, incremental, gone, "--undo")
    assert gone in published_releases(incremental)
    state = resolve(warehouse=full).state_dir
    assert (state / "dbt_project.sha256").exists()
