"""Full-text search benchmark: index build share and query latency on a synthetic mbox corpus.

Builds a warehouse of N messages (bench/corpus.py) with `foil build`, or reuses one (--reuse), then:
  index build   seconds of the search models and their tests (dbt's run_results.json) plus writing the
                search tables into a published file (timed here the way publish writes them), as a share
                of the whole build's seconds;
  latency       median and p95 of top-10 queries (common words, rare words, mixed) and phrase queries,
                through the code path of `foil search` (sandboxed read-only connection, pipelines/lib/search.py),
                after one warm-up pass.
The corpus draws its bodies from 27 words, so every common word is in most messages: the worst case
for posting-list length. Subjects end in '#<i>', a term in one message only (the rare queries).
Usage: .venv/bin/python bench/bench_search.py [--messages 1000000] [--workdir DIR] [--reuse] [--repeat 5]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
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
from corpus import write_release  # noqa: E402
from phases import build_phases  # noqa: E402

from pipelines.lib import sandbox, search  # noqa: E402
from pipelines.lib.paths import resolve  # noqa: E402

QUERIES = {
    "common": ["search", "photo lineup", "detective evidence review", "trial access app", "thanks"],
    "rare": ["{r1}", "{r2}", "results {r3}", "{r4} match"],
    "phrase": ['"search results"', '"photo lineup"', '"follow up meeting"', '"87(2)(b)"',
               '"please call" results', '"results search" "match request"'],
}


def build(raw: Path, warehouse: Path) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FOIL_STATE_DIR")}
    subprocess.run([str(REPO / ".venv/bin/python"), "-c",
                    "from pipelines.defs.transform.project import dbt_project; dbt_project()"],
                   cwd=REPO, env=env, check=True)
    start, started_at = time.perf_counter(), time.time()
    proc = subprocess.run([str(REPO / ".venv/bin/foil"), "build", "--raw", str(raw), "--warehouse", str(warehouse)],
                          cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"foil build failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
    return seconds, started_at


def index_nodes(warehouse: Path) -> dict:
    """Seconds of the dbt nodes (models, tests, unit tests) of the search index, from run_results.json."""
    results = json.loads((resolve(warehouse=warehouse).state_dir / "dbt_target" / "run_results.json").read_text())
    nodes = {r["unique_id"]: r["execution_time"] for r in results["results"]
             if re.search(r"search_(units|documents|postings|terms|settings)", r["unique_id"])}
    models = sum(t for k, t in nodes.items() if k.startswith("model."))
    return {"models_s": round(models, 2), "tests_s": round(sum(nodes.values()) - models, 2),
            "per_model_s": {k.split(".")[-1]: round(t, 2) for k, t in nodes.items() if k.startswith("model.")}}


def publish_cost(warehouse: Path) -> dict:
    """Write the search tables from the build database into a scratch file as publish does (sorted)."""
    build_db = resolve(warehouse=warehouse).build_db
    scratch = warehouse.parent / "search-publish-probe.duckdb"
    scratch.unlink(missing_ok=True)
    from pipelines.lib import duck
    con = duck.connect(spill=duck.spill_folder(build_db))
    con.execute(f"attach {duck.sql_str(str(build_db))} as build (read_only)")
    con.execute(f"attach {duck.sql_str(str(scratch))} as pub (storage_version '{duck_storage()}', "
                f"row_group_size {duck.ROW_GROUP_ROWS})")
    start = time.perf_counter()
    for table, order in search.TABLE_ORDER.items():
        con.execute(f"create table pub.main.{table} as select * from build.marts.{table} order by {order}")
    con.execute("checkpoint pub")
    seconds = time.perf_counter() - start
    con.close()
    size = scratch.stat().st_size
    scratch.unlink()
    return {"publish_s": round(seconds, 2), "index_file_mib": round(size / 2**20, 1)}


def duck_storage() -> str:
    from pipelines.lib.publish import STORAGE_VERSION
    return STORAGE_VERSION


def latency(warehouse: Path, repeat: int) -> dict:
    con = sandbox.open_for_analysts(warehouse)
    n = con.execute("select count(*) from messages").fetchone()[0]
    rare = {f"r{i}": str(x) for i, x in enumerate((n // 3, n // 7 + 1, n // 11 + 2, n - 5), 1)}
    out = {}
    for kind, queries in QUERIES.items():
        queries = [q.format(**rare) for q in queries]
        for q in queries:  # warm-up: the first touch of a column reads it from disk
            search.search(con, q)
        times, per_query = [], {}
        for q in queries:
            mine = []
            for _ in range(repeat):
                start = time.perf_counter()
                _, hits = search.search(con, q, limit=10)
                mine.append((time.perf_counter() - start) * 1000)
            per_query[q] = {"median_ms": round(statistics.median(mine), 1), "hits": len(hits)}
            times += mine
        times.sort()
        out[kind] = {"median_ms": round(statistics.median(times), 1),
                     "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
                     "max_ms": round(times[-1], 1), "runs": len(times), "queries": per_query}
    con.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--reuse", action="store_true", help="reuse the warehouse in --workdir (no build)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="foil-bench-search-"))
    raw, warehouse = work / "raw", work / "wh" / "analytics.duckdb"
    result: dict = {"messages": args.messages, "cores": os.cpu_count(), "duckdb": duckdb.__version__}
    if not args.reuse:
        if not (raw / f"bench-mbox-{args.messages}").exists():
            print(f"writing a corpus of {args.messages} messages …", flush=True)
            write_release(raw, args.messages, "mbox")
        print("foil build …", flush=True)
        seconds, started_at = build(raw, warehouse)
        result["build_s"] = round(seconds, 2)
        result["phases_s"] = build_phases(warehouse, started_at)
        print(f"  built in {seconds:.1f} s", flush=True)
    elif (resolve(warehouse=warehouse).state_dir / "last_build.json").exists():
        result["build_s"] = None
    with duckdb.connect(str(warehouse), read_only=True) as con:
        result["units"] = con.execute("select count(*) from search_documents").fetchone()[0]
        result["postings"] = con.execute("select count(*) from search_postings").fetchone()[0]
        result["terms"] = con.execute("select count(*) from search_terms").fetchone()[0]
    index = index_nodes(warehouse)
    index.update(publish_cost(warehouse))
    index["total_s"] = round(index["models_s"] + index["tests_s"] + index["publish_s"], 2)
    if result.get("build_s"):
        index["share_of_build"] = round(index["total_s"] / result["build_s"], 3)
    result["index"] = index
    print(f"  index: {json.dumps(index)}", flush=True)
    print("queries …", flush=True)
    result["latency"] = latency(warehouse, args.repeat)
    for kind, r in result["latency"].items():
        print(f"  {kind}: median {r['median_ms']} ms, p95 {r['p95_ms']} ms", flush=True)
    out = Path(args.out) if args.out else HERE / "results" / f"{dt.date.today().isoformat()}-search-{args.messages}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
