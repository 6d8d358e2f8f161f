"""`foil`: build, inspect and query the warehouse from a terminal.

`foil build` materialises the same Dagster asset graph the UI shows (one ingest run per release
partition, then one run for dbt, the gates and publish); there is no second code path.

Exit codes: 0 published; 1 a gate failed or the build failed (nothing published), or a query failed;
2 bad arguments, manifests or changed releases (the other releases are still built and published);
3 another build holds the state folder; 128 + signal (130 Ctrl-C, 143 SIGTERM) when interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from pipelines.lib.paths import Paths, resolve

EXIT_OK, EXIT_GATE, EXIT_INPUT, EXIT_BUSY = 0, 1, 2, 3
EXIT_SIGNAL = 128  # + the signal's number, as shells report a process a signal ended


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _say(msg: str) -> None:
    print(msg, flush=True)


class _Interrupted(Exception):
    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class _Signals:
    """SIGINT and SIGTERM stop the build, wherever they arrive.

    Dagster swaps in its own SIGINT/SIGTERM handler while a run executes: it turns the signal into a
    failed step and returns normally. The signal still reaches the wake-up pipe every Python handler
    feeds (signal.set_wakeup_fd), so the build learns of it after the run and stops there."""

    def __enter__(self):
        self._read, write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(write, False)
        self._write = write
        self._old_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        self._old = {sig: signal.signal(sig, self._raise) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.received: list[int] = []
        return self

    def _raise(self, signum, frame):
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise _Interrupted if a signal arrived since the build started."""
        try:
            self.received += list(os.read(self._read, 64))
        except BlockingIOError:
            pass
        if self.received:
            raise _Interrupted(self.received[0])

    def __exit__(self, *exc):
        try:
            self.received += list(os.read(self._read, 64))
        except BlockingIOError:
            pass
        signal.set_wakeup_fd(self._old_fd)
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        os.close(self._read)
        os.close(self._write)
        return False


# ---------------------------------------------------------------- build
def cmd_build(args) -> int:
    from pipelines.lib.lock import BuildRunning, build_lock
    from pipelines.lib.manifest import scan_releases

    paths = resolve(args.raw, args.warehouse)
    os.environ["FOIL_RAW_DIR"], os.environ["FOIL_WAREHOUSE"] = str(paths.raw_dir), str(paths.warehouse)
    try:
        manifests, errors = scan_releases(paths.raw_dir)
    except FileNotFoundError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    for err in errors:
        _err(f"rejected: {err}")
    ids = [m.release_id for m in manifests]
    if args.as_of and args.as_of not in ids:
        _err(f"error: --as-of {args.as_of!r} is not a valid release in {paths.raw_dir} (releases: {', '.join(ids) or 'none'})")
        return EXIT_INPUT
    if not manifests:
        _err(f"error: no valid release folders in {paths.raw_dir} (each needs a release.yaml; see docs/releases.md)")
        return EXIT_INPUT
    signals = _Signals()
    try:
        with build_lock(paths.state_dir, "foil build"), signals:
            return _build(args, paths, manifests, errors, signals)
    except BuildRunning as exc:
        _err(f"error: {exc}")
        return EXIT_BUSY
    except (KeyboardInterrupt, _Interrupted) as exc:
        signum = exc.signum if isinstance(exc, _Interrupted) else (signals.received or [signal.SIGINT])[0]
        _err(f"interrupted ({signal.Signals(signum).name}): stopped; nothing new was published and the published "
             f"file is untouched. Every file committed so far is kept: run `foil build` again to resume.")
        return EXIT_SIGNAL + signum
    except Exception as exc:  # the machine, not the data: e.g. a full disk under Dagster's own storage
        _err(f"BUILD FAILED: {exc.__class__.__name__}: {exc}")
        for folder in _full_disks(exc, paths):
            _err(f"  No space left on device: the disk holding {folder} is full; free space there.")
        _err("  nothing new was published; the published file is untouched and every file read so far is kept.")
        _err("  fix the cause and run `foil build` again to resume (--verbose shows the full log).")
        return EXIT_GATE


