"""What every `foil` command shares: exit codes, messages, and the published file's paths."""
from __future__ import annotations

import sys

EXIT_OK, EXIT_GATE, EXIT_INPUT, EXIT_BUSY = 0, 1, 2, 3
EXIT_SIGNAL = 128  # + the signal's number, as shells report a process a signal ended


def err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def say(msg: str) -> None:
    print(msg, flush=True)


def n(count: int, one: str, many: str | None = None) -> str:
    """`1 page`, `3 pages`."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def open_published(paths, sql: str | None = None, allow_files: str | None = None):
    """The analysts' sandboxed, read-only connection to the published file, after refusing any write in
    `sql`: `(connection, None)`, or `(None, exit code)` once the reason is said."""
    import duckdb

    from pipelines.lib import sandbox

    if not paths.warehouse.exists():
        err(f"error: no published warehouse at {paths.warehouse}: run `foil build` first")
        return None, EXIT_INPUT
    try:  # refuse writes before even opening the file
        if sql:
            sandbox.check_sql(sql)
    except sandbox.QueryRefused as exc:
        err(f"query refused: {exc}")
        return None, EXIT_GATE
    except duckdb.Error as exc:
        err(f"query failed: {exc}")
        return None, EXIT_GATE
    try:
        return sandbox.open_for_analysts(paths.warehouse, allow_files, protect=(paths.state_dir,)), None
    except sandbox.SandboxError as exc:
        err(f"error: {exc}")
        return None, EXIT_INPUT
    except duckdb.Error as exc:
        err(f"error: cannot open {paths.warehouse}: {exc}")
        return None, EXIT_GATE
