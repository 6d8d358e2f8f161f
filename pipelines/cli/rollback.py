"""`foil rollback`: publish again the file the last publish replaced.

Each publish keeps the file it replaces as `previous.duckdb` in the state folder (lib/publish.py).
Rolling back swaps the two: the previous file becomes the published one (renamed over it, atomic like
a publish, so readers see one file or the other), and the file rolled back from becomes
`previous.duckdb`. A second rollback therefore swaps them back, and says so.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.cli.common import EXIT_BUSY, EXIT_GATE, EXIT_INPUT, EXIT_OK, err, say
from pipelines.lib.paths import resolve


def _about(path: Path) -> dict | None:
    """published_at, run, releases and as-of release of a published file, or None when unreadable."""
    import duckdb

    try:
        with duckdb.connect(str(path), read_only=True) as con:
            row = con.execute("select published_at::varchar, run_id, releases, as_of_release from build_info").fetchall()[0]
    except (duckdb.Error, IndexError):
        return None
    return {"published_at": row[0], "run_id": row[1], "releases": row[2], "as_of_release": row[3]}


def _describe(about: dict) -> str:
    as_of = f", as of {about['as_of_release']}" if about["as_of_release"] else ""
    return f"published {about['published_at']} by run {about['run_id']}{as_of}, {len(about['releases'])} release(s)"


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another filesystem (FOIL_STATE_DIR elsewhere), or no hard links
        shutil.copy2(source, target)


def cmd_rollback(args) -> int:
    from pipelines.lib.lock import BuildRunning, build_lock

    paths = resolve(None, args.warehouse)
    try:
        with build_lock(paths.state_dir, "foil rollback"):
            if not paths.previous.exists():
                err(f"error: nothing to roll back to: no previous published file ({paths.previous} does not exist). "
                    "A previous file is kept from the second publish of this warehouse on.")
                return EXIT_INPUT
            if not paths.warehouse.exists():
                err(f"error: no published warehouse at {paths.warehouse}; the previous file is {paths.previous}")
                return EXIT_INPUT
            current, previous = _about(paths.warehouse), _about(paths.previous)
            if previous is None:
                err(f"error: {paths.previous} is not a readable published file; nothing was changed")
                return EXIT_GATE
            # The swap: the published file is kept first, then the previous one renamed over it.
            kept = paths.state_dir / "previous.duckdb.rollback.tmp"
            incoming = paths.warehouse.parent / f".{paths.warehouse.name}.{os.getpid()}.tmp"  # as publish names it
            _link_or_copy(paths.warehouse, kept)
            _link_or_copy(paths.previous, incoming)
            os.replace(incoming, paths.warehouse)
            os.replace(kept, paths.previous)
    except BuildRunning as exc:
        err(f"error: {exc}")
        return EXIT_BUSY
    say(f"rolled back {paths.warehouse}")
    say(f"  now published: {_describe(previous)}")
    say(f"  rolled back from: {_describe(current) if current else '(unreadable file)'}, kept as {paths.previous}")
    if current and set(current["releases"]) != set(previous["releases"]):
        gone, back = set(current["releases"]) - set(previous["releases"]), set(previous["releases"]) - set(current["releases"])
        say("  releases " + "; ".join(filter(None, (gone and f"no longer published: {', '.join(sorted(gone))}",
                                                   back and f"published again: {', '.join(sorted(back))}"))))
    if current and previous["published_at"] > current["published_at"]:
        say("  note: the file restored is NEWER than the one it replaces: this undid an earlier rollback")
    say("  run `foil rollback` again to swap the two back; the next `foil build` publishes over this one")
    return EXIT_OK


def register(sub) -> None:
    r = sub.add_parser("rollback", help="publish again the file the last publish replaced (swaps the two)",
                       description="Restore the previous published file, kept in the state folder as "
                                   "previous.duckdb. The file rolled back from becomes the previous one, so "
                                   "a second rollback swaps them back (and says so).")
    r.add_argument("--warehouse", help="published DuckDB file (default: $FOIL_WAREHOUSE or ./warehouse/analytics.duckdb)")
    r.set_defaults(func=cmd_rollback)
