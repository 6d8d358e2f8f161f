"""Handing freed memory back between the steps of one build (pipelines/lib/memory.py)."""
from __future__ import annotations

import ctypes
import gc
import weakref
from pathlib import Path

import pytest

from pipelines.lib.memory import release_freed_memory


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_heap_freed_below_a_live_block_goes_back_to_the_system():
    """glibc keeps freed heap pages for reuse, and cannot shrink the heap past a block still in use:
    what a step freed under it would stay in the process until malloc_trim hands it back."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        pytest.skip("not glibc")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    block = 64 << 10  # under glibc's mmap threshold: taken from the heap
    blocks = [libc.malloc(block) for _ in range(1600)]  # 100 MiB
    for b in blocks:
        ctypes.memset(b, 1, block)
    pins = [libc.malloc(block)]  # still in use, above all of them (a free hole lower down may serve the first)
    while pins[-1] < max(blocks):
        pins.append(libc.malloc(block))
    for b in blocks:
        libc.free(b)
    try:
        kept = _rss()
        release_freed_memory()
        assert kept - _rss() > (64 << 20)
    finally:
        for pin in pins:
            libc.free(pin)


def test_collect_frees_cyclic_garbage():
    class Node:
        pass

    enabled = gc.isenabled()
    gc.disable()
    try:
        node = Node()
        node.me = node
        alive = weakref.ref(node)
        del node
        release_freed_memory()
        assert alive() is not None  # a cycle: reference counting alone never frees it
        release_freed_memory(collect=True)
        assert alive() is None
    finally:
        (gc.enable if enabled else gc.disable)()
