"""Handing freed memory back to the OS between the steps of one build process.

Ingest, the GX gates and publish run one after another in the same process, next to dbt's. The
allocators keep what a step freed for reuse (glibc's heap; Arrow's pool), so without this the next
step's memory would sit on top of the last one's high-water mark.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc

import pyarrow as pa


def release_freed_memory(collect: bool = False) -> None:
    """Return freed heap pages and Arrow buffers; `collect` first runs a full garbage collection
    (0.15-0.3 s with GX loaded, so only after steps that leave many cyclic objects)."""
    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc: nothing to trim
        pass


@contextlib.contextmanager
def kept_for_good():
    """Load what the process keeps to its end (library imports, the asset graph) with the cyclic
    collector off, then move every tracked object to the permanent generation.

    Dagster, dbt and GX leave ~320,000 tracked objects behind their imports, and every full collection
    would walk them all: with them frozen, a 100k build spent 0.7 s collecting instead of 1.5 s.
    Reference counting still frees frozen objects; only cycles among them are never collected, and
    imports leave few (a collection right after them frees under 1 MB).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
