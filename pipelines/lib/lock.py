"""One build at a time per state folder, by an OS lock that dies with its holder.

`flock` on `<state>/build.lock`: the kernel drops it when the holding process exits, however it exits
(kill -9 included), so a crash never leaves a stale lock behind. The file also records who holds it,
so a second build can say whose build is running instead of failing on a DuckDB lock error later.

Reentrant within one process: `foil build` holds it for the whole build, and the assets it runs take
it again (as they must when the Dagster UI launches them), which then costs nothing.

`file_lock` is the same kind of lock for work that others should wait for rather than refuse (one
process prepares a shared file while the others wait, then use it).
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCK_NAME = "build.lock"

_held: dict[Path, list] = {}  # lock path -> [file object, depth]
_mutex = threading.Lock()


class BuildRunning(Exception):
    """Another process holds the state folder's build lock."""

    def __init__(self, state_dir: Path, holder: dict):
        self.state_dir, self.holder = state_dir, holder
        who = f"pid {holder.get('pid', '?')}, since {holder.get('since', '?')}"
        if holder.get("command"):
            who += f": {holder['command']}"
        super().__init__(
            f"a build is running ({who}) on {state_dir}; wait for it to finish (foil status shows the last "
            f"result), or stop it (kill {holder.get('pid', '<pid>')}) and build again: nothing is lost"
        )


def holder(state_dir: Path) -> dict:
    """Who holds (or last held) the lock, as recorded in the lock file."""
    try:
        return json.loads((state_dir / LOCK_NAME).read_text() or "{}")
    except (OSError, ValueError):
        return {}


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive OS lock on `path` (created if missing), waiting while another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield  # closing the descriptor releases the flock


@contextmanager
def build_lock(state_dir: Path, command: str = "") -> Iterator[None]:
    """Hold the state folder's build lock, or raise BuildRunning at once if another process has it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = (state_dir / LOCK_NAME).resolve()
    with _mutex:
        entry = _held.get(path)
        if entry is not None:
            entry[1] += 1
        else:
            fh = open(path, "a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                raise BuildRunning(state_dir, holder(state_dir)) from None
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"pid": os.getpid(), "command": command,
                                 "since": dt.datetime.now().astimezone().isoformat(timespec="seconds")}))
            fh.flush()
            _held[path] = entry = [fh, 1]
    try:
        yield
    finally:
        with _mutex:
            entry[1] -= 1
            if entry[1] == 0:
                del _held[path]
                entry[0].close()  # closing the descriptor releases the flock

