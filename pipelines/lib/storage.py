"""Where raw releases and event-log segments live: a local folder, or S3-compatible object storage.

A location is a local path or an `s3://bucket/prefix` URL (FOIL_RAW_DIR, FOIL_SEGMENTS_DIR). S3 is
reached through fsspec's s3fs with the standard AWS settings only (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL for a store other than AWS, e.g. MinIO or
Ceph): one scheme for s3fs, DuckDB and dbt alike. DuckDB 2.0 has no httpfs here, so it reads `s3://` paths
through the same filesystem object (`register`).
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

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


def cache_path(url: str, cache: Path) -> Path:
    """Where the local copy of the object `url` goes under the folder `cache`: its bucket and key as path."""
    return cache.joinpath(*url.removeprefix(SCHEME).split("/"))


def local_copy(url: str, cache: Path) -> str:
    """The local copy of an immutable object named by the sha256 of its bytes (an event-log segment),
    downloaded the first time and checked against its name; later calls only find it."""
    dest = cache_path(url, cache)
    if dest.is_file():
        return str(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        s3().get_file(url, str(tmp))
        with tmp.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256")
        if digest.hexdigest() != dest.name.split(".", 1)[0]:
            raise ValueError(f"{url}: its bytes do not match the sha256 in its name (the object was altered or "
                             "cut short); restore it from the bucket's versions or backup, then build again")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return str(dest)


SYNCED = ".synced.json"  # in the local copy: key -> ETag of what was downloaded (hidden: no release reads it)


def sync_raw(url: str, local: Path, release_id: str | None = None) -> Path:
    """Bring the releases under `url` (or one release) into the local folder `local`, which the ingest then
    reads as it reads any raw folder; only new or changed objects are downloaded, and files whose objects
    are gone are removed. Returns `local`.

    A release reads only its own objects: keys under `<url>/<release_id>/`, each written as a regular file
    at its key's path. A key that is not a plain path (an empty, '.' or '..' part) cannot be placed inside
    the release folder and is left out."""
    fs = s3()
    fs.invalidate_cache()
    prefix = url.removeprefix(SCHEME).rstrip("/")
    base = f"{prefix}/{release_id}" if release_id else prefix
    try:
        found = fs.find(base, detail=True)
    except FileNotFoundError:
        found = {}
    objects = {}
    for key, info in found.items():
        rel = key[len(prefix) + 1:] if key.startswith(prefix + "/") else None
        if rel is None or info.get("type") != "file" or any(p in ("", ".", "..") for p in rel.split("/")):
            continue
        if release_id is not None and not rel.startswith(release_id + "/"):
            continue
        objects[rel] = str(info.get("ETag") or info.get("LastModified") or info.get("size"))
    local.mkdir(parents=True, exist_ok=True)
    record = local / SYNCED
    synced = json.loads(record.read_text()) if record.exists() else {}
    scope = (release_id + "/") if release_id else ""
    for rel in [r for r in synced if r.startswith(scope) and r not in objects]:
        (local / rel).unlink(missing_ok=True)
        del synced[rel]
    for rel, tag in sorted(objects.items()):
        dest = local / rel
        if synced.get(rel) == tag and dest.is_file() and not dest.is_symlink():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        fs.get_file(f"{prefix}/{rel}", str(tmp))
        os.replace(tmp, dest)
        synced[rel] = tag
        record.write_text(json.dumps(synced))  # after each object: a killed sync resumes where it stopped
    record.write_text(json.dumps(synced))
    return local
