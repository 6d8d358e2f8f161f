"""`foil query`: read-only, sandboxed SQL against the published file."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from pipelines.cli.common import EXIT_GATE, EXIT_INPUT, EXIT_OK, err, open_published
from pipelines.cli.output import BATCH_ROWS, flat_for_csv, print_table, write_csv
from pipelines.lib.paths import resolve


def cmd_query(args) -> int:
    import duckdb

    from pipelines.lib import sandbox

    paths = resolve(None, args.warehouse)
    if args.file:
        try:
            sql = Path(args.file).read_text()
        except OSError as exc:
            err(f"error: cannot read --file {args.file}: {exc.strerror or exc}")
            return EXIT_INPUT
        except UnicodeDecodeError:
            err(f"error: --file {args.file} is not UTF-8 text; give a .sql file")
            return EXIT_INPUT
    elif args.sql:
        sql = args.sql
    else:
        err("error: give a SQL string or --file FILE")
        return EXIT_INPUT
    con, code = open_published(paths, sql, args.allow_files)
    if con is None:
        return code
    with con:
        try:
            rel = sandbox.run(con, sql)
        except sandbox.QueryRefused as exc:
            err(f"query refused: {exc}")
            return EXIT_GATE
        except duckdb.PermissionException as exc:
            hint = (f"only files under {args.allow_files} can be read" if args.allow_files
                    else "pass --allow-files DIR to read files in one folder")
            err(f"query failed: {exc}\n  foil query cannot write files or read outside the warehouse; {hint}")
            return EXIT_GATE
        except duckdb.Error as exc:
            err(f"query failed: {exc}")
            return EXIT_GATE
        if rel is None:
            return EXIT_OK
        if args.format == "csv":
            sys.stdout.flush()
            write_csv(flat_for_csv(rel).to_arrow_reader(BATCH_ROWS), sys.stdout.buffer)
            sys.stdout.buffer.flush()
        elif args.format == "json":
            print(json.dumps(rel.pl().to_dicts(), default=str, indent=2))
        else:
            print_table(rel, max_rows=args.max_rows)
    return EXIT_OK


def register(sub) -> None:
    q = sub.add_parser("query", help="run read-only SQL against the published warehouse")
    q.add_argument("sql", nargs="?")
    q.add_argument("--file", help="read the SQL from a file (e.g. dbt_project/analyses/*.sql)")
    q.add_argument("--warehouse")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table (every column shown: one block per row when too wide), csv (lists and structs "
                        "as JSON text) or json")
    q.add_argument("--max-rows", type=int, default=100, help="rows shown by --format table (default 100)")
    q.add_argument("--allow-files", dest="allow_files", metavar="DIR",
                   help="let the SQL READ files in this one folder (e.g. read_csv('DIR/names.csv')); "
                        "queries are otherwise read-only and cannot touch any file: COPY/EXPORT/ATTACH/"
                        "INSTALL/LOAD/SET are refused (export with --format csv > file.csv)")
    q.set_defaults(func=cmd_query)