def _full_disks(exc: BaseException, paths: Paths) -> list[Path]:
    """The build's folders whose disk is full (SQLite often reports a full disk as a 'disk I/O error')."""
    import errno
    import shutil

    said = False
    while exc is not None and not said:
        said = getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in str(exc) or "No space left" in str(exc)
        exc = exc.__cause__ or exc.__context__
    full, devices = [], set()
    for folder in (paths.state_dir, paths.warehouse.parent):
        try:
            device = folder.stat().st_dev
            if device not in devices and shutil.disk_usage(folder).free < (64 << 20):
                full.append(folder)
            devices.add(device)
        except OSError:
            pass
    return full or ([paths.state_dir] if said else [])


def _build(args, paths: Paths, manifests, errors, signals: _Signals) -> int:
    from pipelines.lib import recovery
    from pipelines.lib.memory import kept_for_good

    with kept_for_good():
        import dagster as dg

        from pipelines.lib.instance import prepare_dagster_home

        prepare_dagster_home(paths)
        _say(f"foil build: {len(manifests)} release(s) from {paths.raw_dir} -> {paths.warehouse}")
        _say("loading the asset graph (dbt manifest, Dagster definitions)…")
        try:
            from pipelines.definitions import defs
        except Exception as exc:  # e.g. a dbt project that does not parse
            _err(f"BUILD FAILED: the asset graph could not be loaded: {exc}")
            _err("  fix the dbt project or definitions (try: cd dbt_project && ../.venv/bin/dbt parse --profiles-dir .)")
            return EXIT_GATE

    level = "INFO" if args.verbose else "WARNING"
    log_config = {"loggers": {"console": {"config": {"log_level": level}}}}
    instance = dg.DagsterInstance.get()
    # What a killed build left: runs still "started" (each holding the one DuckDB pool slot, so every
    # later build would wait forever), a half-written publish, extracted archive members.
    dead = recovery.release_dead_runs(instance)
    leftovers = recovery.clear_leftovers(paths)
    if dead or leftovers:
        _say(f"recovering from an interrupted build: {len(dead)} dead run(s) marked failed"
             + (f", removed {', '.join(leftovers)}" if leftovers else ""))
    known = set(instance.get_dynamic_partitions("release"))
    instance.add_dynamic_partitions("release", [m.release_id for m in manifests if m.release_id not in known])
    tags = {recovery.PID_TAG: str(os.getpid())}

    refused: list[str] = []
    ingest_job = defs.resolve_job_def("ingest_release")
    for n, manifest in enumerate(manifests, 1):
        started = time.monotonic()
        _say(f"[{n}/{len(manifests)}] ingesting {manifest.release_id} …")
        result = ingest_job.execute_in_process(
            partition_key=manifest.release_id, instance=instance, run_config=log_config, raise_on_error=False,
            resources={}, tags=tags,
        )
        signals.check()
        meta = _materialization_metadata(result, "raw/events")
        if meta.get("refused"):
            refused.append(manifest.release_id)
            _err(f"  refused {manifest.release_id}: {_failure_text(result)}")
            continue
        if not result.success:
            # Not the content (that is quarantined per file): the machine or the run. Publishing now
            # would publish without this release, so stop; what was committed stays for the next build.
            _err(f"BUILD FAILED while ingesting {manifest.release_id}: {_failure_text(result)}")
            _err("  nothing was published; the previous warehouse file is untouched. Every file read so far is kept:")
            _err("  fix the cause (disk space, memory: FOIL_DUCKDB_MEMORY) and run `foil build` again to resume.")
            _write_report(paths, {"run_id": result.run_id, "published": False, "rejected": [str(e) for e in errors],
                                  "refused": refused, "checks": [], "failed": _failure_text(result)})
            return EXIT_GATE
        _say(
            f"  {meta.get('files', 0)} files: {meta.get('documents', 0)} documents, "
            f"{meta.get('quarantined_files', 0)} quarantined; {meta.get('extracted_items', 0)} items; "
            f"{meta.get('new_events', 0)} new events ({time.monotonic() - started:.1f} s)"
        )

    _say("building marts with dbt, running gates (dbt tests + Great Expectations), publishing …")
    started = time.monotonic()
    config = {"as_of_release": args.as_of or ""}
    result = defs.resolve_job_def("build_warehouse").execute_in_process(
        instance=instance,
        run_config={**log_config, "ops": {"warehouse_models": {"config": config}, "published_warehouse": {"config": config}}},
        raise_on_error=False, tags=tags,
    )
    signals.check()
    checks = [
        {"asset": ev.asset_key.to_user_string(), "check": ev.check_name, "passed": ev.passed,
         "description": (ev.description or "")[:2000]}
        for ev in result.get_asset_check_evaluations()
    ]
    published = bool(_materialization_metadata(result, "published_warehouse"))
    failed = [c for c in checks if not c["passed"]]
    _write_report(paths, {"run_id": result.run_id, "published": published, "as_of_release": args.as_of,
                          "rejected": [str(e) for e in errors], "refused": refused, "checks": checks,
                          "withdrawn": _withdrawn(paths)})
    _say(f"  {len(checks) - len(failed)}/{len(checks)} checks passed ({time.monotonic() - started:.1f} s)")

    if not published:
        what = "GATE FAILED" if failed else "BUILD FAILED"
        _err(f"{what}: nothing was published; the previous warehouse file is untouched.")
        for c in failed:
            _err(f"  failed check {c['asset']}:{c['check']}")
            for line in c["description"].splitlines()[1:]:
                _err(f"  {line}")
        if not failed:
            _err(f"  the run failed before the gates: {_failure_text(result)}")
        _err(f"  details: foil status --warehouse {paths.warehouse}; rerun with --verbose for the full log")
        return EXIT_GATE
    _print_summary(paths)
    if errors or refused:
        _err(f"published, but {len(errors)} release folder(s) were rejected and {len(refused)} refused; see above")
        return EXIT_INPUT
    return EXIT_OK


