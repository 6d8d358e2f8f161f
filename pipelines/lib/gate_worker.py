"""The Great Expectations gates, run by a helper process started before they are needed.

Importing GX takes ~1.5 s of pure Python, and the gates can only start once dbt has finished. dbt's own
work is one thread of Python, so while dbt runs the second core is mostly idle: the dbt step calls
`start()`, the helper imports GX there meanwhile, and each gate then only sends its mart's name and
suite and waits for the verdict. A gate run without that (on its own from the UI) starts the helper
itself, which costs what importing GX in the step did. The publish step `stop()`s it, so its memory
is not held while the analyst file is written.

Protocol: one JSON request per line on the helper's stdin, one JSON reply per line on a copy of its
stdout (anything a library prints goes to stderr); end of stdin ends the helper.
"""
from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
import traceback
from dataclasses import asdict
from pathlib import Path

from .gates import GateResult, check_table, import_gx, preview_markdown
from .memory import kept_for_good

_lock = threading.Lock()
_helper: subprocess.Popen | None = None
_ending: list[subprocess.Popen] = []  # stopped without waiting, reaped at exit


def start() -> subprocess.Popen:
    """The running helper, started if there is none (or the last one died)."""
    global _helper
    with _lock:
        if _helper is None or _helper.poll() is not None:
            _helper = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, bufsize=1)
        return _helper


def stop(wait: bool = True) -> None:
    """End the helper (it finishes the check in hand first). Without `wait`, it exits (~0.4 s of
    interpreter teardown) while the caller goes on; it is reaped at exit."""
    global _helper
    with _lock:
        helper, _helper = _helper, None
    if helper is None:
        return
    helper.stdin.close()
    helper.stdout.close()
    if wait:
        _reap(helper)
    else:
        _ending.append(helper)


def _reap(helper: subprocess.Popen) -> None:
    try:
        helper.wait(timeout=30)
    except subprocess.TimeoutExpired:
        helper.kill()
        helper.wait()


@atexit.register
def _stop_all() -> None:
    stop()
    while _ending:
        _reap(_ending.pop())


def check(build_db: Path, name: str, spec: dict) -> tuple[GateResult, int, str]:
    """Validate mart `name` in the helper: (result, rows, a markdown preview of the checked columns)."""
    helper = start()
    try:
        helper.stdin.write(json.dumps({"build_db": str(build_db), "name": name, "spec": spec}) + "\n")
        helper.stdin.flush()
        line = helper.stdout.readline()
    except (BrokenPipeError, ValueError):  # the helper died before reading the request
        line = ""
    if not line:
        code = helper.wait()
        raise RuntimeError(
            f"the gate helper process ended (exit code {code}) while checking marts.{name}; its error, if any, "
            "is printed above. Re-run the build; a code of -9 usually means the machine ran out of memory "
            "(lower FOIL_DUCKDB_MEMORY or FOIL_GATE_CHUNK_ROWS).")
    reply = json.loads(line)
    if "error" in reply:
        raise RuntimeError(f"checking marts.{name} failed in the gate helper:\n{reply['error']}")
    return GateResult(**reply["result"]), reply["rows"], reply["preview"]


def _serve() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # a stray print from a library must not corrupt the replies
    with kept_for_good():
        import_gx()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result, rows, head = check_table(Path(request["build_db"]), request["name"], request["spec"])
            reply = {"result": asdict(result), "rows": rows, "preview": preview_markdown(head)}
        except Exception:
            reply = {"error": traceback.format_exc(limit=-3)}  # the innermost frames and the error
        replies.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    _serve()
