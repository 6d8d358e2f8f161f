"""`foil`: build, inspect, search and query the warehouse from a terminal.

Each command lives in its own module with a `register(subparsers)` that adds its parser and sets
`func`. Exit codes: 0 done; 1 a gate or the build failed (nothing published), or a query failed;
2 bad arguments, manifests or changed releases (the other releases are still built and published);
3 another build holds the state folder; 128 + signal (130 Ctrl-C, 143 SIGTERM) when interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from pipelines.cli.common import EXIT_INPUT, EXIT_OK

# The modules of pipelines/cli/ that define commands, in the order `foil --help` lists them.
COMMANDS = (
    "build",
    "withdraw",
    "status",
    "query",
    "search",
    "report",
    "export",
    "rollback",
    "schema",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="foil", description="Warehouse for public-records releases.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"pipelines.cli.{name}").register(sub)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_INPUT if exc.code else EXIT_OK
    try:
        code = args.func(args)
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    return code
