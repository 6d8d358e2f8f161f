"""Where raw releases and event-log segments live: a local folder, or S3-compatible object storage.

A location is a local path or an `s3://bucket/prefix` URL (FOIL_RAW_DIR, FOIL_SEGMENTS_DIR). S3 is
reached through fsspec's s3fs with the standard AWS settings only (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL for a store other than AWS, e.g. MinIO or
Ceph): one scheme for s3fs, DuckDB and dbt alike. DuckDB 2.0 has no httpfs here, so it reads `s3://` paths
through the same filesystem object (`register`).
"""
from __future__ import annotations

import os
from functools import lru_cache

SCHEME = "s3://"
SEGMENTS_ENV = "FOIL_SEGMENTS_DIR"


def is_remote(location: str | os.PathLike | None) -> bool:
    return str(location or "").startswith(SCHEME)


def join(location: str, *parts: str) -> str:
    """location/part/...: a URL keeps its scheme, a local path stays a path."""
    return "/".join([str(location).rstrip("/"), *parts])


@lru_cache(maxsize=1)
def s3():
    """One S3 filesystem per process (s3fs caches listings on it; `refresh` drops them)."""
    import s3fs

    return s3fs.S3FileSystem()


def filesystem(location: str | os.PathLike):
    """The fsspec filesystem that holds `location`."""
    if is_remote(location):
        return s3()
    import fsspec

    return fsspec.filesystem("file")


def refresh(location: str | os.PathLike) -> None:
    """Forget cached listings, so a sensor or a build sees objects written since the last look."""
    if is_remote(location):
        s3().invalidate_cache()


def uses_s3() -> bool:
    """True when this deployment keeps raw releases or segments in object storage."""
    return any(is_remote(os.environ.get(name)) for name in ("FOIL_RAW_DIR", SEGMENTS_ENV))


def register(con) -> None:
    """Let DuckDB read and write `s3://` paths (the event log's segments) on this connection."""
    if uses_s3():
        con.register_filesystem(s3())
