"""Helpers for tests/test_faults.py: run `foil build` in its own process group, watch its output as it
comes, interrupt it at a chosen moment, and compare published files with a clean build.

Nothing here waits without a deadline: every wait ends in a result or in `pytest.fail("... hung ...")`
after the build's whole process group has been killed.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from .conftest import REPO

# A full build of the sample plus a 20k-message mailbox takes 15-35 s on a 2-core machine (more when
# other work shares it). A build that prints nothing for STALL_S seconds, or runs for BUILD_TIMEOUT_S,
# is declared hung: no step of a healthy build is silent for that long (dbt prints every node).
BUILD_TIMEOUT_S = float(os.environ.get("FOIL_FAULTS_BUILD_TIMEOUT", 300))
STALL_S = float(os.environ.get("FOIL_FAULTS_STALL", 45))
SIGNAL_GRACE_S = 20  # contract: the process group ends within ~20 s of SIGINT/SIGTERM
LOCK_REFUSAL_S = 60  # a second build refused by the lock exits "quickly" (imports included)

# Reasons that describe the machine or the run, never the file: they must never be quarantine rows.
TRANSIENT = re.compile(
    r"TransactionException|Interrupt|KeyboardInterrupt|SIGINT|SIGTERM|signal|No space|disk (is )?full|"
    r"I/O error|IOException|IO Error|out of memory|OutOfMemory|MemoryError|memory limit|BrokenProcessPool|Dask worker was lost|"
    r"terminated abruptly|Cancel|database is locked|Conflicting lock|Could not set lock|ENOSPC|Errno",
    re.IGNORECASE,
)

WALL_CLOCK_COLUMNS = {"events": {"ingested_at"}}  # other timestamp columns carry data, not build time
SKIP_TABLES = {"build_info"}


def foil_env(extra: dict | None = None) -> dict:
    """The environment conftest.run_foil gives the CLI, unbuffered so progress arrives line by line."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FOIL_RAW_DIR", "FOIL_WAREHOUSE", "FOIL_STATE_DIR")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def state_dir(warehouse: Path, env: dict | None = None) -> Path:
    override = (env or {}).get("FOIL_STATE_DIR")
    return Path(override) if override else warehouse.parent / f".{warehouse.stem}.state"


def pgid_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(entry))
    return members


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


class Build:
    """One `foil build -v` in a new session (its own process group), output collected by a thread."""

    live: list["Build"] = []  # every build started and not yet reaped; killed by the test's finaliser

    def __init__(self, raw: Path, warehouse: Path, env: dict | None = None, *args: str, label: str = "build"):
        self.label, self.warehouse, self.env = label, warehouse, foil_env(env)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "build", "-v", "--raw", str(raw), "--warehouse", str(warehouse), *args],
            cwd=REPO, env=self.env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, errors="replace",
        )
        self.pid = self.proc.pid
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        Build.live.append(self)

    # ------------------------------------------------------------ output
    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(line for _, line in self.lines)

    def tail(self, n: int = 40, width: int = 300) -> str:
        with self._cond:
            lines = [line[:width] for _, line in self.lines[-n:]]
        return f"--- last {len(lines)} lines of {self.label} (pid {self.pid}) ---\n" + "\n".join(lines)

    def last_output_at(self) -> float:
        with self._cond:
            return self.lines[-1][0] if self.lines else self.started

    def wait_for(self, pattern: str, timeout: float = BUILD_TIMEOUT_S, start: int = 0) -> str:
        """Wait for a line matching `pattern`; fail (after killing the group) on exit, stall or timeout."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = start
        while True:
            with self._cond:
                for _, line in self.lines[seen:]:
                    if regex.search(line):
                        return line
                seen = len(self.lines)
                if self._eof:
                    break
                self._cond.wait(0.05)
            now = time.monotonic()
            if now > deadline or now - self.last_output_at() > STALL_S:
                self.kill()
                pytest.fail(f"{self.label} hung: no line matching {pattern!r} within {timeout:.0f} s "
                            f"(silent for {now - self.last_output_at():.0f} s)\n{self.tail()}")
        rc = self.proc.wait(timeout=10)
        pytest.fail(f"{self.label} ended (exit {rc}) before a line matching {pattern!r}: the fault could not be "
                    f"injected at the intended moment\n{self.tail()}")

    def seen(self, pattern: str) -> bool:
        return re.search(pattern, self.output, re.MULTILINE) is not None

    # ------------------------------------------------------------ processes
    def members(self) -> list[int]:
        return pgid_members(self.pid)

    def workers(self) -> list[int]:
        """Pool workers of the build: forked copies of it (same command line), or spawned ones.

        Not its other helpers (Dagster's `tail -F` log capture, multiprocessing's resource tracker, the
        gate helper), which have command lines of their own."""
        own = cmdline(self.pid)
        return [p for p in self.members() if p != self.pid
                and (cmdline(p) == own or re.search(r"multiprocessing\.(spawn|forkserver)", cmdline(p)))]

    def signal(self, sig: int, group: bool = False) -> None:
        try:
            if group:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the whole process group (only processes this test started) and reap the main one.

        Only while the group still has members: a pid is not reused as a group id while its group lives."""
        if self.proc.poll() is None or self.members():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=5)

    def wait(self, timeout: float = BUILD_TIMEOUT_S, stall: float | None = STALL_S, what: str = "",
             problems: "Problems | None" = None) -> int | None:
        """Exit code of the main process; on timeout or a stall of the output: kill the group and fail
        (or, given `problems`, record the hang there and return None so the test reports it with the rest)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                rc = self.proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            stalled = stall is not None and now - self.last_output_at() > stall
            if now > deadline or stalled:
                why = (f"printed nothing for {now - self.last_output_at():.0f} s" if stalled
                       else f"still running after {timeout:.0f} s")
                extra = [f"{p}: {cmdline(p)[:150]}" for p in self.members()]
                self.kill()
                message = (f"{self.label} hung{' ' + what if what else ''}: {why}; processes in its group: "
                           f"{extra}\n{self.tail(15)}")
                if problems is None:
                    pytest.fail(message)
                problems.check(False, message)
                return None
        self._reader.join(timeout=10)
        if self in Build.live:
            Build.live.remove(self)
        return rc

    def survivors(self, grace: float = 5.0) -> list[str]:
        """Processes of the build's group still alive `grace` s after its main process ended."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            left = self.members()
            if not left:
                return []
            time.sleep(0.1)
        return [f"{p}: {cmdline(p)[:150]}" for p in self.members()]

    @classmethod
    def kill_all(cls) -> None:
        for build in list(cls.live):
            build.kill()
            cls.live.remove(build)