def _write_report(paths: Paths, report: dict) -> None:
    report = {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **report}
    paths.last_build_report.parent.mkdir(parents=True, exist_ok=True)
    tmp = paths.last_build_report.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, paths.last_build_report)  # never half a report after a kill


def _withdrawn(paths: Paths) -> list[dict]:
    import duckdb

    from pipelines.lib import withdraw

    try:
        with duckdb.connect(str(paths.build_db), read_only=True) as con:
            return withdraw.withdrawn(con)
    except duckdb.Error:
        return []


def _materialization_metadata(result, key: str) -> dict:
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            mat = event.event_specific_data.materialization
            if mat.asset_key.to_user_string() == key:
                return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    return {}


def _failure_text(result) -> str:
    """A failed check's description, else the innermost error of the first failed step."""
    for ev in result.get_asset_check_evaluations():
        if not ev.passed and ev.description:
            return ev.description
    for event in result.all_events:
        if event.is_step_failure:
            data = event.event_specific_data
            if getattr(data, "user_failure_data", None) and data.user_failure_data.description:
                return data.user_failure_data.description
            err = data.error
            while err is not None and err.cause is not None:
                err = err.cause
            text = (err.message if err else event.message or "").strip()
            return f"step {event.step_key}: {text}" if text else f"step {event.step_key} failed"
    return "run failed"


