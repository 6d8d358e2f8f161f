"""Ingestion benchmark: a full `foil build` against two baselines, side by side on one corpus.

  naive     standard library email (policy.default), one INSERT per message into DuckDB
  bare      fast-mail-parser + one Arrow bulk insert (the floor for any Python pipeline)
  foil      `foil build` end to end: ingest, dbt, gates (dbt tests + GX), publish

Reports messages/s, peak memory and, for `foil build`, the seconds per phase (bench/phases.py).
Times come from runs with nothing watching them: sampling /proc every 50 ms took CPU and page-table
locks from the build (three alternating pairs of 100k builds: 20.5 s unwatched, 22.3 s watched). Peak
memory (summed PSS of the whole process tree, sampled every 50 ms) comes from a second, watched run of
bare and foil; naive is run once, and its peak is the benchmark process's own maximum RSS.
Usage: .venv/bin/python bench/bench_build.py [--messages 100000] [--format mbox|eml] [--skip naive,bare]
"""
from __future__ import annotations

import argparse
import email
import json
import mmap
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from email import policy
from pathlib import Path

import duckdb
import pyarrow as pa

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from corpus import write_release  # noqa: E402
from phases import build_phases  # noqa: E402


def _pss(pid: int) -> int:
    """Proportional set size: shared pages (forked workers, mapped libraries) split between the sharers,
    so summing it over a process tree does not count the same memory twice, as RSS would."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_memory(pid: int) -> int:
    """Memory of pid and all its descendants (sum of PSS), in bytes."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += _pss(p)
        except OSError:
            pass
        todo.extend(children.get(p, []))
    return total


class PeakMemory:
    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_memory(self.pid))
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def messages(release: Path):
    """Raw message bytes from the corpus (mbox split on line-initial 'From ', or eml files)."""
    mbox = release / "corpus.mbox"
    if mbox.exists():
        with mbox.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            starts = [0]
            pos = mm.find(b"\nFrom ")
            while pos != -1:
                starts.append(pos + 1)
                pos = mm.find(b"\nFrom ", pos + 1)
            for s, e in zip(starts, starts[1:] + [len(mm)]):
                chunk = mm[s:e]
                yield chunk[chunk.find(b"\n") + 1:]
    else:
        for path in sorted((release / "emails").iterdir()):
            yield path.read_bytes()


def naive(release: Path, db: Path) -> int:
    con = duckdb.connect(str(db))
    con.execute("create table messages (message_id varchar, sender varchar, recipients varchar, subject varchar, sent varchar, body varchar)")
    n = 0
    for data in messages(release):
        msg = email.message_from_bytes(data, policy=policy.default)
        body = msg.get_body(("plain", "html"))
        con.execute("insert into messages values (?, ?, ?, ?, ?, ?)", [
            str(msg.get("Message-ID")), str(msg.get("From")), str(msg.get("To")), str(msg.get("Subject")),
            str(msg.get("Date")), body.get_content() if body else ""])
        n += 1
    con.close()
    return n


def bare(release: Path, db: Path) -> int:
    import fast_mail_parser

    cols = {k: [] for k in ("message_id", "sender", "recipients", "subject", "sent", "body")}
    for m in fast_mail_parser.parse_many(list(messages(release))):
        h = m.headers
        cols["message_id"].append(h.get("Message-ID"))
        cols["sender"].append(h.get("From"))
        cols["recipients"].append(h.get("To"))
        cols["subject"].append(m.subject)
        cols["sent"].append(m.date)
        cols["body"].append("\n".join(m.text_plain))
    table = pa.table(cols)
    con = duckdb.connect(str(db))
    con.register("batch", table)
    con.execute("create table messages as select * from batch")
    con.close()
    return table.num_rows