def wait_until(condition, timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


# ---------------------------------------------------------------- published files
def tmp_files(warehouse: Path) -> list[str]:
    """Publish temporaries (and their WALs) left beside the published file."""
    return sorted(p.name for p in warehouse.parent.glob(f".{warehouse.name}.*.tmp*"))


def opens_complete(path: Path) -> str | None:
    """None if `path` is a complete published file (opens read-only, has build_info and its tables)."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
            if "build_info" not in tables:
                return f"no build_info table (tables: {sorted(tables)})"
            listed = set(con.execute("select json_keys(row_counts) from build_info").fetchone()[0])
            for table in sorted(listed):
                if table not in tables:
                    return f"table {table} listed in build_info is missing"
                con.execute(f"select count(*) from {table}").fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
        return f"{type(exc).__name__}: {exc}"
    return None


def _columns(con, catalog: str) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = 'main' order by table_name, ordinal_position", [catalog]).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        if table in SKIP_TABLES or column in WALL_CLOCK_COLUMNS.get(table, ()):
            continue
        out.setdefault(table, []).append((column, dtype))
    return out


def differences(actual: Path, expected: Path, sample: int = 3) -> list[str]:
    """How the published file `actual` differs from the clean build `expected`: the set of tables, each
    table's columns and types, and each table's rows as a multiset (EXCEPT ALL both ways), wall-clock
    columns (events.ingested_at) and build_info excluded. Empty when equal."""
    problems = []
    with duckdb.connect(":memory:") as con:
        con.execute(f"attach '{actual}' as a (read_only)")
        con.execute(f"attach '{expected}' as e (read_only)")
        got, want = _columns(con, "a"), _columns(con, "e")
        if got.keys() != want.keys():
            problems.append(f"tables differ: missing {sorted(want.keys() - got.keys())}, extra {sorted(got.keys() - want.keys())}")
        for table in sorted(got.keys() & want.keys()):
            if got[table] != want[table]:
                problems.append(f"{table}: columns differ: {got[table]} vs clean {want[table]}")
                continue
            cols = ", ".join(f'"{c}"' for c, _ in want[table])
            n_got, n_want = (con.execute(f"select count(*) from {db}.main.{table}").fetchone()[0] for db in ("a", "e"))
            extra = con.execute(f"select count(*) from (select {cols} from a.main.{table} except all "
                                f"select {cols} from e.main.{table})").fetchone()[0]
            missing = con.execute(f"select count(*) from (select {cols} from e.main.{table} except all "
                                  f"select {cols} from a.main.{table})").fetchone()[0]
            if extra or missing:
                show = lambda x, y: [str(r)[:200] for r in con.execute(  # noqa: E731
                    f"select {cols} from {x}.main.{table} except all select {cols} from {y}.main.{table} limit {sample}").fetchall()]
                problems.append(f"{table}: {n_got} rows vs {n_want} in the clean build; {extra} extra, {missing} missing; "
                                f"e.g. extra {show('a', 'e')}, missing {show('e', 'a')}")
    return problems


def transient_quarantines(database: Path, table: str = "raw.events") -> list[str]:
    """file_quarantined / item_quarantined rows whose reason is a failure of the run, not of the file."""
    if not database.exists():
        return []
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            f"select event_type, release_id, source_path, payload ->> 'reason' from {table} "
            "where event_type in ('file_quarantined', 'item_quarantined')").fetchall()
    return [f"{t} {r}/{p}: {reason[:300]}" for t, r, p, reason in rows if reason and TRANSIENT.search(reason)]


class Problems:
    """Collect independent findings, so one run reports every broken promise, not just the first."""

    def __init__(self):
        self.items: list[str] = []

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.items.append(message)
        return ok

    def extend(self, prefix: str, items: list[str]) -> None:
        self.items.extend(f"{prefix}{item}" for item in items)

    def raise_if_any(self) -> None:
        if self.items:
            pytest.fail("\n".join(f"- {item}" for item in self.items), pytrace=False)
