"""Transient failures: what is wrong with the machine or the run, never with the file being read.

Quarantine records a property of the content, forever. An interrupt, a full disk, an exhausted memory
cap or a dead worker says nothing about the file: the step must fail with the real error and leave no
quarantine row, so the next build reads the file again.
"""
from __future__ import annotations

import errno

import duckdb

# Errors of the machine, not of the bytes: out of space or quota, I/O, memory, interrupted, read-only.
TRANSIENT_ERRNOS = frozenset({
    errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.ENOMEM, errno.EINTR, errno.EROFS, errno.EAGAIN,
    errno.ENFILE, errno.EMFILE, errno.ESTALE, errno.ETIMEDOUT,
})


class TransientError(RuntimeError):
    """A failure of the run (not of the input), e.g. a Dask worker or scheduler lost (lib/cluster.py);
    raised with the original as its cause."""


def is_transient(exc: BaseException) -> bool:
    """True for failures that must fail the step instead of quarantining the file.

    A reader's OSError without an errno (olefile, Pillow: "not an OLE2 file") is about content; one
    with a system errno like ENOSPC is about the machine. Any DuckDB error during reading is the event
    log's (readers do not use DuckDB), so it is never the file's fault either."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError, duckdb.Error, TransientError)):
        return True
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return True
    # The chain behind it: a reader that wrapped a full disk in its own error, or a clean-up that failed
    # because an interrupt cut a read short (closing an mmap a stopped scan still holds: BufferError).
    seen, cause = {id(exc)}, exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, (KeyboardInterrupt, SystemExit, MemoryError, TransientError)) or (
                isinstance(cause, OSError) and cause.errno in TRANSIENT_ERRNOS):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False
