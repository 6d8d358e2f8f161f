"""Two published warehouse files, table for table: what an incremental build must share with a full rebuild
of the same event log (tests/test_incremental.py on the sample, bench/bench_incremental.py at scale)."""
from __future__ import annotations

from pathlib import Path

import duckdb

# Says which run built the file and when: differs by design
BUILD_SPECIFIC = ("build_info",)
# Log columns that say when a row was written, not what it holds
WRITTEN_AT = {"events": ["ingested_at"]}
# Events that carry who/when in their payload (their ids differ between two logs); the marts read only
# their effect, which is compared
UNCOMPARABLE_EVENTS = ("release_withdrawn", "release_reinstated")


def differences(left: Path, right: Path, memory_limit: str | None = None) -> dict[str, str]:
    """table -> what differs between two published files: their columns, or how many rows are only in
    one of them (as multisets). Empty when they hold the same tables and rows."""
    found = {}
    with duckdb.connect(config={"memory_limit": memory_limit} if memory_limit else {}) as con:
        con.execute("attach ? as l (read_only)", [str(left)])
        con.execute("attach ? as r (read_only)", [str(right)])
        left_tables, right_tables = _columns(con, "l"), _columns(con, "r")
        for table in sorted(set(left_tables) | set(right_tables)):
            if table in BUILD_SPECIFIC:
                continue
            if left_tables.get(table) != right_tables.get(table):
                found[table] = f"columns {left_tables.get(table)} != {right_tables.get(table)}"
                continue
            cols = ", ".join(f'"{c}"' for c in left_tables[table] if c not in WRITTEN_AT.get(table, []))
            where = f" where event_type not in {UNCOMPARABLE_EVENTS}" if table == "events" else ""
            only = [con.execute(f'select count(*) from (select {cols} from {a}."{table}"{where} '
                                f'except all select {cols} from {b}."{table}"{where})').fetchone()[0]
                    for a, b in (("l", "r"), ("r", "l"))]
            if any(only):
                found[table] = f"{only[0]} rows only in {left}, {only[1]} only in {right}"
    return found


def _columns(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, list[str]]:
    rows = con.execute("select table_name, column_name from duckdb_columns() where database_name = ? "
                       "order by table_name, column_index", [db]).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables
