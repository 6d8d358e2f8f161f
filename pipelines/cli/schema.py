"""`foil schema`: the published tables and columns with their meaning, read from the file's own comments.

The descriptions are the dbt ones (models' and seeds' yml, the event log's source yml), written into the
published file as DuckDB table and column comments by publish; so this shows what the file a user holds
says about itself, whichever version of the repository is checked out.
"""
from __future__ import annotations

import json
import os
import shutil
import textwrap

from pipelines.cli.common import EXIT_GATE, EXIT_INPUT, EXIT_OK, err, n, say
from pipelines.lib.paths import resolve

NO_COMMENT = "(no description: the file was published before descriptions were; run `foil build`)"

TABLES_SQL = """
select table_name, comment, column_count
from duckdb_tables()
where database_name = current_database() and schema_name = 'main'
order by table_name
"""

COLUMNS_SQL = """
select column_name, data_type, comment
from duckdb_columns()
where database_name = current_database() and schema_name = 'main' and table_name = ?
order by column_index
"""



def _width() -> int:
    return int(os.environ.get("COLUMNS") or shutil.get_terminal_size((120, 24)).columns)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def read_schema(con) -> list[dict]:
    """Every published table: name, row count, description (its comment) and number of columns."""
    from pipelines.lib.duck import sql_ident

    tables = []
    for name, comment, column_count in con.execute(TABLES_SQL).fetchall():
        rows = con.execute(f"select count(*) from {sql_ident(name)}").fetchone()[0]
        tables.append({"table": name, "rows": rows, "column_count": column_count,
                       "description": (comment or "").strip()})
    return tables


def read_columns(con, table: str) -> list[dict]:
    return [{"column": name, "type": data_type, "description": (comment or "").strip()}
            for name, data_type, comment in con.execute(COLUMNS_SQL, [table]).fetchall()]


def _print_tables(warehouse, tables: list[dict]) -> None:
    width = _width()
    say(f"{warehouse}: {n(len(tables), 'table')} (foil schema TABLE for its columns)")
    name_w = max(len("table"), *(len(t["table"]) for t in tables))
    rows_w = max(len("rows"), *(len(f"{t['rows']:,}") for t in tables))
    say(f"{'table'.ljust(name_w)}  {'rows'.rjust(rows_w)}  description")
    for t in tables:
        desc = _clip(t["description"] or NO_COMMENT, width - name_w - rows_w - 4)
        say(f"{t['table'].ljust(name_w)}  {format(t['rows'], ',').rjust(rows_w)}  {desc}")


def _print_table(table: dict, columns: list[dict]) -> None:
    width = max(_width(), 60)
    say(f"{table['table']}: {n(table['rows'], 'row')}, {n(len(columns), 'column')}")
    for line in textwrap.wrap(table["description"] or NO_COMMENT, width - 2):
        say(f"  {line}")
    say("")
    name_w = max(len("column"), *(len(c["column"]) for c in columns))
    type_w = min(max(len("type"), *(len(c["type"]) for c in columns)), 30)
    desc_w = max(width - name_w - type_w - 4, 30)
    indent = " " * (name_w + type_w + 4)
    say(f"{'column'.ljust(name_w)}  {'type'.ljust(type_w)}  description")
    for c in columns:
        ctype = _clip(c["type"], type_w)
        lines = textwrap.wrap(c["description"] or NO_COMMENT, desc_w) or [""]
        say(f"{c['column'].ljust(name_w)}  {ctype.ljust(type_w)}  {lines[0]}")
        for line in lines[1:]:
            say(f"{indent}{line}")


def cmd_schema(args) -> int:
    import duckdb

    paths = resolve(None, args.warehouse)
    if not paths.warehouse.exists():
        err(f"error: no published warehouse at {paths.warehouse}: run `foil build` first (or pass --warehouse FILE)")
        return EXIT_INPUT
    try:
        con = duckdb.connect(str(paths.warehouse), read_only=True)
    except duckdb.Error as exc:
        err(f"error: cannot open {paths.warehouse}: {exc}")
        return EXIT_GATE
    with con:
        tables = read_schema(con)
        if args.table is None:
            if args.json:
                print(json.dumps({"warehouse": str(paths.warehouse), "tables": tables}, indent=2))
            else:
                _print_tables(paths.warehouse, tables)
            return EXIT_OK
        by_name = {t["table"].lower(): t for t in tables}
        table = by_name.get(args.table.lower())
        if table is None:
            err(f"error: no table {args.table!r} in {paths.warehouse}\n"
                f"  the published tables are: {', '.join(t['table'] for t in tables)}")
            return EXIT_INPUT
        columns = read_columns(con, table["table"])
    if args.json:
        print(json.dumps({**table, "columns": columns}, indent=2))
    else:
        _print_table(table, columns)
    return EXIT_OK


def register(sub) -> None:
    s = sub.add_parser("schema", help="list the published tables, or one table's columns, with their meaning")
    s.add_argument("table", nargs="?", help="a published table, e.g. accounts (omit to list every table)")
    s.add_argument("--warehouse", help="the published file (default: FOIL_WAREHOUSE or warehouse/analytics.duckdb)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_schema)
