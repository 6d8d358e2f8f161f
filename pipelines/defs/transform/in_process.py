"""dbt run inside the Dagster step's process, behind the interface dagster-dbt reads a dbt process through.

A dbt subprocess spent about 4.5 s of every build before its first node: starting Python, importing dbt
(already imported here by dagster-dbt) and loading the parsed project. In this process the project comes
ready-parsed (project.parsed_manifest(), ~0.03 s), so dbt starts at once. dagster-dbt reads a dbt process
through `subprocess.Popen`'s `args`, `stdout`, `wait`, `returncode` and `send_signal`; `DbtThread`
offers those over a thread running `dbtRunner`, whose events arrive as the JSON lines `dbt --log-format
json` prints. Everything else (selection, Dagster events, errors, artifacts) stays dagster-dbt's own.
"""
from __future__ import annotations

import atexit
import gc
import os
import queue
import threading
from pathlib import Path
from typing import Iterator

import orjson
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.factory import reset_adapters
from dbt.cli.main import dbtRunner
from dbt.contracts.graph.manifest import Manifest
from dbt_common.events.base_types import EventMsg
from dbt_common.events.functions import msg_to_dict

# dbt exit codes: 0 success, 1 a node failed or a test did not pass, 2 dbt itself failed
_FAILED, _CRASHED = 1, 2
_END = object()
_RUNNING: set["DbtThread"] = set()
EXIT_WAIT_SECONDS = 60


@atexit.register
def _stop_running() -> None:
    """At interpreter exit (e.g. SIGTERM during dbt), stop and wait for a dbt still running: a daemon
    thread killed inside DuckDB's C++ code aborts the whole process instead of exiting with its code."""
    for dbt in list(_RUNNING):
        dbt.send_signal(None)
        dbt.wait(EXIT_WAIT_SECONDS)


class _EventLines:
    """The `stdout` of a `DbtThread`: JSON lines, one per dbt event at info level or above."""

    def __init__(self):
        self._lines: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = False

    def put(self, line) -> None:
        self._lines.put(line)

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed and (line := self._lines.get()) is not _END:
            yield line
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.closed = True


class DbtThread:
    """`dbt <args>` on a thread of this process, shaped like the `subprocess.Popen` dagster-dbt expects.

    `env` is applied to os.environ while dbt runs (the profile reads it when dbt starts), then restored.
    The step's own thread only turns the streamed lines into Dagster events meanwhile. With
    `run_results`, the run's results are written there when dbt returns, whether it passed or not.
    """

    def __init__(self, args: list[str], manifest: Manifest, env: dict[str, str], run_results: Path | None = None):
        self.args = ["dbt", *args]
        self.returncode: int | None = None
        self.stdout = _EventLines()
        self._run_results = run_results
        self._thread = threading.Thread(target=self._run, args=(args, manifest, env), name="dbt", daemon=True)
        _RUNNING.add(self)
        self._thread.start()

    def _forward(self, msg: EventMsg) -> None:
        # Debug events are nine in ten (every SQL statement) and nothing downstream reads them.
        if msg.info.level != "debug":
            self.stdout.put(orjson.dumps(msg_to_dict(msg), default=str))

    def _run(self, args: list[str], manifest: Manifest, env: dict[str, str]) -> None:
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            result = dbtRunner(manifest=manifest, callbacks=[self._forward]).invoke(args)
            if self._run_results is not None and hasattr(result.result, "write"):
                result.result.write(str(self._run_results))
            if result.exception is not None:
                self._report_crash(result.exception)
            self.returncode = 0 if result.success else _CRASHED if result.exception is not None else _FAILED
        except BaseException as exc:  # never leave the reader waiting for lines that will not come
            self._report_crash(exc)
            self.returncode = _CRASHED
        finally:
            release_dbt()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self.stdout.put(_END)
            _RUNNING.discard(self)

    def _report_crash(self, exc: BaseException) -> None:
        # dagster-dbt collects error-level lines into the exception it raises for a failed dbt command
        event = {"info": {"level": "error", "name": "MainEncounteredError", "msg": f"dbt failed: {exc}"}, "data": {}}
        self.stdout.put(orjson.dumps(event))

    def wait(self, timeout: float | None = None) -> int | None:
        self._thread.join(timeout)
        return self.returncode

    def send_signal(self, sig) -> None:
        # A thread cannot be signalled; stopping the query lets dbt fail the node and finish quickly.
        try:
            DuckDBConnectionManager.env().conn.interrupt()
        except Exception:  # no connection open yet, or already closed: nothing to interrupt
            pass


def dbt_connection():
    """A new connection to the database dbt is running on in this process, for reading what it built
    while it runs (another process cannot open the build database meanwhile)."""
    return DuckDBConnectionManager.env().conn.cursor()


def release_dbt() -> None:
    """Close what an in-process dbt invocation leaves open for the life of the process.

    dbt-duckdb holds one database per process across invocations: left open it would keep the build
    database locked (and its memory held) while the gates and publish open the same file. dbt's adapters
    hold multiprocessing locks, named semaphores the interpreter would report as leaked at exit.
    """
    try:
        DuckDBConnectionManager.env().close()
    except Exception:  # no environment was created (dbt failed before connecting)
        pass
    DuckDBConnectionManager.close_all_connections()
    reset_adapters()
    # The dropped adapter's locks sit in reference cycles: only a collection (~0.25 s) unlinks them.
    gc.collect()