def _print_summary(paths: Paths) -> None:
    import duckdb

    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        counts = dict(con.execute(
            "select 'releases', count(*) from releases union all select 'messages', count(*) from messages "
            "union all select 'accounts', count(*) from accounts union all select 'searches', coalesce(sum(search_count), 0) from searches "
            "union all select 'contacts', count(*) from contacts union all select 'referrals', count(*) from referrals"
        ).fetchall())
        checks = json.loads(con.execute("select checks from build_info").fetchone()[0] or "[]")
    _say(f"published {paths.warehouse}")
    _say("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    report = json.loads(paths.last_build_report.read_text()) if paths.last_build_report.exists() else {}
    checks = report.get("checks", checks)
    _say(f"  gates: {sum(c['passed'] for c in checks)}/{len(checks)} passed")
    _say(f"  query it: .venv/bin/foil query \"select * from accounts limit 5\"  (or duckdb -readonly {paths.warehouse})")


# ---------------------------------------------------------------- withdraw
def cmd_withdraw(args) -> int:
    """Record that a release is withdrawn (or, with --undo, reinstated), then rebuild and publish."""
    import duckdb

    from pipelines.lib import duck, withdraw
    from pipelines.lib.lock import BuildRunning, build_lock

    paths = resolve(args.raw, args.warehouse)
    if not args.reason.strip():
        _err("error: --reason must say why (it is kept with the event and shown by foil status)")
        return EXIT_INPUT
    if not paths.build_db.exists():
        _err(f"error: no event log at {paths.build_db}: nothing has been built for {paths.warehouse} yet")
        return EXIT_INPUT
    try:
        with build_lock(paths.state_dir, f"foil withdraw {args.release}"):
            with duck.connect(paths.build_db) as con:
                event = withdraw.record(con, args.release, args.reason.strip(), undo=args.undo)
            verb = "reinstated" if args.undo else "withdrawn"
            _say(f"{args.release} {verb} ({event['at']}, by {event['by']}): {event['reason']}")
            if args.no_build:
                _say("run `foil build` to publish the warehouse " + ("with" if args.undo else "without") + " it")
                return EXIT_OK
            _say("rebuilding the warehouse " + ("with" if args.undo else "without") + " it …")
            return cmd_build(argparse.Namespace(raw=args.raw, warehouse=args.warehouse, as_of=None, verbose=args.verbose))
    except BuildRunning as exc:
        _err(f"error: {exc}")
        return EXIT_BUSY
    except (withdraw.WithdrawError, duckdb.Error) as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT


# ---------------------------------------------------------------- status
STATUS_SQL = """
with files as (
    select release_id, source_path, event_type, payload from events
    where event_type in ('file_observed', 'file_quarantined')
)
select r.release_id,
       (r.payload ->> 'released_on') as released_on,
       (select count(distinct source_path) from files f where f.release_id = r.release_id) as files,
       (select count(distinct source_path) from files f where f.release_id = r.release_id and event_type = 'file_observed') as documents,
       (select count(*) from events e where e.release_id = r.release_id and e.event_type = 'email_message') as messages,
       (select count(*) from events e where e.release_id = r.release_id and e.event_type in ('roster_row', 'search_log_row')) as records,
       (select count(distinct source_path) from files f where f.release_id = r.release_id and event_type = 'file_quarantined') as quarantined,
       (select count(*) from events e where e.release_id = r.release_id and e.event_type = 'item_quarantined') as quarantined_messages,
       (select coalesce(sum((payload ->> 'expected_items')::bigint), 0) from files f where f.release_id = r.release_id and event_type = 'file_observed') as expected_items,
       (select coalesce(sum((payload ->> 'extracted_items')::bigint), 0) from files f where f.release_id = r.release_id and event_type = 'file_observed') as extracted_items,
       (select coalesce(list(struct_pack(path := source_path, reason := payload ->> 'reason') order by source_path), [])
          from files f where f.release_id = r.release_id and event_type = 'file_quarantined') as quarantine_reasons
from events r
where r.event_type = 'release_registered'
order by released_on, release_id
"""


def _add_release_breakdowns(con, releases: list[dict]) -> None:
    """Per release: documents by detected content type, rows whose date is kept but flagged
    (date_quality other than ok), per mart, and pages read by OCR. Files published before these columns existed show neither."""
    import duckdb

    by_release = {r["release_id"]: r for r in releases}
    queries = {
        "documents_by_type": "select release_id, coalesce(detected_type, document_kind), count(*) from documents "
                             "group by all order by 1, 3 desc, 2",
        "flagged_dates": " union all ".join(
            f"select release_id, '{mart}' || '|' || date_quality, count(*) from {mart} where date_quality <> 'ok' group by all"
            for mart in ("messages", "searches", "accounts", "contacts")),
        # pages read by OCR: how many, how well, how many to check by eye (listed in ocr_pages)
        "ocr": "select release_id, count(*), round(avg(confidence), 1), count(*) filter (where is_low_confidence), "
               "sum(redaction_box_count) from ocr_pages group by all",
    }
    for key, sql in queries.items():
        try:
            rows = con.execute(sql).fetchall()
        except duckdb.Error:
            continue
        for release_id, label, count, *more in rows:
            target = by_release.get(release_id)
            if target is None:
                continue
            if key == "ocr":
                target["ocr"] = {"pages": label, "mean_confidence": count, "low_confidence_pages": more[0],
                                 "redaction_boxes": int(more[1] or 0)}
            elif key == "documents_by_type":
                target.setdefault(key, {})[label] = count
            else:
                mart, quality = label.split("|", 1)
                target.setdefault(key, {}).setdefault(mart, {})[quality] = count


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def cmd_status(args) -> int:
    import duckdb

    paths = resolve(None, args.warehouse)
    report = json.loads(paths.last_build_report.read_text()) if paths.last_build_report.exists() else None
    if not paths.warehouse.exists():
        if args.json:
            print(json.dumps({"warehouse": str(paths.warehouse), "releases": [], "last_publish": None, "last_build": report}, indent=2))
        else:
            _err(f"no published warehouse at {paths.warehouse}: run `foil build` first")
        return EXIT_GATE
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rel = con.sql(STATUS_SQL)
        cols = rel.columns
        releases = [dict(zip(cols, row)) for row in rel.fetchall()]
        info = con.execute("select published_at::varchar, releases, as_of_release, run_id, row_counts, checks from build_info").fetchone()
        _add_release_breakdowns(con, releases)
    last_publish = {"published_at": info[0], "releases": info[1], "as_of_release": info[2], "run_id": info[3],
                    "row_counts": json.loads(info[4]), "checks": json.loads(info[5] or "[]")}
    if args.json:
        print(json.dumps({"warehouse": str(paths.warehouse), "releases": releases, "last_publish": last_publish,
                          "last_build": report}, indent=2, default=str))
        return EXIT_OK
    _say(f"warehouse {paths.warehouse}")
    as_of = f", built as of {last_publish['as_of_release']}" if last_publish["as_of_release"] else ""
    _say(f"last publish: {last_publish['published_at']} (run {last_publish['run_id']}{as_of}), "
         f"releases: {', '.join(last_publish['releases'])}")
    header = ("release_id", "released_on", "files", "documents", "messages", "records", "quarantined",
              "quarantined_messages", "expected_items", "extracted_items")
    widths = [max(len(h), *(len(str(r[h])) for r in releases)) for h in header]
    _say("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in releases:
        _say("  ".join(str(r[h]).ljust(w) for h, w in zip(header, widths)))
        if r.get("documents_by_type"):
            _say("    documents by detected type: " + ", ".join(f"{t} {n}" for t, n in r["documents_by_type"].items()))
        if r.get("ocr"):
            o = r["ocr"]
            mean = 'no words read' if o['mean_confidence'] is None else f"{o['mean_confidence']}%"
            _say(f"    OCR: {_n(o['pages'], 'page')}, mean confidence {mean}, {o['low_confidence_pages']} "
                 f"below the threshold (select * from ocr_pages where is_low_confidence), "
                 f"{_n(o['redaction_boxes'], 'redaction box', 'redaction boxes')}")
        if r.get("flagged_dates"):
            _say("    dates kept but flagged: " + "; ".join(
                f"{mart} " + ", ".join(f"{q} {n}" for q, n in counts.items()) for mart, counts in r["flagged_dates"].items()))
        for q in r["quarantine_reasons"]:
            _say(f"    quarantined {q['path']}: {q['reason']}")
    if report:
        checks = report["checks"]
        failed = [c for c in checks if not c["passed"]]
        state = "published" if report["published"] else (
            "NOT published (gate failed)" if any(not c["passed"] for c in checks) else "NOT published (build failed)")
        _say(f"last build: {report['finished_at']}: {state}; checks {len(checks) - len(failed)}/{len(checks)} passed")
        for c in failed:
            _say(f"  failed: {c['asset']}:{c['check']}")
        for r in report.get("rejected", []) + [f"refused {x}" for x in report.get("refused", [])]:
            _say(f"  {r}")
        for w in report.get("withdrawn", []):
            _say(f"  withdrawn {w['release_id']} ({w.get('at', '?')}, by {w.get('by', '?')}): {w.get('reason', '')}")
        if report.get("failed"):
            _say(f"  failed: {report['failed']}")
    return EXIT_OK


# ---------------------------------------------------------------- query
def cmd_query(args) -> int:
    import duckdb

    from pipelines.lib import sandbox

    paths = resolve(None, args.warehouse)
    if args.file:
        try:
            sql = Path(args.file).read_text()
        except OSError as exc:
            _err(f"error: cannot read --file {args.file}: {exc.strerror or exc}")
            return EXIT_INPUT
    elif args.sql:
        sql = args.sql
    else:
        _err("error: give a SQL string or --file FILE")
        return EXIT_INPUT
    if not paths.warehouse.exists():
        _err(f"error: no published warehouse at {paths.warehouse}: run `foil build` first")
        return EXIT_INPUT
    try:  # refuse writes before even opening the file
        sandbox.check_sql(sql)
    except sandbox.QueryRefused as exc:
        _err(f"query refused: {exc}")
        return EXIT_GATE
    except duckdb.Error as exc:
        _err(f"query failed: {exc}")
        return EXIT_GATE
    try:
        con = sandbox.open_for_analysts(paths.warehouse, args.allow_files, protect=(paths.state_dir,))
    except sandbox.SandboxError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    except duckdb.Error as exc:
        _err(f"error: cannot open {paths.warehouse}: {exc}")
        return EXIT_GATE
    with con:
        try:
            rel = sandbox.run(con, sql)
        except sandbox.QueryRefused as exc:
            _err(f"query refused: {exc}")
            return EXIT_GATE
        except duckdb.PermissionException as exc:
            hint = (f"only files under {args.allow_files} can be read" if args.allow_files
                    else "pass --allow-files DIR to read files in one folder")
            _err(f"query failed: {exc}\n  foil query cannot write files or read outside the warehouse; {hint}")
            return EXIT_GATE
        except duckdb.Error as exc:
            _err(f"query failed: {exc}")
            return EXIT_GATE
        if rel is None:
            return EXIT_OK
        if args.format == "csv":
            rel.pl().write_csv(sys.stdout)
        elif args.format == "json":
            print(json.dumps(rel.pl().to_dicts(), default=str, indent=2))
        else:
            rel.show(max_width=int(os.environ.get("COLUMNS", 200)), max_rows=args.max_rows, max_col_width=60)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="foil", description="Warehouse for public-records releases.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="ingest releases, rebuild the marts, run the gates, publish")
    b.add_argument("--raw", help="folder of releases (default: $FOIL_RAW_DIR or ./raw)")
    b.add_argument("--warehouse", help="published DuckDB file (default: $FOIL_WAREHOUSE or ./warehouse/analytics.duckdb)")
    b.add_argument("--as-of", dest="as_of", help="build the marts from the releases up to and including this one")
    b.add_argument("-v", "--verbose", action="store_true", help="show the Dagster/dbt log")
    w = sub.add_parser("withdraw", help="take a release out of the marts (an event; --undo reinstates it), then rebuild")
    w.add_argument("release", help="the release id to withdraw or reinstate")
    w.add_argument("--reason", required=True, help="why (kept with the event, shown by foil status)")
    w.add_argument("--undo", action="store_true", help="reinstate a withdrawn release")
    w.add_argument("--no-build", dest="no_build", action="store_true", help="only record it; publish with the next build")
    w.add_argument("--raw")
    w.add_argument("--warehouse")
    w.add_argument("-v", "--verbose", action="store_true")
    s = sub.add_parser("status", help="per-release counts, quarantine reasons, last publish and gate results")
    s.add_argument("--warehouse")
    s.add_argument("--json", action="store_true")
    q = sub.add_parser("query", help="run read-only SQL against the published warehouse")
    q.add_argument("sql", nargs="?")
    q.add_argument("--file", help="read the SQL from a file (e.g. dbt_project/analyses/*.sql)")
    q.add_argument("--warehouse")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    q.add_argument("--max-rows", type=int, default=100)
    q.add_argument("--allow-files", dest="allow_files", metavar="DIR",
                   help="let the SQL READ files in this one folder (e.g. read_csv('DIR/names.csv')); "
                        "queries are otherwise read-only and cannot touch any file: COPY/EXPORT/ATTACH/"
                        "INSTALL/LOAD/SET are refused (export with --format csv > file.csv)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_INPUT if exc.code else EXIT_OK
    try:
        code = {"build": cmd_build, "withdraw": cmd_withdraw, "status": cmd_status, "query": cmd_query}[args.command](args)
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    if argv is None and args.command in ("build", "withdraw"):
        # Run as the `foil` program: every file and database is closed by now, so skip the ~2 s the
        # interpreter spends tearing down Dagster, dbt and GX modules one object at a time.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
