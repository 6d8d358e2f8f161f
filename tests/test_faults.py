"""Fault injection: `foil build` killed, interrupted, run twice at once, out of disk, fed a huge message.

Every scenario runs the real CLI (`python -m pipelines.cli build -v`) in its own process group, reads its
progress as it comes, injects the fault at a moment recognised from that output (or from the files and
processes it creates), then checks the promises of the contract:

- exit codes: 0 published; 1 build or gate failed (naming the real error); 3 another build holds the
  state folder's lock ("a build is running (pid N, since T)"); 130 after SIGINT and 143 after SIGTERM
  ("interrupted"), the whole process group gone within ~20 s;
- the published file is never missing or partial: the earlier one, byte-identical, or the complete new one;
  no `.<name>.<pid>.tmp` (or its .wal) is left beside it once a later build has run;
- a failure of the run (interrupt, full disk, memory cap, dead worker) never becomes a quarantine row;
- the next build after any of these exits 0 (without hanging on what the dead run held) and publishes
  exactly what a clean build of the same releases publishes (every table, wall-clock columns aside).

A clean reference build of the sample plus a generated 20,000-message mailbox, and that raw folder, are
built once per session and shared; tests that need an earlier published file work on a copy of the
reference deployment. Nothing waits without a deadline (tests/faults.py): a build that stops printing for
45 s or outlives its time is killed with its process group and the test fails with "hung".
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.publish import file_sha256

from .conftest import REPO, eml, write_release
from .faults import (
    LOCK_REFUSAL_S, SIGNAL_GRACE_S, Build, Problems, differences, opens_complete, state_dir, tmp_files,
    transient_quarantines, wait_until,
)

pytestmark = pytest.mark.faults

N_MESSAGES = 20_000  # >= FOIL_MBOX_PARALLEL_MIN (20,000): the mailbox is parsed by forked workers
BIG_RELEASE = f"bench-mbox-{N_MESSAGES}"
WH_NAME = "analytics.duckdb"


# ---------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _no_stray_builds():
    """Whatever happens in a test, every build it started is killed (by its process group) afterwards."""
    yield
    Build.kill_all()


def _corpus_module():
    spec = importlib.util.spec_from_file_location("foil_bench_corpus", REPO / "bench" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def big_raw(tmp_path_factory) -> Path:
    """The sample releases plus one release with a 20,000-message mbox (bench/corpus.py, ~20 MB, ~1 s).
    Shared read-only by every test: builds never write into the raw folder."""
    raw = tmp_path_factory.mktemp("faults-raw") / "raw"
    shutil.copytree(REPO / "raw", raw)
    folder = _corpus_module().write_release(raw, N_MESSAGES)
    assert folder.name == BIG_RELEASE
    return raw


@pytest.fixture(scope="session")
def clean(big_raw, tmp_path_factory) -> Path:
    """The reference: `big_raw` built once from scratch, undisturbed. Its deployment (published file +
    state folder) is also the starting point of the tests that need an earlier published file."""
    wh = tmp_path_factory.mktemp("faults-clean") / "wh" / WH_NAME
    build = Build(big_raw, wh, label="clean reference build")
    rc = build.wait()
    assert rc == 0, f"the clean reference build failed (exit {rc})\n{build.tail()}"
    return wh


def copy_deployment(clean_wh: Path, dest: Path) -> Path:
    """A copy of the reference deployment (published file and its state folder) to break safely."""
    shutil.copytree(clean_wh.parent, dest / "wh", symlinks=True)
    wh = dest / "wh" / WH_NAME
    assert (state_dir(wh) / "build.duckdb").exists(), "the reference deployment has no state folder"
    return wh


def kill_mid_ingest(build: Build, release_id: str, sig: int, group: bool) -> None:
    """Send `sig` while `release_id`'s mailbox is being parsed: after its "ingesting" line, once the
    forked parse workers are up (plus a moment, so batches are being appended), at the latest 2 s on.
    (The workers live for ~1.4 s of a 20k-message mailbox; before them Dagster is still starting the run.)"""
    build.wait_for(rf"ingesting {re.escape(release_id)}\b")
    t0 = time.monotonic()
    done = rf"{re.escape(release_id)}/\S+ \(\w+\):"  # the per-file result line: that file is finished
    wait_until(lambda: build.workers() or build.seen(done) or build.proc.poll() is not None, timeout=2.0)
    time.sleep(0.15)
    if build.seen(done) or build.proc.poll() is not None:
        build.kill()
        pytest.fail(f"harness: {release_id} finished ingesting before the fault could be injected "
                    f"({time.monotonic() - t0:.2f} s after its ingest began)\n{build.tail()}")
    build.signal(sig, group=group)


def next_build_equals_clean(problems: Problems, raw: Path, wh: Path, clean_wh: Path, env: dict | None = None,
                            label: str = "next build") -> Build | None:
    """The build after the fault: exits 0 (not hung), leaves no publish temporaries, equals the clean build."""
    build = Build(raw, wh, env, label=label)
    rc = build.wait(what="(after the fault)", problems=problems)
    if rc is None:
        return None
    if not problems.check(rc == 0, f"{label} exited {rc}, not 0\n{build.tail(25)}"):
        return None
    problems.check(not tmp_files(wh), f"publish temporaries left beside the warehouse after {label}: {tmp_files(wh)}")
    problems.extend(f"{label} differs from a clean build: ", differences(wh, clean_wh))
    return build


def assert_published_intact(problems: Problems, wh: Path, before_sha: str, moment: str, allow_new: bool) -> None:
    """The published file is the earlier one byte for byte or (allow_new) a complete new one."""
    if not problems.check(wh.exists(), f"after a kill -9 {moment} the published file is missing"):
        return
    sha = file_sha256(wh)
    if sha == before_sha:
        return
    broken = opens_complete(wh)
    if not allow_new:
        problems.check(False, f"after a kill -9 {moment} the published file changed (sha256 {sha[:12]}…, "
                              f"was {before_sha[:12]}…){': ' + broken if broken else ''}")
    else:
        problems.check(broken is None, f"after a kill -9 {moment} the published file is partial: {broken}")


def quarantine_rows(problems: Problems, wh: Path, env: dict | None = None, when: str = "") -> None:
    db = state_dir(wh, env) / "build.duckdb"
    try:
        rows = transient_quarantines(db)
    except duckdb.Error as exc:
        problems.check(False, f"{when}: the build database {db} cannot be opened read-only: {exc}")
        return
    problems.extend(f"{when}: a transient failure became a quarantine row: ", rows)


# ---------------------------------------------------------------- 1. kill -9 during ingest
def test_kill9_during_ingest_then_next_build_equals_clean(big_raw, clean, tmp_path):
    wh = tmp_path / "wh" / WH_NAME
    build = Build(big_raw, wh, label="build killed during ingest")
    kill_mid_ingest(build, BIG_RELEASE, signal.SIGKILL, group=True)
    build.wait(timeout=30)

    problems = Problems()
    if next_build_equals_clean(problems, big_raw, wh, clean):
        with duckdb.connect(str(wh), read_only=True) as con:
            n = con.execute("select count(*) from events where release_id = ? and event_type = 'email_message'",
                            [BIG_RELEASE]).fetchone()[0]
        problems.check(n == N_MESSAGES, f"{BIG_RELEASE} has {n} messages in the published event log, not {N_MESSAGES}")
    quarantine_rows(problems, wh, when="after the kill -9 and the next build")
    problems.raise_if_any()


# ---------------------------------------------------------------- 2. SIGINT during ingest
@pytest.mark.parametrize("to_group", [False, True], ids=["sigint-main-pid", "sigint-process-group"])
def test_sigint_during_ingest_exits_130_and_leaves_no_quarantine(big_raw, clean, tmp_path, to_group):
    wh = tmp_path / "wh" / WH_NAME
    build = Build(big_raw, wh, label="build interrupted during ingest")
    kill_mid_ingest(build, BIG_RELEASE, signal.SIGINT, group=to_group)
    problems = Problems()
    rc = build.wait(timeout=SIGNAL_GRACE_S, stall=None, what=f"after SIGINT (not ended within {SIGNAL_GRACE_S} s)",
                    problems=problems)
    problems.check(rc in (130, None), f"exit {rc} after SIGINT, not 130\n{build.tail(25)}")
    problems.check("interrupted" in build.output.lower(), "no 'interrupted' in the output after SIGINT")
    left = build.survivors()
    problems.check(not left, f"processes of the build outlived it after SIGINT: {left}")
    if left:
        build.kill()
    quarantine_rows(problems, wh, when="after SIGINT during ingest")
    next_build_equals_clean(problems, big_raw, wh, clean)
    problems.raise_if_any()


# ---------------------------------------------------------------- 3. SIGTERM during dbt
DBT_RUNNING = r"\d+ of \d+ OK created sql table model marts\."  # dbt has built a mart and goes on


def test_sigterm_during_dbt_exits_143_promptly_and_keeps_the_published_file(big_raw, clean, tmp_path):
    wh = copy_deployment(clean, tmp_path)
    before = file_sha256(wh)
    build = Build(big_raw, wh, label="build terminated during dbt")
    build.wait_for(DBT_RUNNING)
    build.signal(signal.SIGTERM)  # `kill <pid>`: the main process only; it must take its helpers down
    problems = Problems()
    rc = build.wait(timeout=SIGNAL_GRACE_S, stall=None, what=f"after SIGTERM (not ended within {SIGNAL_GRACE_S} s)",
                    problems=problems)
    problems.check(rc in (143, None), f"exit {rc} after SIGTERM, not 143\n{build.tail(25)}")
    problems.check("interrupted" in build.output.lower(), "no 'interrupted' in the output after SIGTERM")
    left = build.survivors()
    problems.check(not left, f"processes of the build outlived it after SIGTERM: {left}")
    if left:
        build.kill()
    problems.check(file_sha256(wh) == before, "the published file changed after SIGTERM during dbt")
    next_build_equals_clean(problems, big_raw, wh, clean)
    problems.raise_if_any()


# ---------------------------------------------------------------- 4-6. kill -9 during dbt, the gates, publish
def _kill9_then_rebuild(big_raw, clean, wh, build, before, moment, allow_new):
    build.kill()
    problems = Problems()
    assert_published_intact(problems, wh, before, moment, allow_new)
    next_build_equals_clean(problems, big_raw, wh, clean)
    quarantine_rows(problems, wh, when=f"after a kill -9 {moment} and the next build")
    problems.raise_if_any()


def test_kill9_during_dbt_keeps_the_published_file_and_the_next_build_runs(big_raw, clean, tmp_path):
    wh = copy_deployment(clean, tmp_path)
    before = file_sha256(wh)
    build = Build(big_raw, wh, label="build killed during dbt")
    build.wait_for(DBT_RUNNING)
    _kill9_then_rebuild(big_raw, clean, wh, build, before, "during dbt", allow_new=False)


def test_kill9_during_gates_keeps_the_published_file_and_the_next_build_runs(big_raw, clean, tmp_path):
    """The GX gates run after dbt has finished, one mart after another, so the moment dbt reports it
    finished, the build is in its gates (several seconds for 11 suites)."""
    wh = copy_deployment(clean, tmp_path)
    before = file_sha256(wh)
    build = Build(big_raw, wh, label="build killed during the gates")
    build.wait_for(r"Finished dbt command")
    in_publish = bool(tmp_files(wh)) or build.seen(r"published_warehouse - published")
    _kill9_then_rebuild(big_raw, clean, wh, build, before,
                        "during publish (meant: the gates)" if in_publish else "during the gates", allow_new=in_publish)


def test_kill9_during_publish_leaves_old_or_complete_new_file(big_raw, clean, tmp_path):
    wh = copy_deployment(clean, tmp_path)
    before = file_sha256(wh)
    build = Build(big_raw, wh, label="build killed during publish")
    build.wait_for(r"Finished dbt command")
    if not wait_until(lambda: tmp_files(wh) or build.proc.poll() is not None, timeout=120, interval=0.002):
        build.kill()
        pytest.fail(f"build hung: no publish temporary within 120 s of dbt finishing\n{build.tail()}")
    if not tmp_files(wh):
        pytest.fail(f"harness: the build ended (exit {build.proc.poll()}) before its publish temporary was seen\n{build.tail()}")
    _kill9_then_rebuild(big_raw, clean, wh, build, before, "during publish", allow_new=True)


# ---------------------------------------------------------------- 7. two builds at once
def test_second_build_exits_3_while_one_is_running(big_raw, clean, tmp_path):
    wh = copy_deployment(clean, tmp_path)
    first = Build(big_raw, wh, label="first build")
    first.wait_for(r"ingesting ")
    before = file_sha256(wh)
    second = Build(big_raw, wh, label="second build")
    problems = Problems()
    rc2 = second.wait(timeout=LOCK_REFUSAL_S, stall=None, what=f"(not refused within {LOCK_REFUSAL_S} s)",
                      problems=problems)
    first_running = first.proc.poll() is None
    sha_after_second = file_sha256(wh)
    problems.check(rc2 in (3, None), f"the second build exited {rc2}, not 3\n{second.tail(25)}")
    problems.check(f"a build is running (pid {first.pid}" in second.output,
                   f"the second build does not name the running one ('a build is running (pid {first.pid}, since …')")
    problems.check(not re.search(r"^published ", second.output, re.MULTILINE), "the second build published")
    if first_running:
        problems.check(sha_after_second == before, "the published file changed while the second build ran")
    rc1 = first.wait(problems=problems)
    problems.check(rc1 in (0, None), f"the first build exited {rc1}, not 0\n{first.tail(25)}")
    if rc1 == 0:
        problems.extend("the first build differs from a clean build: ", differences(wh, clean))
    problems.raise_if_any()


# ---------------------------------------------------------------- 8. full disk
TMPFS_SIZE = "16m"  # holds Dagster's home and the sample's events, not the 20k-message mailbox's


def test_full_disk_fails_with_the_real_error_and_the_next_build_recovers(big_raw, clean, tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mnt)],
                             capture_output=True, text=True, timeout=30)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root / CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        env = {"FOIL_STATE_DIR": str(mnt / "state")}
        wh = tmp_path / "wh" / WH_NAME
        build = Build(big_raw, wh, env, label="build on a full disk")
        problems = Problems()
        rc = build.wait(problems=problems)
        problems.check(rc in (1, None), f"exit {rc} on a full disk, not 1\n{build.tail(25)}")
        problems.check(re.search(r"no space left on device|database or disk is full", build.output, re.IGNORECASE)
                       is not None, f"the output does not name the full disk\n{build.tail(15)}")
        problems.check("Traceback" not in build.output, f"a raw traceback instead of a message\n{build.tail(25)}")
        problems.check(not build.seen(r"^published "), "the build published although the disk was full")
        remount = subprocess.run(["mount", "-o", "remount,size=1g", str(mnt)], capture_output=True, text=True, timeout=30)
        assert remount.returncode == 0, f"could not enlarge the tmpfs: {remount.stderr}"
        quarantine_rows(problems, wh, env, when="after the full disk")
        next_build_equals_clean(problems, big_raw, wh, clean, env, label="build after freeing space")
        problems.raise_if_any()
    finally:
        Build.kill_all()  # nothing may keep the mount busy
        if subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


# ---------------------------------------------------------------- 9. a 50 MB single-line message
BIG_MESSAGE_BYTES = 50 * 1024 * 1024
GOOD_IDS = [f"good-{i}@nypd.example" for i in range(6)]
BIG_ID = "huge-one-line@nypd.example"


def _mbox_with_a_huge_message(path: Path) -> None:
    """Six ordinary messages around one whose body is a single 50 MB line."""
    sep = b"From sender@nypd.example Mon Oct  1 10:00:00 2018\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for i, mid in enumerate(GOOD_IDS):
            out.write(sep + eml(mid, subject=f"Ordinary message {i}").replace(b"\r\n", b"\n") + b"\n")
            if i == 2:
                head = eml(BIG_ID, subject="One very long line", body="").replace(b"\r\n", b"\n").rstrip(b"\n")
                out.write(sep + head + b"\n")
                line = b"lorem ipsum dolor sit amet "
                out.write((line * (BIG_MESSAGE_BYTES // len(line) + 1))[:BIG_MESSAGE_BYTES] + b"\n\n")


def _mailbox_events(wh: Path) -> dict:
    db = state_dir(wh) / "build.duckdb"
    if not db.exists():
        return {"ids": set(), "file_quarantined": [], "item_quarantined": []}
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select event_type, payload ->> 'message_id', payload ->> 'reason' from raw.events "
            "where release_id = 'huge-message' and source_path = 'mailboxes/big.mbox'").fetchall()
    return {"ids": {(m or "").strip("<>") for t, m, _ in rows if t == "email_message"},
            "file_quarantined": [r for t, _, r in rows if t == "file_quarantined"],
            "item_quarantined": [r for t, _, r in rows if t == "item_quarantined"]}


def test_a_50mb_single_line_message_never_costs_the_good_ones(tmp_path):
    raw = tmp_path / "raw"
    write_release(raw, "huge-message", released_on="2021-04-05")
    _mbox_with_a_huge_message(raw / "huge-message" / "mailboxes" / "big.mbox")
    wh = tmp_path / "wh" / WH_NAME
    build = Build(raw, wh, label="build with a 50 MB message")
    problems = Problems()
    rc = build.wait(problems=problems)
    seen = _mailbox_events(wh)
    problems.check(not seen["file_quarantined"],
                   f"the whole mailbox was quarantined (its good messages with it): {seen['file_quarantined']}")
    problems.extend("a transient failure became a quarantine row: ",
                    [r for r in seen["item_quarantined"] if r and re.search(r"memory|space|interrupt", r, re.I)])
    if rc == 0:
        problems.check(set(GOOD_IDS) <= seen["ids"], f"good messages missing: {sorted(set(GOOD_IDS) - seen['ids'])}")
        if BIG_ID not in seen["ids"]:
            quarantined = seen["item_quarantined"]
            problems.check(len(quarantined) == 1, f"the big message is neither read nor quarantined alone: {quarantined}")
            for reason in quarantined:
                problems.check(re.search(r"\d+(\.\d+)?\s*(bytes|[KMG]i?B)\b", reason or "", re.I) is not None
                               and re.search(r"FOIL_[A-Z_]+", reason or "") is not None,
                               f"the big message's quarantine reason names neither its size nor the setting to raise: {reason!r}")
    elif rc == 1:
        problems.check(re.search(r"memory", build.output, re.I) is not None,
                       f"exit 1 without naming the real error (DuckDB's memory cap)\n{build.tail(15)}")
        retry = Build(raw, wh, {"FOIL_DUCKDB_MEMORY": "2GB"}, label="rerun with FOIL_DUCKDB_MEMORY=2GB")
        rc2 = retry.wait(problems=problems)
        again = _mailbox_events(wh)
        problems.check(rc2 == 0, f"the rerun with FOIL_DUCKDB_MEMORY=2GB exited {rc2}\n{retry.tail(25)}")
        problems.check(set(GOOD_IDS) | {BIG_ID} <= again["ids"],
                       f"after the rerun with 2GB, messages missing: {sorted(set(GOOD_IDS) | {BIG_ID} - again['ids'])}")
        problems.check(not again["file_quarantined"], f"the mailbox is quarantined: {again['file_quarantined']}")
    elif rc is not None:
        problems.check(False, f"exit {rc} (expected 0, or 1 naming the memory cap)\n{build.tail(25)}")
    problems.raise_if_any()
