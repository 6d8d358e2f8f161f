"""Worker processes forked from the build, for parsing that must use every core.

Used by the mbox reader (ranges of one mailbox) and by the ingest (groups of small files). Workers are
forked: they need nothing but the code already loaded, and spawn/forkserver would re-run the caller's
__main__ (breaking unguarded scripts and notebooks). Workers never touch DuckDB or threads of the
parent; they return Arrow tables and plain values, and the parent alone writes.
"""
from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Iterator


@contextlib.contextmanager
def fork_pool(workers: int, initializer: Callable[..., None] | None = None,
              initargs: tuple = ()) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` forked processes that die with the parent and leave Ctrl-C to it; leaving
    the block waits for the tasks running and drops those not started (after an error or an interrupt).

    `initializer(*initargs)` runs in each worker after it is armed; with fork, initargs are inherited,
    never pickled, so they may be large (what the parent has already read)."""
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init,
                               initargs=(os.getpid(), initializer, initargs))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_init(parent: int, initializer, initargs: tuple) -> None:
    """Workers end with the build: the kernel kills them when the parent dies (even by kill -9), and
    Ctrl-C is left to the parent, which stops the pool after the tasks in flight."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass  # not Linux: workers still exit when the pool's pipes close
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)
    if initializer is not None:
        initializer(*initargs)


def bounded_map(pool: ProcessPoolExecutor, fn, tasks: Iterable, ahead: int) -> Iterator:
    """Results in task order with at most `ahead` tasks in flight: Executor.map submits every task at
    once, and finished results then pile up in memory whenever the consumer is slower than the workers."""
    pending = deque()
    try:
        for task in tasks:
            pending.append(pool.submit(fn, task))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:  # the consumer stopped (an error, an interrupt): drop what has not started
            future.cancel()


def cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's limit)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
