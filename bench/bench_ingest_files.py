"""Many small files against one big one: the ingest alone (pipelines.lib.ingest.ingest_release), same run.

The same N messages (bench/corpus.py) as N .eml files and as one mbox, each ingested into a fresh build
database; the eml release is also ingested with one process (FOIL_INGEST_WORKERS=1) to show what the
worker pool adds. Reports seconds and messages/s and the eml/mbox ratio (target: <= 1.5).
Usage: .venv/bin/python bench/bench_ingest_files.py [--messages 10000] [--workdir DIR] [--out results.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from corpus import write_release  # noqa: E402

from pipelines.lib import duck  # noqa: E402
from pipelines.lib.ingest import ingest_release  # noqa: E402
from pipelines.lib.manifest import load_manifest  # noqa: E402


def ingest_seconds(folder: Path, db: Path, workers: str | None) -> tuple[float, dict]:
    db.unlink(missing_ok=True)
    saved = os.environ.pop("FOIL_INGEST_WORKERS", None)
    if workers:
        os.environ["FOIL_INGEST_WORKERS"] = workers
    try:
        start = time.perf_counter()
        with duck.connect(db) as con:
            result = ingest_release(con, load_manifest(folder))
        return time.perf_counter() - start, result.summary()
    finally:
        os.environ.pop("FOIL_INGEST_WORKERS", None)
        if saved is not None:
            os.environ["FOIL_INGEST_WORKERS"] = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--out", default=None, help="also write the JSON summary here")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="foil-bench-files-"))
    raw = work / "raw"
    releases = {fmt: raw / f"bench-{fmt}-{args.messages}" for fmt in ("eml", "mbox")}
    for fmt, folder in releases.items():
        if not folder.exists():
            print(f"generating {args.messages} messages ({fmt}) …", flush=True)
            write_release(raw, args.messages, fmt)
    runs = [("mbox", None), ("eml", None), ("eml", "1")]
    results = []
    for fmt, workers in runs:
        seconds, summary = ingest_seconds(releases[fmt], work / f"{fmt}.duckdb", workers)
        assert summary["extracted_items"] == args.messages, summary
        name = f"{fmt} ({'one process' if workers == '1' else 'default workers'})"
        results.append({"name": name, "files": summary["files"], "events": summary["new_events"],
                        "seconds": round(seconds, 2), "messages_per_s": round(args.messages / seconds)})
        print(f"  {results[-1]}", flush=True)
    out = {"messages": args.messages, "cores": len(os.sched_getaffinity(0)), "results": results,
           "eml_vs_mbox": round(results[1]["seconds"] / results[0]["seconds"], 2),
           "workers_speedup": round(results[2]["seconds"] / results[1]["seconds"], 2)}
    print(json.dumps(out, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
