"""Incremental build benchmark: a release of 1% more messages onto a warehouse of N, built incrementally
(`foil build`) and then rebuilt in full from the same event log (`foil build --full`), same run.

  initial      `foil build` of N messages (one mbox release; bench/corpus.py) into an empty warehouse
  incremental  a second release of N/100 new messages (replies thread into the first), `foil build`
  full         `foil build --full` right after: the same log (nothing left to ingest), every model rebuilt

Reports seconds, peak memory (summed PSS of the build's process tree, sampled every 50 ms; every run
is watched the same way), the phases (bench/phases.py) and dbt's slowest models. Target (issue #18 §2):
incremental ≤ 15% of full, peak ≤ 1 GiB, at 1M messages; both publish the same tables, row for row
(`differences` in the results, from pipelines/lib/compare.py).
Usage: .venv/bin/python bench/bench_incremental.py [--messages 100000] [--share 0.01] [--workdir DIR]
       [--reuse]  (with --workdir: start again from the initial build an earlier run kept there)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
from bench_build import PeakMemory  # noqa: E402
from corpus import write_release  # noqa: E402
from phases import build_phases  # noqa: E402

from pipelines.lib.compare import differences  # noqa: E402
from pipelines.lib.paths import resolve  # noqa: E402


def foil_build(raw: Path, warehouse: Path, *extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FOIL_STATE_DIR")}
    start, started_at = time.perf_counter(), time.time()
    proc = subprocess.Popen([str(REPO / ".venv/bin/foil"), "build", "--raw", str(raw), "--warehouse", str(warehouse),
                             *extra], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with PeakMemory(proc.pid) as mem:
        out, _ = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"foil build {' '.join(extra)} failed ({proc.returncode}):\n{out[-4000:]}")
    return {"seconds": round(seconds, 2), "peak_mem_mib": round(mem.peak / 2**20),
            "published_mib": round(warehouse.stat().st_size / 2**20),
            "full_rebuild": "full rebuild" in out, "phases_s": build_phases(warehouse, started_at),
            "slowest_models_s": slowest_models(warehouse)}


def slowest_models(warehouse: Path, n: int = 8) -> dict:
    results = json.loads((resolve(warehouse=warehouse).state_dir / "dbt_target" / "run_results.json").read_text())
    models = sorted((r for r in results["results"] if r["unique_id"].startswith("model.")),
                    key=lambda r: -r["execution_time"])
    return {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in models[:n]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--share", type=float, default=0.01, help="size of the added release, as a share of --messages")
    ap.add_argument("--workdir", type=Path, help="keep the corpus and warehouse here (default: a temp folder)")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    ap.add_argument("--reuse", action="store_true",
                    help="with --workdir: restore the initial build an earlier run kept there instead of building it")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-incremental-"))
    raw, warehouse = work / "raw", work / "wh" / "analytics.duckdb"
    n, added = args.messages, max(1, round(args.messages * args.share))
    initial = work / "wh-initial"  # the warehouse folder (published file and state) after the initial build
    if args.reuse and not initial.is_dir():
        raise SystemExit(f"--reuse: no initial build kept in {initial}; run once with --workdir {work} first")
    if args.reuse:
        shutil.rmtree(warehouse.parent, ignore_errors=True)
        shutil.copytree(initial, warehouse.parent)
        for folder in raw.glob("bench-mbox-added-*"):
            shutil.rmtree(folder)
    else:
        shutil.rmtree(raw, ignore_errors=True)
        shutil.rmtree(warehouse.parent, ignore_errors=True)
        shutil.rmtree(initial, ignore_errors=True)
        write_release(raw, n)
    # parse the dbt project now if its files changed (a one-time cost per code change, not per build)
    subprocess.run([str(REPO / ".venv/bin/python"), "-c",
                    "from pipelines.defs.transform.project import dbt_project; dbt_project()"], cwd=REPO, check=True)
    result = {"messages": n, "added": added, "cores": os.cpu_count(), "duckdb": duckdb.__version__,
              "date": dt.date.today().isoformat()}
    if args.reuse:
        result["initial"] = "reused: the warehouse of an earlier run (--reuse)"
    else:
        print(f"initial build of {n:,} messages …", flush=True)
        result["initial"] = foil_build(raw, warehouse)
        if args.workdir:
            shutil.copytree(warehouse.parent, initial)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        published = con.execute("select count(*) from messages").fetchone()[0]
    assert published == n, f"the initial warehouse holds {published:,} messages, not {n:,}"
    write_release(raw, added, seed=11, start=n, name=f"bench-mbox-added-{added}", released_on="2021-05-05")
    print(f"incremental build after adding {added:,} messages …", flush=True)
    result["incremental"] = foil_build(raw, warehouse)
    incremental = work / "incremental.duckdb"  # what the incremental build published, for the comparison
    shutil.copyfile(warehouse, incremental)
    print("full rebuild of the same event log …", flush=True)
    result["full"] = foil_build(raw, warehouse, "--full")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute("select count(*) from messages").fetchone()[0]
    assert got == n + added, f"published {got} messages, expected {n + added}"
    assert not result["incremental"]["full_rebuild"] and result["full"]["full_rebuild"]
    print("comparing the incremental build with the full rebuild, table for table …", flush=True)
    start = time.perf_counter()
    result["differences"] = differences(incremental, warehouse)
    result["compare_s"] = round(time.perf_counter() - start, 1)
    incremental.unlink()
    result["incremental_share_of_full"] = round(result["incremental"]["seconds"] / result["full"]["seconds"], 3)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    if result["differences"]:
        raise SystemExit(f"the incremental build differs from the full rebuild: {result['differences']}")


if __name__ == "__main__":
    main()
