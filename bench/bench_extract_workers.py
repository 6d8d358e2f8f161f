"""Extraction throughput on Dask: the same tasks on a LocalCluster of 1 worker and of 2 (target: >= 1.7x).

What the workers do in a build, without the event log: the ingest's tasks for N small .eml files
(groups of files, read by workers that share this machine's folder, and as a remote worker gets them:
with the files' bytes), the mbox reader's tasks for one mailbox of N messages (ranges of messages,
with their bytes) and, with Tesseract installed, OCR tasks for scanned pages (the sample's scanned PDF
pages rendered as the reader renders them, sent as a named scheduler gets them). Results are consumed in order as the build does; the one DuckDB writer is left out
(bench_ingest_files.py measures the whole ingest). The cluster is started and warmed up (imports on
each worker) before the clock starts; its start-up is reported apart. Corpus: bench/corpus.py.
Usage: .venv/bin/python bench/bench_extract_workers.py [--messages 10000] [--workdir DIR] [--out results.json]
"""
from __future__ import annotations

import argparse
import json
import mmap
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from corpus import write_release  # noqa: E402

from pipelines.lib import ingest  # noqa: E402
from pipelines.lib.cluster import Cluster  # noqa: E402
from pipelines.lib.release_files import RegularFiles, list_entries  # noqa: E402
from pipelines.readers import mbox, ocr  # noqa: E402

SCANS = HERE.parent / "raw" / "nypd-clearview-2022-05-scanned" / "scans" / "NYPD-CV-SCAN-0001.pdf"


def run_eml(cluster: Cluster, folder: Path, shared: bool) -> int:
    """Messages extracted from the folder's files by the workers."""
    slots = cluster.slots()
    items = 0
    with RegularFiles(folder) as opened:
        tasks = (ingest._chunk_task(task, opened, shared, folder.name, {}, {})
                 for task in ingest._chunks(list_entries(folder), {}, slots))
        for _, files in cluster.map(ingest._read_chunk, tasks, ingest.AHEAD * slots):
            for outcomes, _, _ in files:
                assert outcomes is not None, "a file was left to the build process"
                items += outcomes[0].stats.extracted_items
    return items


def run_mbox(cluster: Cluster, path: Path) -> int:
    """Messages parsed from the mailbox by the workers (carriers of attached messages aside)."""
    items = 0
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        tasks = mbox._tasks(mm, iter(mbox.split_offsets(mm)))
        for _, extracted, _ in cluster.map(mbox._parse_range, tasks, mbox.AHEAD * cluster.slots()):
            items += extracted
    return items


def page_images(pages: int) -> list:
    """`pages` page images: the scanned PDF's pages, rendered at 300 dpi in greyscale, over and over."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(SCANS))
    try:
        rendered = [doc[i].render(scale=ocr.RENDER_DPI / 72, grayscale=True).to_pil() for i in range(len(doc))]
    finally:
        doc.close()
    return [rendered[i % len(rendered)] for i in range(pages)]


def run_ocr(cluster: Cluster, images: list) -> int:
    """Pages read by the workers' Tesseract (as ocr.read_pages submits them to a named scheduler)."""
    eng = ocr.engine()
    tasks = ((image, ocr.RENDER_DPI, n, "pdf_page", eng) for n, image in enumerate(images, 1))
    return sum(1 for payload in cluster.map(ocr.read_page_on_worker, tasks, 2 * cluster.slots()) if payload["words"])


def measure(workers: int, jobs: dict) -> dict:
    started = time.perf_counter()
    with Cluster(scheduler="", workers=workers) as cluster:
        cluster.client()
        startup = time.perf_counter() - started
        for warm in jobs.values():  # every worker imports the readers before the clock starts
            warm(cluster, small=True)
        out = {"workers": workers, "startup_s": round(startup, 2)}
        for name, job in jobs.items():
            t, cpu = time.perf_counter(), time.process_time()
            items = job(cluster, small=False)
            seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
            # build_process_cpu_s: what this process spent meanwhile (tasks, results, the local scheduler)
            out[name] = {"items": items, "seconds": round(seconds, 2), "items_per_s": round(items / seconds, 2 if items < 1000 else None),
                         "build_process_cpu_s": round(cpu, 2)}
            print(f"  {workers} worker(s) {name}: {out[name]}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=10_000, help="eml files")
    ap.add_argument("--mbox-messages", type=int, default=50_000, help="messages of the one mailbox")
    ap.add_argument("--pages", type=int, default=12, help="scanned pages to OCR (0: none)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--out", default=None, help="also write the JSON summary here")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="foil-bench-workers-"))
    try:
        run(args, work)
    finally:
        if not args.workdir:  # a folder of our own: its corpus is regenerated next time
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    raw = work / "raw"
    sizes = {"eml": args.messages, "mbox": args.mbox_messages}
    folders = {fmt: raw / f"bench-{fmt}-{n}" for fmt, n in sizes.items()}
    warm_folder = raw / "bench-eml-200"
    for fmt, n, folder in [*((f, sizes[f], folders[f]) for f in folders), ("eml", 200, warm_folder)]:
        if not folder.exists():
            print(f"generating {folder.name} …", flush=True)
            write_release(raw, n, fmt)
    box = folders["mbox"] / "corpus.mbox"

    jobs = {
        "eml files, shared folder": lambda c, small: run_eml(c, warm_folder if small else folders["eml"], True),
        "eml files, bytes in tasks": lambda c, small: run_eml(c, warm_folder if small else folders["eml"], False),
        "one mbox, ranges": lambda c, small: 0 if small else run_mbox(c, box),
    }
    if args.pages and ocr.engine() is not None:
        images = page_images(args.pages)
        jobs["scanned pages, OCR"] = lambda c, small: run_ocr(c, images[:1] if small else images)
    one, two = measure(1, jobs), measure(2, jobs)
    out = {"eml_files": args.messages, "mbox_messages": args.mbox_messages, "pages": args.pages, "cores": len(os.sched_getaffinity(0)), "load_1min": os.getloadavg()[0],
           "one_worker": one, "two_workers": two,
           "speedup": {name: round(one[name]["seconds"] / two[name]["seconds"], 2) for name in jobs}}
    print(json.dumps(out, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
