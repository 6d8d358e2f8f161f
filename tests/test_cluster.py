"""Extraction on Dask (lib/cluster.py): an external scheduler gives the events of an in-process read, the
Dagster resource hands the asset that scheduler, and an interrupted build leaves no worker behind."""
from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.ingest.assets import release_events
from pipelines.defs.resources import BuildLock, DaskCluster, FoilPaths
from pipelines.lib import ingest as ingest_mod
from pipelines.lib.ingest import ingest_release
from pipelines.lib.manifest import load_manifest
from pipelines.readers import mbox as mbox_mod
from pipelines.readers import ocr

from .conftest import REPO, eml, ingest_script, write_release
from .test_readers_loadfile import ATTACHMENT, EMAIL, HEADER, concordance

DEADLINE_S = 240  # per test: a hang fails the test instead of the suite


@pytest.fixture(autouse=True)
def _deadline():
    """Fail a test that runs past DEADLINE_S (SIGALRM interrupts a wait on a task's result)."""
    def expire(signum, frame):
        raise TimeoutError(f"test still running after {DEADLINE_S} s: hung")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(DEADLINE_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def mailbox(n: int) -> bytes:
    return b"".join(f"From x{i} Mon Oct  1 10:00:00 2018\n".encode() + eml(f"box{i}@x", subject=f"Box {i}").replace(b"\r\n", b"\n")
                    + b"\n" for i in range(n))


FILES = {
    **{f"emails/{n:03d}.eml": eml(f"c{n}@nypd.example", subject=f"Cluster {n}") for n in range(60)},
    "empty.eml": b"", "notes.txt": b"plain text\n", "log.csv": b"account_ref,searched_at\ncv-1,2019-01-01T00:00:00Z\n",
    # a load file is read by the build process, where the text files it cites are
    "VOL001/DATA/VOL001.dat": concordance([HEADER, EMAIL, ATTACHMENT]).encode("cp1252"),
    "VOL001/TEXT/NYPD-CV-001001.txt": b"SYNTHETIC SAMPLE\r\nHello Hollis.\r\n",
    "VOL001/TEXT/NYPD-CV-001003.txt": b"attachment text",
    "box.mbox": mailbox(30),  # larger than SMALL_FILE_BYTES below: its ranges of messages are tasks
}


@pytest.fixture
def small_release_on_workers(monkeypatch):
    """Workers for this small release, and for its mailbox in ranges of 4 messages."""
    monkeypatch.setattr(ingest_mod, "POOL_MIN_FILES", 16)
    monkeypatch.setattr(ingest_mod, "SMALL_FILE_BYTES", 2048)
    monkeypatch.setattr(mbox_mod, "PARALLEL_MIN", 1)
    monkeypatch.setattr(mbox_mod, "CHUNK", 4)


@pytest.fixture(scope="module")
def scheduler():
    """A 2-worker cluster of its own processes, reached only through its address (as a remote one)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster, set_as_default=False) as client:
        yield cluster.scheduler_address, client


def event_ids(db):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select event_id from raw.events order by event_id").fetchall()


def ingest(db, folder):
    with duckdb.connect(str(db)) as con:
        return ingest_release(con, load_manifest(folder))


def outcomes(result):
    return [(f.path, f.reader, f.quarantine_reason, f.stats.extracted_items) for f in result.files]


def test_an_external_scheduler_gives_the_events_of_an_in_process_read(raw, tmp_path, monkeypatch, scheduler,
                                                                      small_release_on_workers):
    from distributed import get_task_stream

    address, client = scheduler
    folder = write_release(raw, "rel", files=FILES)
    monkeypatch.setenv("FOIL_INGEST_WORKERS", "1")
    alone = ingest(tmp_path / "alone.duckdb", folder)

    monkeypatch.setenv("FOIL_DASK_SCHEDULER", address)
    with get_task_stream(client=client) as stream:
        remote = ingest(tmp_path / "remote.duckdb", folder)
    ran = {str(task["key"]).split("-")[0] for task in stream.data}
    assert {"_read_chunk", "_parse_range"} <= ran  # the files and the mailbox's ranges ran on its workers
    assert outcomes(remote) == outcomes(alone)
    assert [f.path for f in alone.files if f.quarantine_reason] == ["empty.eml"]
    assert event_ids(tmp_path / "remote.duckdb") == event_ids(tmp_path / "alone.duckdb")
    assert remote.new_events == alone.new_events > len(FILES)

    again = ingest(tmp_path / "remote.duckdb", folder)  # a re-run on the cluster reads nothing twice
    assert again.new_events == 0 and outcomes(again) == outcomes(alone)


def test_the_dagster_resource_hands_the_asset_its_scheduler(raw, tmp_path, monkeypatch, scheduler,
                                                           small_release_on_workers):
    from distributed import get_task_stream

    address, client = scheduler
    write_release(raw, "rel", files=FILES)
    wh = tmp_path / "wh" / "analytics.duckdb"
    monkeypatch.setenv("FOIL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("FOIL_DASK_SCHEDULER", raising=False)
    foil = FoilPaths(raw_dir=str(raw), warehouse=str(wh))
    releases = dg.DynamicPartitionsDefinition(name="release")
    with dg.instance_for_test() as instance, get_task_stream(client=client) as stream:
        instance.add_dynamic_partitions(releases.name, ["rel"])
        result = dg.materialize([release_events], partition_key="rel", instance=instance, resources={
            "foil": foil, "build_lock": BuildLock(foil=foil), "dask": DaskCluster(scheduler=address)})
    assert result.success
    assert {"_read_chunk", "_parse_range"} <= {str(task["key"]).split("-")[0] for task in stream.data}
    meta = result.asset_materializations_for_node("raw__events")[0].metadata
    assert meta["documents"].value == len(FILES) - 1


@pytest.mark.skipif(ocr.engine() is None, reason=ocr.INSTALL_HINT)
def test_scanned_pages_are_read_on_the_named_scheduler_with_the_same_events(tmp_path, monkeypatch, scheduler):
    from distributed import get_task_stream

    from .test_ocr import _release

    address, client = scheduler
    folder = _release(tmp_path, ["scans/fax_pages.tif"])
    monkeypatch.delenv("FOIL_DASK_SCHEDULER", raising=False)
    here = ingest(tmp_path / "here.duckdb", folder)  # pages on this machine's threads
    monkeypatch.setenv("FOIL_DASK_SCHEDULER", address)
    with get_task_stream(client=client) as stream:
        remote = ingest(tmp_path / "remote.duckdb", folder)
    assert [str(task["key"]).split("-")[0] for task in stream.data] == ["read_page_on_worker"] * 2
    assert outcomes(remote) == outcomes(here)
    assert event_ids(tmp_path / "remote.duckdb") == event_ids(tmp_path / "here.duckdb")


# After its third commit the child waits for the test's signal (workers still hold the next groups): on a
# starved machine the test could read "reading" only after the whole release was in, and see exit 0.
INTERRUPTED = ingest_script('print("reading", flush=True); signal.pause()', group_files=20)


def hung(proc: subprocess.Popen, stderr) -> str:
    """Where a child that ignored its signal stands: its signal masks and every thread's stack."""
    status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
    masks = [line for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt"))]
    os.kill(proc.pid, signal.SIGUSR1)  # faulthandler (ingest_script) writes the stacks to stderr
    time.sleep(3)
    return "\n".join(masks) + "\n" + stderr.read_text()[-6000:]


def group_members(pgid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


@pytest.mark.parametrize("sig, to_group", [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGKILL, False)],
                         ids=["ctrl-c", "sigterm", "kill-9"])
def test_no_worker_process_outlives_an_interrupted_ingest(raw, tmp_path, sig, to_group):
    files = {f"emails/{n:04d}.eml": eml(f"i{n}@nypd.example", subject=f"Stop {n}") for n in range(3000)}
    folder = write_release(raw, "rel", files=files)
    env = {**os.environ, "FOIL_INGEST_WORKERS": "2"}
    env.pop("FOIL_DASK_SCHEDULER", None)
    # stderr goes to a file, not a pipe: nothing reads a pipe while the test waits, and Dask's logs of the
    # cancelled tasks can fill one, blocking the interrupted child in a write so it never exits
    stderr = tmp_path / "stderr.log"
    with stderr.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(tmp_path / "b.duckdb"), str(folder)],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                                start_new_session=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)  # the third commit, or EOF if the child died first
        line = proc.stdout.readline() if ready else "(nothing within 120 s)"
        assert line.strip() == "reading", stderr.read_text()[-2000:] if proc.poll() is not None else line
        assert len(group_members(proc.pid)) >= 3  # the ingest and its 2 workers
        (os.killpg if to_group else os.kill)(proc.pid, sig)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no exit within 60 s of {sig.name}:\n{hung(proc, stderr)}")
        assert proc.returncode != 0
        deadline = time.monotonic() + 20
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert group_members(proc.pid) == [], "worker processes outlived the interrupted ingest"
    finally:
        if group_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    resumed = ingest(tmp_path / "b.duckdb", folder)  # resumes after what was committed; nothing quarantined
    assert resumed.documents == len(files) and resumed.quarantined == 0
    ingest(tmp_path / "clean.duckdb", folder)
    assert event_ids(tmp_path / "b.duckdb") == event_ids(tmp_path / "clean.duckdb")
