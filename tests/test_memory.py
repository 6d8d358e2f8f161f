"""The process-lifetime memory helpers in pipelines/lib/memory.py."""
from __future__ import annotations

import gc

import pytest

from pipelines.lib.memory import kept_for_good


@pytest.fixture
def collector():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def test_kept_for_good_freezes_what_the_block_loaded(collector):
    gc.enable()
    inside = {}
    with kept_for_good():
        assert not gc.isenabled()  # no collection walks the half-loaded graph
        inside["graph"] = [{"node": i} for i in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= 1000
    # Frozen objects are no longer walked by a full collection, but reference counting still frees them.
    assert not any(obj is inside["graph"] for obj in gc.get_objects(generation=2))
    inside.clear()


def test_kept_for_good_restores_the_collector_after_an_error(collector):
    gc.disable()
    with pytest.raises(ImportError):
        with kept_for_good():
            raise ImportError("a broken import")
    assert not gc.isenabled()  # left as the caller had it
    gc.enable()
    with pytest.raises(ImportError):
        with kept_for_good():
            raise ImportError("a broken import")
    assert gc.isenabled()
