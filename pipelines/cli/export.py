"""`foil export`: a table or a query of the published file to Parquet, CSV or JSON.

The SQL runs in the same sandboxed read-only connection as `foil query` (which refuses COPY), so the
rows are written here, batch by batch, into a temporary file beside the target that is renamed over it
only once complete: a failed or interrupted export never leaves half a file under the target's name.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from pipelines.cli.common import EXIT_GATE, EXIT_INPUT, EXIT_OK, err, open_published, say
from pipelines.cli.output import BATCH_ROWS, flat_for_csv, write_csv
from pipelines.lib.paths import resolve

FORMATS = ("parquet", "csv", "json")


class _Progress:
    """A line on stderr at most every couple of seconds: how many rows are written (of how many)."""

    def __init__(self, total: int | None):
        self.total, self.rows, self.last = total, 0, time.monotonic()

    def add(self, rows: int) -> None:
        self.rows += rows
        if time.monotonic() - self.last >= 2:
            self.last = time.monotonic()
            of = f" of {self.total:,}" if self.total else ""
            err(f"  {self.rows:,}{of} rows written …")


def _batches(reader, progress: _Progress):
    for batch in reader:
        yield batch
        progress.add(batch.num_rows)


def _write(rel, fmt: str, tmp: Path, progress: _Progress) -> int:
    if fmt == "csv":
        with tmp.open("wb") as fh:
            return write_csv(_batches(flat_for_csv(rel).to_arrow_reader(BATCH_ROWS), progress), fh)
    reader = rel.to_arrow_reader(BATCH_ROWS)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(tmp, reader.schema, compression="zstd") as writer:
            for batch in _batches(reader, progress):
                writer.write_batch(batch)
        return progress.rows
    import polars as pl

    # one JSON array of row objects, as `foil query --format json` prints; lists and structs stay JSON
    with tmp.open("wb") as fh:
        fh.write(b"[")
        first = True
        for batch in _batches(reader, progress):
            lines = pl.from_arrow(batch).write_ndjson().encode() if batch.num_rows else b""
            for line in lines.splitlines():
                fh.write((b"\n" if first else b",\n") + line)
                first = False
        fh.write(b"\n]\n")
    return progress.rows


def cmd_export(args) -> int:
    import duckdb

    from pipelines.lib import sandbox

    if bool(args.table) == bool(args.query):
        err("error: give a TABLE or --query SQL (one of them)")
        return EXIT_INPUT
    paths = resolve(None, args.warehouse)
    out = Path(args.out).resolve()
    fmt = args.format or {".parquet": "parquet", ".csv": "csv", ".json": "json"}.get(out.suffix.lower())
    if fmt is None:
        err(f"error: cannot tell the format from {out.name}: pass --format parquet|csv|json")
        return EXIT_INPUT
    if out.exists() and not args.force:
        err(f"error: {out} exists: pass --force to replace it, or choose another --out")
        return EXIT_INPUT
    if not out.parent.is_dir():
        err(f"error: folder {out.parent} does not exist: create it first")
        return EXIT_INPUT
    if out == paths.warehouse or paths.state_dir in out.parents:
        err(f"error: --out must not be the warehouse file or inside its state folder {paths.state_dir}")
        return EXIT_INPUT
    sql = args.query
    con, code = open_published(paths, sql)
    if con is None:
        return code
    tmp = out.parent / f".{out.name}.{os.getpid()}.tmp"
    with con:
        total = None
        if args.table:
            tables = [r[0] for r in con.execute(
                "select table_name from duckdb_tables() union select view_name from duckdb_views() "
                "where not internal order by 1").fetchall()]
            if args.table not in tables:
                err(f"error: no table {args.table!r} in {paths.warehouse}; tables: {', '.join(tables)}")
                return EXIT_INPUT
            sql = f'select * from "{args.table}"'
            total = con.execute(f"select count(*) from ({sql})").fetchall()[0][0]
        try:
            rel = sandbox.run(con, sql)
            if rel is None:
                err("error: the query returns no rows to export (give a SELECT)")
                return EXIT_INPUT
            started = time.monotonic()
            rows = _write(rel, fmt, tmp, _Progress(total))
        except (sandbox.QueryRefused, duckdb.Error) as exc:
            tmp.unlink(missing_ok=True)
            err(f"export failed: {exc}")
            return EXIT_GATE
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            err(f"export failed: cannot write {out}: {exc.strerror or exc}; nothing was written")
            return EXIT_INPUT
        except BaseException:  # Ctrl-C: no temp file left behind, the target untouched
            tmp.unlink(missing_ok=True)
            raise
        columns = rel.columns
    os.replace(tmp, out)
    cited = "with" if "citation" in columns else "WITHOUT"
    say(f"exported {rows:,} rows x {len(columns)} columns ({cited} citation) to {out} "
        f"as {fmt} ({out.stat().st_size:,} bytes, {time.monotonic() - started:.1f} s)")
    if cited == "WITHOUT" and args.query:
        err("  note: add the `citation` column to your query to keep each row's source")
    return EXIT_OK


def register(sub) -> None:
    e = sub.add_parser("export", help="write a table or a query of the published warehouse to Parquet, CSV or JSON",
                       description="Export a table (or the rows of a read-only query) of the published file. "
                                   "Lists and structs are JSON text in CSV; Parquet and JSON keep them nested.")
    e.add_argument("table", nargs="?", help="a table of the published file, e.g. searches (see `foil query \"show tables\"`)")
    e.add_argument("--query", metavar="SQL", help="export the rows of this read-only SQL instead of a table")
    e.add_argument("--format", choices=FORMATS, help="parquet, csv or json (one array of row objects); "
                                                     "default: from the --out file's extension")
    e.add_argument("--out", required=True, metavar="FILE", help="the file to write (written to a temporary file "
                                                               "beside it, then renamed: never half a file)")
    e.add_argument("--force", action="store_true", help="replace --out if it exists")
    e.add_argument("--warehouse", help="published DuckDB file (default: $FOIL_WAREHOUSE or ./warehouse/analytics.duckdb)")
    e.set_defaults(func=cmd_export)

