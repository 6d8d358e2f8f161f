"""`foil withdraw`: take a release out of the marts (an event), then rebuild and publish."""
from __future__ import annotations

import argparse

from pipelines.cli.build import cmd_build
from pipelines.cli.common import EXIT_BUSY, EXIT_INPUT, EXIT_OK, err, say
from pipelines.lib.paths import resolve


def cmd_withdraw(args) -> int:
    """Record that a release is withdrawn (or, with --undo, reinstated), then rebuild and publish."""
    import duckdb

    from pipelines.lib import duck, withdraw
    from pipelines.lib.lock import BuildRunning, build_lock

    paths = resolve(args.raw, args.warehouse)
    if not args.reason.strip():
        err("error: --reason must say why (it is kept with the event and shown by foil status)")
        return EXIT_INPUT
    if not paths.build_db.exists():
        err(f"error: no event log at {paths.build_db}: nothing has been built for {paths.warehouse} yet")
        return EXIT_INPUT
    try:
        with build_lock(paths.state_dir, f"foil withdraw {args.release}"):
            with duck.connect(paths.build_db) as con:
                event = withdraw.record(con, args.release, args.reason.strip(), undo=args.undo)
            verb = "reinstated" if args.undo else "withdrawn"
            say(f"{args.release} {verb} ({event['at']}, by {event['by']}): {event['reason']}")
            if args.no_build:
                say("run `foil build` to publish the warehouse " + ("with" if args.undo else "without") + " it")
                return EXIT_OK
            say("rebuilding the warehouse " + ("with" if args.undo else "without") + " it …")
            return cmd_build(argparse.Namespace(raw=args.raw, warehouse=args.warehouse, as_of=None, verbose=args.verbose))
    except BuildRunning as exc:
        err(f"error: {exc}")
        return EXIT_BUSY
    except (withdraw.WithdrawError, duckdb.Error) as exc:
        err(f"error: {exc}")
        return EXIT_INPUT


def register(sub) -> None:
    w = sub.add_parser("withdraw", help="take a release out of the marts (an event; --undo reinstates it), then rebuild")
    w.add_argument("release", help="the release id to withdraw or reinstate")
    w.add_argument("--reason", required=True, help="why (kept with the event, shown by foil status)")
    w.add_argument("--undo", action="store_true", help="reinstate a withdrawn release")
    w.add_argument("--no-build", dest="no_build", action="store_true", help="only record it; publish with the next build")
    w.add_argument("--raw")
    w.add_argument("--warehouse")
    w.add_argument("-v", "--verbose", action="store_true")
    w.set_defaults(func=cmd_withdraw)
