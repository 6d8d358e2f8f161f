"""Raw releases and the event log's segments in S3-compatible object storage (a moto server on 127.0.0.1)
give the same published warehouse as a build on local disk, table for table.

FOIL_DASK_SCHEDULER, when set in the test's environment, is passed on to the build, so the same test runs
the extraction on a Dask cluster (docs/deploy.md)."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.compare import differences

from .conftest import REPO, run_foil

pytestmark = pytest.mark.slow

@pytest.fixture
def s3_env():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    forget_filesystems()  # made for another test's server (each has its own port)
    try:
        yield env
    finally:
        forget_filesystems()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def forget_filesystems() -> None:
    import s3fs

    from pipelines.lib import storage

    storage.s3.cache_clear()
    s3fs.S3FileSystem.clear_instance_cache()


def upload(fs, local: Path, url: str) -> int:
    files = [p for p in sorted(local.rglob("*")) if p.is_file() and not p.is_symlink()]
    for path in files:
        fs.put_file(str(path), f"{url}/{path.relative_to(local).as_posix()}")
    return len(files)


def test_a_build_from_object_storage_publishes_the_same_marts_as_a_local_build(published_sample, s3_env, tmp_path):
    from pipelines.lib import storage

    fs = storage.s3()
    fs.invalidate_cache()
    fs.mkdir("foil")
    assert upload(fs, REPO / "raw", "foil/releases") > 20
    wh = tmp_path / "wh" / "analytics.duckdb"
    env = {**s3_env, "FOIL_SEGMENTS_DIR": "s3://foil/segments"}
    if os.environ.get("FOIL_DASK_SCHEDULER"):
        env["FOIL_DASK_SCHEDULER"] = os.environ["FOIL_DASK_SCHEDULER"]
    proc = run_foil("build", "--raw", "s3://foil/releases", "--warehouse", str(wh), env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    assert differences(published_sample["warehouse"], wh) == {}
    # the log is in the bucket: every recorded segment is an object under the segments prefix, and nothing else is
    state = wh.parent / ".analytics.state"
    with duckdb.connect(str(state / "build.duckdb"), read_only=True) as con:
        recorded = {p for (p,) in con.execute("select path from raw.segments").fetchall()}
    fs.invalidate_cache()
    stored = {f"s3://{key}" for key in fs.find("foil/segments")}
    assert recorded and recorded == stored
    assert not (state / "build.segments").exists()
    # dbt read the log from local copies: the segments this build wrote, kept as written (no download)
    cache = state / "build.segments-cache"
    assert {p.relative_to(cache).as_posix() for p in cache.rglob("*.parquet")} == {k.removeprefix("s3://") for k in stored}
    # a second build reads nothing new: the local copy and the log are up to date; copies deleted (another
    # machine, a cleaned disk) are fetched again from the bucket
    shutil.rmtree(cache)
    again = run_foil("build", "--raw", "s3://foil/releases", "--warehouse", str(wh), env=env, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert " 0 new events" in again.stdout
    fs.invalidate_cache()
    assert {f"s3://{key}" for key in fs.find("foil/segments")} == stored
    assert {p.relative_to(cache).as_posix() for p in cache.rglob("*.parquet")} == {k.removeprefix("s3://") for k in stored}


def test_a_segment_altered_in_the_bucket_is_refused_not_read(s3_env, tmp_path):
    from pipelines.lib import storage

    fs = storage.s3()
    fs.invalidate_cache()
    fs.mkdir("tampered")  # (moto keeps buckets across servers in one process)
    name = hashlib.sha256(b"the events as written").hexdigest() + ".parquet"
    fs.pipe_file(f"tampered/segments/rel/{name}", b"the events altered")
    with pytest.raises(ValueError, match="do not match the sha256 in its name"):
        storage.local_copy(f"s3://tampered/segments/rel/{name}", tmp_path / "cache")
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # nothing half-copied is left
    fs.pipe_file(f"tampered/segments/rel/{name}", b"the events as written")
    copy = storage.local_copy(f"s3://tampered/segments/rel/{name}", tmp_path / "cache")
    assert Path(copy).read_bytes() == b"the events as written"
