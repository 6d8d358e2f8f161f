"""Extraction tasks on Dask distributed: parsing that must use every core, or more machines than one.

A `Cluster` is a `distributed.Client` started on first use: the scheduler named by FOIL_DASK_SCHEDULER
(e.g. tcp://host:8786), else a LocalCluster of one single-threaded worker process per core of this
machine (FOIL_INGEST_WORKERS overrides the count; 1 reads everything in the build process). The code
path is the same either way. Callers decide whether a job is worth it (a release of a few small files is
read in the build process and never starts a cluster), and a cluster this process started is closed
with it: closing stops its worker processes, which also exit when the build process dies.

Workers of a scheduler elsewhere cannot read this machine's paths: there, tasks carry the bytes they parse
(a group of small files, a range of one mailbox, a scanned page's image), and a worker needs only this
project installed (and Tesseract, for pages). The workers of a LocalCluster share this machine's files
(`shares_files`): they read the small files of a task themselves, which keeps that work off the build
process (it writes the event log meanwhile). Worker-side functions are top-level functions, pickled by
reference. Workers return Arrow tables and plain values; they never open DuckDB, and the build process
alone writes.
"""
from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from .transient import TransientError

SCHEDULER_ENV = "FOIL_DASK_SCHEDULER"
WORKERS_ENV = "FOIL_INGEST_WORKERS"
CONNECT_TIMEOUT_S = 30  # an unreachable scheduler fails the run with a message, not a hang


def cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's limit)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def local_workers() -> int:
    """Worker processes of a LocalCluster: FOIL_INGEST_WORKERS, else one per core."""
    try:
        return max(1, int(os.environ[WORKERS_ENV]))
    except (KeyError, ValueError):
        return cores()


class Cluster:
    """A Dask client started on first use (`client()`), closed by `close()` if this object started it."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        self.scheduler = scheduler if scheduler is not None else (os.environ.get(SCHEDULER_ENV) or "").strip()
        self.workers = workers or local_workers()
        self._client = self._local = None

    @property
    def parallel(self) -> bool:
        """Whether work goes to workers at all: always with a scheduler; locally with 2 workers or more."""
        return bool(self.scheduler) or self.workers > 1

    @property
    def shares_files(self) -> bool:
        """Whether workers see this machine's files at the same paths (a LocalCluster started here)."""
        return not self.scheduler

    @property
    def started(self) -> bool:
        return self._client is not None

    def client(self):
        if self._client is None:
            import dask
            from distributed import Client, LocalCluster

            # a task carries its data (a scanned page is ~10 MB at 300 dpi): no warning for that
            dask.config.set({"distributed.admin.large-graph-warning-threshold": "64MB"})

            try:
                if self.scheduler:
                    self._client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
                else:
                    # One thread per worker: the parsers hold the GIL. Quiet logs: the build prints its own
                    # progress. The scheduler's HTTP routes (a dashboard only if bokeh is installed; it is
                    # not a dependency) on a free port of this machine only: `None` would bind 8787 on
                    # every interface, and warn whenever two clusters run here.
                    self._local = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                               silence_logs=logging.ERROR)
                    self._client = Client(self._local, set_as_default=False)
            except OSError as exc:  # includes the connection timeout
                self.close()
                where = f"the Dask scheduler {self.scheduler} ({SCHEDULER_ENV})" if self.scheduler else "a local Dask cluster"
                raise TransientError(f"could not connect to {where}: {exc}; check that it runs and is reachable, "
                                     f"or unset {SCHEDULER_ENV} to use this machine's cores") from exc
        return self._client

    def slots(self) -> int:
        """Tasks that run at once: the threads of every worker the scheduler knows now."""
        info = self.client().scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def map(self, fn: Callable, tasks: Iterable[tuple], ahead: int) -> Iterator:
        """fn(*task) of every task on the workers, results in task order, with at most `ahead` tasks
        in flight: submitting everything at once would pile finished results up in memory whenever the
        consumer (the one DuckDB writer) is slower than the workers. A task's own exception is raised
        here as it was raised there; a lost worker or scheduler fails the run (TransientError)."""
        from distributed import CancelledError, KilledWorker

        client = self.client()
        pending: deque = deque()

        def result(future):
            try:
                return future.result()
            except (KilledWorker, CancelledError, OSError) as exc:
                if isinstance(exc, OSError) and not _lost(exc):
                    raise  # the task's own OSError (e.g. a full disk on the worker): as it is
                raise TransientError(f"a Dask worker was lost during extraction ({exc.__class__.__name__}: {exc}); "
                                     "run the build again to resume") from exc

        try:
            for task in tasks:
                # a fresh key per task (equal inputs are still two tasks), named for what it runs
                pending.append(client.submit(_apply, fn, _Args(tuple(task)), key=f"{fn.__name__}-{uuid.uuid4().hex}"))
                if len(pending) >= ahead:
                    yield result(pending.popleft())
            while pending:
                yield result(pending.popleft())
        finally:
            if pending:  # the consumer stopped (an error, an interrupt): drop the tasks not needed
                with contextlib.suppress(Exception):
                    client.cancel(list(pending))

    def close(self) -> None:
        client, local, self._client, self._local = self._client, self._local, None, None
        for closing in (client, local):
            if closing is not None:
                with contextlib.suppress(Exception):
                    closing.close()

    @classmethod
    def serial(cls) -> Cluster:
        """One that never starts anything: work stays in this process (e.g. inside a worker's task)."""
        return cls(scheduler="", workers=1)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class _Args:
    """A task's arguments as one opaque value: Dask walks every list and tuple it is given looking for
    keys of other tasks, which cost the build process more than the task's own pickling."""
    values: tuple


def _apply(fn: Callable, args: _Args):
    return fn(*args.values)


def _lost(exc: OSError) -> bool:
    """A closed connection to the scheduler or a worker (distributed's CommClosedError), or its timeout."""
    from distributed.comm import CommClosedError

    return isinstance(exc, (CommClosedError, TimeoutError))


_CURRENT: ContextVar[Cluster | None] = ContextVar("foil_cluster", default=None)


def current() -> Cluster | None:
    """The cluster an enclosing `active` block made active, if any (never starts one)."""
    return _CURRENT.get()


@contextlib.contextmanager
def active(cluster: Cluster | None = None) -> Iterator[Cluster]:
    """The cluster of the block: `cluster`, else the one an enclosing block made active (readers deep in
    the ingest find the ingest's this way), else a new one, started only if used and closed at the end."""
    given = cluster or _CURRENT.get()
    with contextlib.ExitStack() as stack:
        if given is None:
            given = stack.enter_context(Cluster())
        token = _CURRENT.set(given)
        try:
            yield given
        finally:
            _CURRENT.reset(token)
