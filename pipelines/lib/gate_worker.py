"""The Great Expectations gates, run by a helper process started before they are needed.

Importing GX takes ~1.5 s of pure Python, and the gates can only start once dbt has finished. dbt's own
work is one thread of Python, so while dbt runs the second core is mostly idle: the dbt step calls
`begin()`, the helper imports GX there meanwhile, and each gate then only sends its mart's name and
suite and waits for the verdict. A gate run without that (on its own from the UI) starts the helper
itself, which costs what importing GX in the step did. The publish step `stop()`s it, so its memory
is not held while the analyst file is written.

The dbt step also `prefetch()`es each mart as dbt finishes it: the mart's checked columns are copied
into a snapshot file through dbt's own connection (no other process may open the build database while
dbt holds it) and the helper validates the snapshot while dbt runs its tests, so the gate step that
follows only collects the verdict. A snapshot is only used by the check of the same build database
and suite in the same process, after the same dbt step; anything else is checked from the database.

Protocol: one JSON request per line on the helper's stdin, one JSON reply per line (with the request's
id) on a copy of its stdout (anything a library prints goes to stderr); end of stdin ends the helper.
"""
from __future__ import annotations

import atexit
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from .duck import sql_str
from .gates import GateResult, check_table, import_gx, needed_columns, preview_markdown, select_sql

# Marts up to this size are validated while dbt runs (prefetch); larger ones after it.
PREFETCH_ROWS = int(os.environ.get("FOIL_GATE_PREFETCH_ROWS", "250000"))
_lock = threading.RLock()
_helper: subprocess.Popen | None = None
_ending: list[subprocess.Popen] = []  # stopped without waiting, reaped at exit
_ids = itertools.count(1)
_replies: dict[int, dict] = {}  # read while waiting for another request's reply
_unwanted: set[int] = set()  # requests whose reply nobody will collect


@dataclass
class _Prefetch:
    helper: subprocess.Popen
    request: int
    spec: str
    snapshot: Path


_prefetched: dict[tuple[str, str], _Prefetch] = {}


def start() -> subprocess.Popen:
    """The running helper, started if there is none (or the last one died)."""
    global _helper
    with _lock:
        if _helper is None or _helper.poll() is not None:
            _helper = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, bufsize=1)
            _replies.clear()
            _unwanted.clear()
        return _helper


def begin(build_db: Path) -> subprocess.Popen:
    """Start the helper for a new build of `build_db`: what an earlier build prefetched is stale."""
    with _lock:
        for key in [k for k in _prefetched if k[0] == str(build_db)]:
            _discard(_prefetched.pop(key))
        shutil.rmtree(_snapshot_dir(build_db), ignore_errors=True)
        return start()


def _snapshot_dir(build_db: Path) -> Path:
    return build_db.parent / "gate_snapshots"


def _spec_key(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True)


def _discard(pre: _Prefetch) -> None:
    if _replies.pop(pre.request, None) is None:
        _unwanted.add(pre.request)
    pre.snapshot.unlink(missing_ok=True)


def stop(wait: bool = True) -> None:
    """End the helper (it finishes the check in hand first). Without `wait`, it exits (~0.4 s of
    interpreter teardown) while the caller goes on; it is reaped at exit."""
    global _helper
    with _lock:
        helper, _helper = _helper, None
        for pre in _prefetched.values():
            _discard(pre)
        _prefetched.clear()
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


def prefetch(con, relation: str, build_db: Path, name: str, spec: dict) -> bool:
    """Have mart `name` (`relation`, as `con` names it) validated now, from a snapshot of its checked
    columns written through `con`, a connection to the database dbt holds open. `check` collects it.

    False (nothing done) for a mart of more than PREFETCH_ROWS rows: its gate is left until dbt has
    finished and freed its memory (a 1M-message build went from 960 MiB to 1.2 GiB otherwise)."""
    with _lock:
        if (old := _prefetched.pop((str(build_db), name), None)) is not None:
            _discard(old)
    if con.execute(f"select count(*) from {relation}").fetchone()[0] > PREFETCH_ROWS:
        return False
    # Parquet, not a DuckDB file: a database attached to dbt's instance stays open (locked) for as long
    # as any transaction of dbt's that listed the catalogs meanwhile, so the helper could not open it.
    snapshot = _snapshot_dir(build_db) / f"{name}.parquet"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    query = select_sql(con, relation, needed_columns(spec))
    con.execute(f"copy ({query}) to {sql_str(str(snapshot))} (format parquet)")
    with _lock:
        helper = start()
        _prefetched[(str(build_db), name)] = _Prefetch(helper, _send(helper, snapshot, name, spec, apart=True),
                                                       _spec_key(spec), snapshot)
    return True


