"""How query results leave the CLI: as CSV (`foil query --format csv`, `foil export --format csv`) and as
a terminal table that never hides a column (citations included)."""
from __future__ import annotations

import os
import shutil
import textwrap

from pipelines.cli.common import n

NESTED = {"list", "struct", "map", "array", "union"}
BATCH_ROWS = 100_000  # rows per Arrow batch written: memory stays flat on any result size


def flat_for_csv(rel):
    """The relation with every list/struct/map column as its JSON text: CSV holds no nested values, and
    JSON keeps them readable and parseable (DuckDB's `to_json`, run in the same read-only connection)."""
    from pipelines.lib.duck import sql_ident

    if not any(t.id in NESTED for t in rel.types):
        return rel
    cols = [f"to_json({sql_ident(c)})::varchar as {sql_ident(c)}" if t.id in NESTED else sql_ident(c)
            for c, t in zip(rel.columns, rel.types)]
    return rel.project(", ".join(cols))


def write_csv(batches, out) -> int:
    """Write Arrow record batches (nested columns already flattened) as CSV with one header to the
    binary file `out`; returns the number of rows written."""
    import polars as pl

    rows, header = 0, True
    for batch in batches:
        pl.from_arrow(batch).write_csv(out, include_header=header)
        header, rows = False, rows + batch.num_rows
    return rows


def _cell(value) -> str:
    if value is None:
        return "NULL"
    return str(value).replace("\r", " ").replace("\n", " ")


def print_table(rel, max_rows: int, width: int | None = None, max_col_width: int = 40) -> None:
    """Rows as a table when every column fits the terminal (long cells cut with "…"), else one record
    per block with every column on its own line (like psql's \\x), long values wrapped: no column is
    ever left out."""
    width = width or int(os.environ.get("COLUMNS") or shutil.get_terminal_size((200, 24)).columns)
    rel = flat_for_csv(rel)
    cols = rel.columns
    rows = rel.limit(max_rows + 1).fetchall()
    more = len(rows) > max_rows
    rows = [[_cell(v) for v in r] for r in rows[:max_rows]]
    # a citation is cut only when it alone would not fit the line: it is how a row is checked
    limits = [width if c == "citation" else max_col_width for c in cols]
    widths = [min(limit, max([len(c)] + [len(r[i]) for r in rows])) for limit, (i, c) in zip(limits, enumerate(cols))]
    if sum(widths) + 3 * (len(cols) - 1) <= width:
        def line(cells):
            return " | ".join((v if len(v) <= w else v[: w - 1] + "…").ljust(w) for v, w in zip(cells, widths)).rstrip()
        print(line(cols))
        print("-+-".join("-" * w for w in widths))
        for r in rows:
            print(line(r))
    else:
        key = max(len(c) for c in cols)
        wrap = max(20, width - key - 3)
        for i, r in enumerate(rows, 1):
            print(f"-[ row {i} ]" + "-" * max(0, min(width, key + 3 + wrap) - len(f"-[ row {i} ]")))
            for c, v in zip(cols, r):
                parts = textwrap.wrap(v, wrap, break_long_words=True, break_on_hyphens=False) or [""]
                print(f"{c.ljust(key)} | {parts[0]}")
                for part in parts[1:]:
                    print(f"{' ' * key} | {part}")
    if more:  # the total costs a second pass, only when the rows do not all fit
        total = rel.aggregate("count(*)").fetchall()[0][0]
        shown = f"{n(total, 'row')}, first {max_rows} shown (--max-rows N for more)"
    else:
        shown = n(len(rows), "row")
    print(f"({shown}, {n(len(cols), 'column')})")
