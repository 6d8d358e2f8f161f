"""`foil build`: materialise the asset graph the Dagster UI shows (one ingest run per release partition,
then one run for dbt, the gates and publish); there is no second code path."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from pipelines.cli.common import EXIT_BUSY, EXIT_GATE, EXIT_INPUT, EXIT_OK, EXIT_SIGNAL, err, say
from pipelines.lib.paths import Paths, resolve


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



def cmd_build(args) -> int:
    from pipelines.lib.lock import BuildRunning, build_lock
    from pipelines.lib.manifest import scan_releases

    args.out = getattr(args, "out", None)  # `foil withdraw` builds with no --out
    paths = resolve(args.raw, args.warehouse)
    # what `foil query` opens without --warehouse in the user's shell (the environment is set below for Dagster)
    args.default_warehouse = resolve().warehouse
    os.environ["FOIL_RAW_DIR"], os.environ["FOIL_WAREHOUSE"] = paths.raw_url or str(paths.raw_dir), str(paths.warehouse)
    if paths.raw_url:
        from pipelines.lib import storage

        say(f"bringing new and changed objects from {paths.raw_url} into {paths.raw_dir} …")
        try:
            storage.sync_raw(paths.raw_url, paths.raw_dir)
        except Exception as exc:  # credentials, endpoint, bucket: say which setting to fix
            err(f"error: cannot read {paths.raw_url}: {exc.__class__.__name__}: {exc}")
            err("  check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION and AWS_ENDPOINT_URL (docs/deploy.md)")
            return EXIT_INPUT
    try:
        manifests, errors = scan_releases(paths.raw_dir)
    except FileNotFoundError as exc:
        err(f"error: {exc}")
        return EXIT_INPUT
    for problem in errors:
        err(f"rejected: {problem}")
    ids = [m.release_id for m in manifests]
    if args.as_of and args.as_of not in ids:
        err(f"error: --as-of {args.as_of!r} is not a valid release in {paths.raw_dir} (releases: {', '.join(ids) or 'none'})")
        return EXIT_INPUT
    if args.out and not args.as_of:
        err("error: --out is for --as-of builds; a full build publishes to --warehouse")
        return EXIT_INPUT
    if args.as_of and (os.environ.get("FOIL_STATE_DIR")
                       or as_of_paths(paths, args.as_of, args.out).warehouse == paths.warehouse):
        err("error: an --as-of build needs its own file and state folder: give --out FILE other than the "
            "published file, and unset FOIL_STATE_DIR")
        return EXIT_INPUT
    if not manifests:
        err(f"error: no valid release folders in {paths.raw_dir} (each needs a release.yaml; see docs/releases.md)")
        return EXIT_INPUT
    signals = _Signals()
    try:
        with build_lock(paths.state_dir, "foil build"), signals:
            return _build(args, paths, manifests, errors, signals)
    except BuildRunning as exc:
        err(f"error: {exc}")
        return EXIT_BUSY
    except (KeyboardInterrupt, _Interrupted) as exc:
        signum = exc.signum if isinstance(exc, _Interrupted) else (signals.received or [signal.SIGINT])[0]
        err(f"interrupted ({signal.Signals(signum).name}): stopped; nothing new was published and the published "
             f"file is untouched. Every file committed so far is kept: run `foil build` again to resume.")
        return EXIT_SIGNAL + signum
    except Exception as exc:  # the machine, not the data: e.g. a full disk under Dagster's own storage
        err(f"BUILD FAILED: {exc.__class__.__name__}: {exc}")
        for folder in _full_disks(exc, paths):
            err(f"  No space left on device: the disk holding {folder} is full; free space there.")
        err("  nothing new was published; the published file is untouched and every file read so far is kept.")
        err("  fix the cause and run `foil build` again to resume (--verbose shows the full log).")
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
    import dagster as dg

    from pipelines.lib import recovery
    from pipelines.lib.instance import prepare_dagster_home

    prepare_dagster_home(paths)
    say(f"foil build: {len(manifests)} release(s) from {paths.raw_dir} -> {paths.warehouse}")
    say("loading the asset graph (dbt manifest, Dagster definitions)…")
    try:
        from pipelines.definitions import defs
    except Exception as exc:  # e.g. a dbt project that does not parse
        err(f"BUILD FAILED: the asset graph could not be loaded: {exc}")
        err("  fix the dbt project or definitions (try: cd dbt_project && ../.venv/bin/dbt parse --profiles-dir .)")
        return EXIT_GATE

    level = "INFO" if args.verbose else "WARNING"
    # without -v, dbt shows its row counts, problems and summary only (defs/transform/assets.py)
    os.environ["FOIL_DBT_OUTPUT"] = "full" if args.verbose else "progress"
    log_config = {"loggers": {"console": {"config": {"log_level": level}}}}
    instance = dg.DagsterInstance.get()
    # What a killed build left: runs still "started" (each holding the one DuckDB pool slot, so every
    # later build would wait forever), a half-written publish, extracted archive members.
    dead = recovery.release_dead_runs(instance)
    leftovers = recovery.clear_leftovers(paths)
    if dead or leftovers:
        say(f"recovering from an interrupted build: {len(dead)} dead run(s) marked failed"
             + (f", removed {', '.join(leftovers)}" if leftovers else ""))
    known = set(instance.get_dynamic_partitions("release"))
    instance.add_dynamic_partitions("release", [m.release_id for m in manifests if m.release_id not in known])
    tags = {recovery.PID_TAG: str(os.getpid())}

    refused: list[str] = []
    ingest_job = defs.resolve_job_def("ingest_release")
    for n, manifest in enumerate(manifests, 1):
        started = time.monotonic()
        say(f"[{n}/{len(manifests)}] ingesting {manifest.release_id} …")
        result = ingest_job.execute_in_process(
            partition_key=manifest.release_id, instance=instance, run_config=log_config, raise_on_error=False,
            resources={}, tags=tags,
        )
        signals.check()
        meta = _materialization_metadata(result, "raw/events")
        if meta.get("refused"):
            refused.append(manifest.release_id)
            err(f"  refused {manifest.release_id}: {_failure_text(result)}")
            continue
        if not result.success:
            # Not the content (that is quarantined per file): the machine or the run. Publishing now
            # would publish without this release, so stop; what was committed stays for the next build.
            err(f"BUILD FAILED while ingesting {manifest.release_id}: {_failure_text(result)}")
            err("  nothing was published; the previous warehouse file is untouched. Every file read so far is kept:")
            err("  fix the cause (disk space, memory: FOIL_DUCKDB_MEMORY) and run `foil build` again to resume.")
            _write_report(paths, {"run_id": result.run_id, "published": False, "rejected": [str(e) for e in errors],
                                  "refused": refused, "checks": [], "failed": _failure_text(result)})
            return EXIT_GATE
        say(
            f"  {meta.get('files', 0)} files: {meta.get('documents', 0)} documents, "
            f"{meta.get('quarantined_files', 0)} quarantined; {meta.get('extracted_items', 0)} items; "
            f"{meta.get('new_events', 0)} new events ({time.monotonic() - started:.1f} s)"
        )

    if not args.as_of:
        return _transform_and_publish(args, paths, defs, instance, log_config, tags, errors, refused, signals)
    from pipelines.lib.lock import build_lock

    target = as_of_paths(paths, args.as_of, args.out)
    say(f"as of {args.as_of}: building {target.warehouse} from the event log of {paths.warehouse}; "
        f"the published file and its state are not changed")
    with build_lock(target.state_dir, f"foil build --as-of {args.as_of}"):
        copied = _copy_event_log(paths.build_db, target.build_db)
        say(f"  {copied:,} events in the event log of {paths.build_db}")
        # Its own Dagster instance (runs, asset records) and build database, in its own state folder: the
        # resources read FOIL_WAREHOUSE when a run starts (defs/resources.py).
        os.environ["FOIL_WAREHOUSE"] = str(target.warehouse)
        os.environ["DAGSTER_HOME"] = str(_as_of_home(target))
        instance = dg.DagsterInstance.get()
        recovery.release_dead_runs(instance)
        recovery.clear_leftovers(target)
        return _transform_and_publish(args, target, defs, instance, log_config, tags, errors, refused, signals)


def as_of_paths(paths: Paths, release_id: str, out: str | None) -> Paths:
    """Where an as-of build goes: --out, or `<published stem>.as-of-<release>.duckdb` beside the published
    file; never the published file itself (analysts would get a partial warehouse)."""
    target = Path(out).resolve() if out else paths.warehouse.with_name(
        f"{paths.warehouse.stem}.as-of-{release_id}{paths.warehouse.suffix}")
    return Paths(raw_dir=paths.raw_dir, warehouse=target)


def _as_of_home(target: Paths) -> Path:
    from pipelines.lib.instance import ensure_home

    return ensure_home(target.dagster_home)


def _copy_event_log(source: Path, target: Path) -> int:
    """The whole event log (the as-of cut is dbt's, stg_events__events) for the as-of build database: its
    segment catalog, read-only from the deployment's; the segments themselves are immutable and shared."""
    from pipelines.lib import duck, event_log

    target.parent.mkdir(parents=True, exist_ok=True)
    with duck.connect(target) as con:
        con.execute(f"attach {duck.sql_str(str(source))} as log (read_only)")
        try:
            return event_log.copy_catalog(con, "log")
        finally:
            con.execute("detach log")


def _transform_and_publish(args, paths: Paths, defs, instance, log_config: dict, tags: dict, errors, refused: list,
                           signals: _Signals) -> int:
    from pipelines.defs.jobs import build_run_config
    from pipelines.lib import incremental

    # as-of builds are always full: their warehouse is a cut of the log, not the next step of one
    reason = ("--full" if getattr(args, "full", False) else "an --as-of build" if args.as_of
              else incremental.full_reason(paths))
    if reason:
        say(f"full rebuild ({reason}) …")
    say("building marts with dbt, running gates (dbt tests + Great Expectations), publishing …")
    started = time.monotonic()
    result = defs.resolve_job_def("build_warehouse").execute_in_process(
        instance=instance,
        run_config={**log_config, **build_run_config(full=bool(reason), as_of_release=args.as_of or "")},
        raise_on_error=False, tags=tags,
    )
    signals.check()
    checks = [
        {"asset": ev.asset_key.to_user_string(), "check": ev.check_name, "passed": ev.passed,
         "description": (ev.description or "")[:2000]}
        for ev in result.get_asset_check_evaluations()
    ]
    publish_metadata = _materialization_metadata(result, "published_warehouse")
    published = bool(publish_metadata)
    failed = [c for c in checks if not c["passed"]]
    _write_report(paths, {"run_id": result.run_id, "published": published, "as_of_release": args.as_of,
                          "tables_updated": publish_metadata.get("tables_updated", []),
                          "tables_updated_by_row_hash": publish_metadata.get("tables_updated_by_row_hash", []),
                          "rejected": [str(e) for e in errors], "refused": refused, "checks": checks,
                          "withdrawn": _withdrawn(paths)})
    say(f"  {len(checks) - len(failed)}/{len(checks)} checks passed ({time.monotonic() - started:.1f} s)")

    if not published:
        what = "GATE FAILED" if failed else "BUILD FAILED"
        err(f"{what}: nothing was published; the previous warehouse file is untouched.")
        for c in failed:
            err(f"  failed check {c['asset']}:{c['check']}")
            for line in c["description"].splitlines()[1:]:
                err(f"  {line}")
        if not failed:
            err(f"  the run failed before the gates: {_failure_text(result)}")
        err(f"  details: foil status --warehouse {paths.warehouse}; rerun with --verbose for the full log")
        return EXIT_GATE
    incremental.remember(paths)
    _print_summary(paths, args.default_warehouse)
    if args.as_of:
        say(f"as of {args.as_of}: wrote {paths.warehouse} (the published file was not changed)")
    if errors or refused:
        err(f"published, but {len(errors)} release folder(s) were rejected and {len(refused)} refused; see above")
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


def _print_summary(paths: Paths, default_warehouse: Path) -> None:
    import duckdb

    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        counts = json.loads(con.execute("select row_counts from build_info").fetchall()[0][0] or "{}")
        checks = json.loads(con.execute("select checks from build_info").fetchall()[0][0] or "[]")
        try:
            # rows of different kinds count searches differently (one logged search, a reported total):
            # the mart keeps them apart by source_kind, and so does the summary
            by_kind = con.execute("select source_kind, count(*), coalesce(sum(search_count), 0) from searches "
                                  "group by all order by 2 desc, 1").fetchall()
        except duckdb.Error:
            by_kind = []
    say(f"published {paths.warehouse}")
    first = ("releases", "messages", "accounts", "searches", "contacts", "referrals")
    say("  rows: " + ", ".join(f"{t} {counts[t]:,}" for t in first if t in counts))
    say("  other tables: " + ", ".join(f"{t} {counts[t]:,}" for t in sorted(counts) if t not in first))
    if by_kind:
        say("  searches by source_kind: " + "; ".join(
            f"{kind} {rows:,} rows ({total:,} searches counted)" for kind, rows, total in by_kind))
    report = json.loads(paths.last_build_report.read_text()) if paths.last_build_report.exists() else {}
    checks = report.get("checks", checks)
    say(f"  gates: {sum(c['passed'] for c in checks)}/{len(checks)} passed")
    where = "" if paths.warehouse == default_warehouse else f"--warehouse {paths.warehouse} "
    say(f"  query it: .venv/bin/foil query {where}\"select * from accounts limit 5\"  (or .venv/bin/duckdb -readonly {paths.warehouse})")


def register(sub) -> None:
    b = sub.add_parser("build", help="ingest releases, rebuild the marts, run the gates, publish")
    b.add_argument("--raw", help="folder of releases (default: $FOIL_RAW_DIR or ./raw)")
    b.add_argument("--warehouse", help="published DuckDB file (default: $FOIL_WAREHOUSE or ./warehouse/analytics.duckdb)")
    b.add_argument("--as-of", dest="as_of", metavar="RELEASE",
                   help="build the marts from the releases up to and including this one, into their own file "
                        "(--out, default <warehouse>.as-of-RELEASE.duckdb beside the published file); the published "
                        "file and its state are not changed")
    b.add_argument("--out", metavar="FILE", help="with --as-of: the file to write (not the published file)")
    b.add_argument("--full", action="store_true",
                   help="rebuild every model from the whole event log (default: only what changed since the "
                        "last build; the daily schedule rebuilds in full)")
    b.add_argument("-v", "--verbose", action="store_true",
                   help="show the full Dagster and dbt log (without it: progress, row counts per model, problems and the summary)")
    b.set_defaults(func=cmd_build)
