"""What counts as a failure of the run (never quarantined) rather than of the file."""
from __future__ import annotations

import errno
import mmap

import pytest

from pipelines.lib.transient import is_transient
from pipelines.readers.mbox import MboxReader
from pipelines.readers.base import FileStats


def _raised_while_handling(first: BaseException, second: BaseException) -> BaseException:
    try:
        try:
            raise first
        except BaseException:
            raise second
    except BaseException as exc:
        return exc


def test_an_error_raised_while_an_interrupt_unwinds_is_the_runs():
    # e.g. closing an mmap that an interrupted scan still holds: BufferError with the interrupt behind it
    assert is_transient(_raised_while_handling(KeyboardInterrupt(), BufferError("exported pointers exist")))
    assert is_transient(_raised_while_handling(OSError(errno.ENOSPC, "full"), ValueError("wrapped")))
    deep = _raised_while_handling(_raised_while_handling(MemoryError(), KeyError("a")), ValueError("b"))
    assert is_transient(deep)


def test_content_errors_stay_the_files():
    assert not is_transient(ValueError("bad header"))
    assert not is_transient(_raised_while_handling(KeyError("x"), ValueError("bad header")))
    assert not is_transient(_raised_while_handling(OSError("not an OLE2 file"), ValueError("bad")))


def test_an_interrupted_mbox_read_raises_the_interrupt_not_a_buffer_error(tmp_path, monkeypatch):
    box = tmp_path / "box.mbox"
    box.write_bytes(b"".join(b"From a@b.example Mon Jan  1 00:00:00 2019\nSubject: %d\n\nbody\n\n" % i for i in range(50)))
    views = []

    def interrupted(self, mm):
        views.append(memoryview(mm))  # a view still alive, as a stopped regex scan leaves one
        raise KeyboardInterrupt

    monkeypatch.setattr("pipelines.readers.mbox._Offsets.__init__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        list(MboxReader().batches(box, FileStats()))
    assert isinstance(views[0].obj, mmap.mmap)