class Verdict(NamedTuple):
    result: GateResult
    rows: int
    preview: str  # a markdown table of the first rows of the checked columns
    read_from: str  # "snapshot" (prefetched while dbt ran) or "build database"


def check(build_db: Path, name: str, spec: dict) -> Verdict:
    """Validate mart `name` in the helper, from its prefetched snapshot if there is a current one."""
    with _lock:
        helper = start()
        pre = _prefetched.pop((str(build_db), name), None)
        if pre is not None and (pre.helper is not helper or pre.spec != _spec_key(spec)):
            _discard(pre)
            pre = None
        request = pre.request if pre is not None else _send(helper, build_db, name, spec)
        try:
            reply = _await(helper, request, name)
        finally:
            if pre is not None:
                pre.snapshot.unlink(missing_ok=True)
    if "error" in reply:
        raise RuntimeError(f"checking marts.{name} failed in the gate helper:\n{reply['error']}")
    return Verdict(GateResult(**reply["result"]), reply["rows"], reply["preview"],
                   "snapshot" if pre is not None else "build database")


def _send(helper: subprocess.Popen, database: Path, name: str, spec: dict, apart: bool = False) -> int:
    """Queue a check; with `apart`, the helper runs it in a forked child (see _serve)."""
    request = next(_ids)
    try:
        helper.stdin.write(json.dumps({"id": request, "build_db": str(database), "name": name, "spec": spec,
                                       "apart": apart}) + "\n")
        helper.stdin.flush()
    except (BrokenPipeError, ValueError):  # the helper died: reading its reply reports it
        pass
    return request


def _await(helper: subprocess.Popen, request: int, name: str) -> dict:
    """The helper's reply to `request`, keeping the replies that arrive before it for their callers."""
    while request not in _replies:
        try:
            line = helper.stdout.readline()
        except ValueError:  # stopped meanwhile
            line = ""
        if not line:
            code = helper.wait()
            raise RuntimeError(
                f"the gate helper process ended (exit code {code}) while checking marts.{name}; its error, if any, "
                "is printed above. Re-run the build; a code of -9 usually means the machine ran out of memory "
                "(lower FOIL_DUCKDB_MEMORY or FOIL_GATE_CHUNK_ROWS).")
        reply = json.loads(line)
        if reply["id"] not in _unwanted:
            _replies[reply["id"]] = reply
        _unwanted.discard(reply["id"])
    return _replies.pop(request)


def _serve() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # a stray print from a library must not corrupt the replies
    import_gx()
    for line in sys.stdin:
        request = json.loads(line)
        # A check made while dbt runs (prefetch) sits beside dbt's memory: run in a forked child, nothing
        # it allocates outlives it (in this process, each check left ~15 MiB behind, even after trimming).
        child = os.fork() if request.get("apart") else None
        if child:
            if os.waitpid(child, 0)[1] != 0:  # died without replying: answer for it, or the caller waits forever
                replies.write(json.dumps({"id": request["id"], "error": (
                    "the process checking it ended abruptly (killed, most likely for memory); the gate can be "
                    "re-run alone from the Dagster UI, or lower FOIL_GATE_PREFETCH_ROWS")}) + "\n")
            continue
        answered = False
        try:
            replies.write(json.dumps(_answer(request), default=str) + "\n")
            replies.flush()
            answered = True
        finally:
            if child == 0:  # never back into the loop: the parent serves the next request
                os._exit(0 if answered else 1)


def _answer(request: dict) -> dict:
    try:
        result, rows, head = check_table(Path(request["build_db"]), request["name"], request["spec"])
        return {"id": request["id"], "result": asdict(result), "rows": rows, "preview": preview_markdown(head)}
    except Exception:
        return {"id": request["id"], "error": traceback.format_exc(limit=-3)}  # the innermost frames and the error


if __name__ == "__main__":
    _serve()
