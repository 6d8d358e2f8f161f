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
