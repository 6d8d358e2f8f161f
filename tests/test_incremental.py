"""An incremental build publishes what a full rebuild of the same event log publishes, table for table.

The sample's releases arrive in steps, out of release order (a release ordered between two built ones
shifts their ranks; a re-release supersedes one already built); a withdrawal and a reinstatement are
built incrementally too. Each step is compared with `foil build --full` of the same releases.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from pipelines.lib.compare import differences
from pipelines.lib.paths import resolve
from pipelines.lib.publish import ROW_HASH_SNAPSHOT, file_identity

from .conftest import REPO, run_foil

SAMPLE = REPO / "raw"
# Steps of releases added to the incremental warehouse: later releases first, then the ones ordered
# before or between them (ranks shift), then a superseding release and the rest.
STEPS = [
    ["nypd-clearview-2021-04-initial", "nypd-clearview-2021-12-loadfile"],
    ["nypd-clearview-2021-09-rerelease", "nypd-clearview-2022-05-scanned"],
    ["nypd-clearview-2021-06-supplemental", "nypd-clearview-2022-02-office"],
]
# Small chunks, so the gates of the sample's marts take the path of a large mart: row by row, only the rows
# the published file does not hold (pipelines/lib/gates.py check_table).
GATE_CHUNKS = {"FOIL_GATE_CHUNK_ROWS": "20"}


def build(raw: Path, warehouse: Path, *extra: str) -> str:
    out = run_foil("build", "--raw", str(raw), "--warehouse", str(warehouse), *extra, env=GATE_CHUNKS, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def withdraw(raw: Path, warehouse: Path, release: str, *extra: str) -> str:
    out = run_foil("withdraw", release, "--reason", "test", "--raw", str(raw), "--warehouse", str(warehouse),
                   *extra, env=GATE_CHUNKS, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def last_report(warehouse: Path) -> dict:
    return json.loads(resolve(warehouse=warehouse).last_build_report.read_text())


def published_releases(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute("select release_id from releases order by 1").fetchall()]


def snapshot_counts(warehouse: Path) -> dict[str, int]:
    """Rows per mart in the row-hash snapshot of the state folder, if it describes the published file."""
    snapshot = resolve(warehouse=warehouse).build_db.with_name(ROW_HASH_SNAPSHOT)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("select identity from taken_of").fetchone()[0] == file_identity(warehouse)
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where table_name <> 'taken_of'").fetchall()]
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in sorted(tables)}


def published_counts(warehouse: Path, tables: list[str]) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in sorted(tables)}


def unit_numbers(warehouse: Path) -> dict[tuple[str, str], int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {(kind, source): n for n, kind, source in con.execute(
            "select unit_id, kind, source_id from search_documents").fetchall()}


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
    # its gates checked row by row only the rows the last published file did not hold
    vouched = [c for c in last_report(incremental)["checks"] if "row by row:" in c["description"]]
    assert {"marts/messages", "marts/contacts"} <= {c["asset"] for c in vouched}
    # the incremental build updated a copy of the published file (unchanged tables at least); --full writes afresh
    assert "ref_signal_rules" in last_report(incremental)["tables_updated"]
    # the row hashes kept for the next publish describe this very file and its hash-kept marts
    assert snapshot_counts(incremental) == published_counts(incremental, ["contacts", "messages", "message_appearances"])
    assert "full rebuild (--full)" in build(raw, full, "--full")
    assert last_report(full)["tables_updated"] == []
    assert not any("row by row:" in c["description"] for c in last_report(full)["checks"])
    with duckdb.connect(str(full), read_only=True) as con:  # the comparison covers every mart
        assert con.execute("select count(*) from duckdb_tables()").fetchone()[0] > 20
    assert differences(incremental, full) == {}

    # a withdrawn release leaves the incremental build as it leaves a full one, and comes back
    gone = "nypd-clearview-2021-09-rerelease"
    withdraw(raw, incremental, gone)
    withdraw(raw, full, gone, "--no-build")
    build(raw, full, "--full")
    # a full rebuild checks every row, though a published file is there to vouch for most
    assert not any("row by row:" in c["description"] for c in last_report(full)["checks"])
    assert gone not in published_releases(incremental)
    assert differences(incremental, full) == {}

    withdraw(raw, incremental, gone, "--undo")
    assert gone in published_releases(incremental)
    state = resolve(warehouse=full).state_dir
    assert (state / "dbt_project.sha256").exists()


def test_a_later_release_keeps_every_search_unit_number(tmp_path):
    """Units are numbered by their first release's date: a release dated after the built ones numbers its
    units after theirs, so theirs keep their numbers and postings (out of order, see above, they shift)."""
    raw, warehouse = tmp_path / "raw", tmp_path / "wh" / "analytics.duckdb"
    raw.mkdir()
    numbers = {}
    for release in ("nypd-clearview-2021-04-initial", "nypd-clearview-2021-12-loadfile"):
        shutil.copytree(SAMPLE / release, raw / release)
        build(raw, warehouse)
        before, numbers = numbers, unit_numbers(warehouse)
        assert len(numbers) > len(before)
        assert {unit: n for unit, n in numbers.items() if unit in before} == before
