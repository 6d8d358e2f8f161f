"""`foil search`: ranked full-text hits (BM25) in the published file, each with a snippet and its citation."""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import textwrap

from pipelines.cli.common import EXIT_GATE, EXIT_INPUT, EXIT_OK, err, n, open_published
from pipelines.lib.paths import resolve


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        import argparse
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _positive(text: str) -> int:
    import argparse
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _print_table(hits) -> None:
    width = min(int(os.environ.get("COLUMNS", 100)), 120)
    for hit in hits:
        when = hit.sent_at.date().isoformat() if hit.sent_at else "-"
        page = f" p.{hit.page}" if hit.page is not None and hit.kind != "ocr_page" else ""
        print(f"{hit.rank:>2}. {hit.score:6.2f}  {hit.kind:<13} {when:<10}  {hit.title or '(no title)'}{page}")
        for line in textwrap.wrap(hit.snippet, width=width - 6) or [""]:
            print(f"      {line}")
        print(f"      cite: {hit.citation}")
        print()


def cmd_search(args) -> int:
    import duckdb

    from pipelines.lib import search as lib

    paths = resolve(None, args.warehouse)
    text = " ".join(args.query).strip()
    if not text:
        err('error: give something to search for, e.g. foil search "trial account"')
        return EXIT_INPUT
    if args.date_from and args.date_to and args.date_from > args.date_to:
        err(f"error: --from {args.date_from} is after --to {args.date_to}")
        return EXIT_INPUT
    con, code = open_published(paths)
    if con is None:
        return code
    with con:
        if not lib.has_index(con):
            err(f"error: {paths.warehouse} has no search index (it was published before search existed): "
                "run `foil build` to rebuild it")
            return EXIT_INPUT
        if args.release and not con.execute("select count(*) from releases where release_id = ?", [args.release]).fetchone()[0]:
            known = [r[0] for r in con.execute("select release_id from releases order by release_rank").fetchall()]
            err(f"error: no release {args.release!r} in {paths.warehouse}; releases: {', '.join(known)}")
            return EXIT_INPUT
        filters = lib.Filters(args.release, args.date_from, args.date_to)
        try:
            query, hits = lib.search(con, text, filters, args.limit)
        except lib.SearchError as exc:
            err(f"error: {exc}")
            return EXIT_INPUT
        except duckdb.Error as exc:
            err(f"search failed: {exc}")
            return EXIT_GATE
    if args.format == "json":
        print(json.dumps([{k: v for k, v in vars(h).items() if k != "matched_at"} for h in hits], default=str, indent=2))
    if not hits:
        scope = [f"in {args.release}" if args.release else "",
                 f"from {args.date_from}" if args.date_from else "", f"to {args.date_to}" if args.date_to else ""]
        scope_text = " ".join(s for s in scope if s)
        how = " and ".join(f'"{" ".join(g)}"' if len(g) > 1 else g[0] for g in query.groups)
        if query.missing:
            err(f"no hits for {how}: no text holds {', '.join(repr(t) for t in query.missing)}")
            return EXIT_GATE
        err(f"no hits for {how}{' ' + scope_text if scope_text else ''} (every word must occur; "
            "quoted words must occur in a row). Try fewer words" + (" or a wider scope" if scope_text else "") + ".")
        return EXIT_GATE
    if args.format == "table":
        _print_table(hits)
        print(f"{n(len(hits), 'hit')} for {query.text!r}" + (f" (the best {args.limit}; --limit for more)"
                                                               if len(hits) == args.limit else ""))
    sys.stdout.flush()
    return EXIT_OK


def register(sub) -> None:
    s = sub.add_parser(
        "search", help="full-text search (BM25) in messages, documents, OCR pages and attachments",
        description='Ranked hits, each with a snippet and its citation. Every word must occur; "quoted words" '
                    "must occur in a row; an e-mail address or domain matches as written. Exit 1 when nothing matches.")
    s.add_argument("query", nargs="+", help='words and "phrases" (quote the whole query for the shell)')
    s.add_argument("--release", help="only this release (release_id)")
    s.add_argument("--from", dest="date_from", type=_date, metavar="DATE",
                   help="only messages (and their attachments) sent on or after DATE (YYYY-MM-DD)")
    s.add_argument("--to", dest="date_to", type=_date, metavar="DATE", help="only those sent on or before DATE")
    s.add_argument("--limit", type=_positive, default=10, help="hits to show (default 10)")
    s.add_argument("--warehouse", help="published file (default: FOIL_WAREHOUSE or warehouse/analytics.duckdb)")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=cmd_search)
