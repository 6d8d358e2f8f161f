"""Handing freed memory back to the OS between the steps of one build process.

Ingest, dbt, the GX gates and publish run one after another in the same process. The
allocators keep what a step freed for reuse (glibc's heap; Arrow's pool), so without this the next
step's memory would sit on top of the last one's high-water mark.
"""
from __future__ import annotations

import ctypes
import gc

import pyarrow as pa


def release_freed_memory(collect: bool = False) -> None:
    """Return freed heap pages and Arrow buffers; `collect` first runs a full garbage collection
    (it walks every object GX, dbt and Dagster loaded, so only after steps that leave many cycles)."""
    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc: nothing to trim
        pass

