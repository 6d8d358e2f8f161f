"""`foil report`: a static, offline HTML report (charts and cited tables) of the published file."""
from __future__ import annotations

import time
from pathlib import Path

from pipelines.cli.common import EXIT_GATE, EXIT_INPUT, EXIT_OK, err, say
from pipelines.lib.paths import resolve


def cmd_report(args) -> int:
    import duckdb

    from pipelines.lib import sandbox
    from pipelines.report import headline, render

    paths = resolve(None, args.warehouse)
    if not paths.warehouse.exists():
        err(f"error: no published warehouse at {paths.warehouse}: run `foil build` first")
        return EXIT_INPUT
    out = Path(args.out).expanduser().resolve() if args.out else paths.warehouse.parent / "report"
    if out.exists() and not out.is_dir():
        err(f"error: --out {args.out} is a file; give a folder (the report is written as FOLDER/index.html)")
        return EXIT_INPUT
    started = time.monotonic()
    say(f"foil report: {paths.warehouse} -> {out}")

    def progress(phase: str):
        def show(i: int, total: int, label: str) -> None:
            say(f"[{phase} {i}/{total}] {label} …")
        return show

    try:
        with sandbox.open_for_analysts(paths.warehouse) as con:
            data = headline.load(con, progress("reading"))
    except duckdb.Error as exc:
        err(f"error: cannot read {paths.warehouse}: {exc}\n  rebuild it with `foil build`, or point --warehouse at a published file")
        return EXIT_GATE
    except FileNotFoundError as exc:  # a shipped analysis is missing from dbt_project/analyses/
        err(f"error: {exc}; restore it from the repository (git checkout -- dbt_project/analyses)")
        return EXIT_GATE
    try:
        target = render.render(data, out, progress("drawing"))
    except ValueError as exc:  # vl-convert could not draw a figure: say which data broke it, keep the file as it was
        err(f"error: a chart could not be drawn: {str(exc).splitlines()[0]}\n  the previous report (if any) is unchanged; "
            "please report this with the output of `foil status`")
        return EXIT_GATE
    except OSError as exc:
        err(f"error: cannot write the report to {out}: {exc.strerror or exc}; choose another folder with --out")
        return EXIT_INPUT
    say(f"report written in {time.monotonic() - started:.1f} s: {target}")
    say(f"  open it: file://{target}")
    return EXIT_OK


def register(sub) -> None:
    r = sub.add_parser("report", help="write an offline HTML report with charts and cited sources")
    r.add_argument("--out", help="folder for index.html (default: report/ next to the published file)")
    r.add_argument("--warehouse", help="the published file (default: $FOIL_WAREHOUSE or warehouse/analytics.duckdb)")
    r.set_defaults(func=cmd_report)