def measure(name: str, fn, release: Path, db: Path, watched_run: bool = True) -> dict:
    """Time `fn` unwatched; then, with `watched_run`, run it again under the memory sampler."""
    db.unlink(missing_ok=True)  # a rerun in the same workdir measures from scratch too
    start = time.perf_counter()
    n = fn(release, db)
    seconds = time.perf_counter() - start
    if watched_run:
        db.unlink()
        with PeakMemory(os.getpid()) as mem:
            fn(release, db)
        peak = mem.peak
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
    return {"name": name, "messages": n, "seconds": round(seconds, 2), "messages_per_s": round(n / seconds),
            "peak_mem_mib": round(peak / 2**20)}


def foil_build(raw: Path, warehouse: Path, n: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FOIL_STATE_DIR")}
    # Parse the dbt project first if its files changed since the last parse (the first build after a
    # code change does it, ~5 s): a one-time cost per change of code, not part of building a release.
    subprocess.run([str(REPO / ".venv/bin/python"), "-c",
                    "from pipelines.defs.transform.project import dbt_project; dbt_project()"],
                   cwd=REPO, env=env, check=True)

    def run(watched: bool) -> tuple[float, float, int]:
        shutil.rmtree(warehouse.parent, ignore_errors=True)  # each run builds from scratch
        start, started_at = time.perf_counter(), time.time()
        proc = subprocess.Popen([str(REPO / ".venv/bin/foil"), "build", "--raw", str(raw), "--warehouse", str(warehouse)],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if watched:
            with PeakMemory(proc.pid) as mem:
                out, _ = proc.communicate()
        else:
            out, _ = proc.communicate()
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"foil build failed ({proc.returncode}):\n{out[-4000:]}")
        return seconds, started_at, mem.peak if watched else 0

    _, _, peak = run(watched=True)
    seconds, started_at, _ = run(watched=False)  # last, so the warehouse left behind is the timed one
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute("select count(*) from messages").fetchone()[0]
    assert got == n, f"published {got} messages, expected {n}"
    return {"name": "foil build (ingest+dbt+gates+publish)", "messages": n, "seconds": round(seconds, 2),
            "messages_per_s": round(n / seconds), "peak_mem_mib": round(peak / 2**20),
            "phases_s": build_phases(warehouse, started_at)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--format", choices=("mbox", "eml"), default="mbox")
    ap.add_argument("--skip", default="", help="comma list of: naive, bare, foil")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="foil-bench-"))
    raw = work / "raw"
    print(f"generating {args.messages} messages ({args.format}) in {raw} …", flush=True)
    release = write_release(raw, args.messages, args.format)
    results = []
    if "naive" not in skip:
        print("naive: policy.default + row-by-row inserts …", flush=True)
        results.append(measure("naive (policy.default, row-by-row insert)", naive, release, work / "naive.duckdb",
                               watched_run=False))
        print(f"  {results[-1]}", flush=True)
    if "bare" not in skip:
        print("bare: fast-mail-parser + one Arrow insert …", flush=True)
        results.append(measure("bare (fast-mail-parser, one Arrow insert)", bare, release, work / "bare.duckdb"))
        print(f"  {results[-1]}", flush=True)
    if "foil" not in skip:
        print("foil build …", flush=True)
        results.append(foil_build(raw, work / "wh" / "analytics.duckdb", args.messages))
        print(f"  {results[-1]}", flush=True)
    by = {r["name"].split()[0]: r for r in results}
    summary = {"messages": args.messages, "format": args.format, "cores": os.cpu_count(), "results": results}
    if "foil" in by and "naive" in by:
        summary["foil_vs_naive_speedup"] = round(by["foil"]["messages_per_s"] / by["naive"]["messages_per_s"], 1)
    if "foil" in by and "bare" in by:
        summary["bare_vs_foil_slowdown"] = round(by["bare"]["messages_per_s"] / by["foil"]["messages_per_s"], 1)
    print(json.dumps(summary, indent=2))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / f"bench-{args.format}-{args.messages}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
