"""`foil status`: per release what was read and quarantined, the last publish and the gates."""
from __future__ import annotations

import json

from pipelines.cli.common import EXIT_GATE, EXIT_OK, err, n, say
from pipelines.lib.paths import resolve

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
          from files f where f.release_id = r.release_id and event_type = 'file_quarantined') as quarantine_reasons,
       -- items inside a file (a JSONL line, a load-file row, a page, a message in a mailbox): where in the file
       (select coalesce(list(struct_pack(path := source_path, item := concat_ws(', ',
                    'folder ' || (payload ->> 'folder_path'), 'page ' || (payload ->> 'page'),
                    'row ' || source_row::varchar, 'byte ' || source_offset::varchar,
                    case when payload ->> 'page' is null and source_row is null and source_offset is null
                         then 'item ' || (payload ->> 'index') end),
                    reason := payload ->> 'reason') order by source_path, source_row, source_offset), [])
          from events e where e.release_id = r.release_id and e.event_type = 'item_quarantined') as item_quarantine_reasons
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


def _report_relation(report: dict | None, last_publish: dict) -> str | None:
    """How last_build.json (written by `foil build` only) relates to the published file: "same" run,
    "newer" (e.g. a later build that failed a gate) or "older" (the UI's sensor published since)."""
    import datetime as dt

    if not report:
        return None
    if report.get("run_id") == last_publish["run_id"]:
        return "same"
    try:
        finished = dt.datetime.fromisoformat(report["finished_at"].replace("Z", "+00:00"))
        published = dt.datetime.fromisoformat(str(last_publish["published_at"]).replace(" ", "T"))
    except (KeyError, ValueError):
        return "newer"
    if published.tzinfo is None:
        published = published.replace(tzinfo=dt.timezone.utc)
    return "newer" if finished > published else "older"


def cmd_status(args) -> int:
    import duckdb

    paths = resolve(None, args.warehouse)
    report = json.loads(paths.last_build_report.read_text()) if paths.last_build_report.exists() else None
    if not paths.warehouse.exists():
        if args.json:
            print(json.dumps({"warehouse": str(paths.warehouse), "releases": [], "last_publish": None, "last_build": report}, indent=2))
        else:
            err(f"no published warehouse at {paths.warehouse}: run `foil build` first")
        return EXIT_GATE
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rel = con.sql(STATUS_SQL)
        cols = rel.columns
        releases = [dict(zip(cols, row)) for row in rel.fetchall()]
        info = con.execute("select published_at::varchar, releases, as_of_release, run_id, row_counts, checks from build_info").fetchone()
        _add_release_breakdowns(con, releases)
    from pipelines.report.headline import for_status, status_line  # the report's headline numbers
    headline, headline_missing = for_status(paths.warehouse)
    last_publish = {"published_at": info[0], "releases": info[1], "as_of_release": info[2], "run_id": info[3],
                    "row_counts": json.loads(info[4]), "checks": json.loads(info[5] or "[]")}
    if args.json:
        print(json.dumps({"warehouse": str(paths.warehouse), "releases": releases, "last_publish": last_publish,
                          "last_build": report, "last_build_is": _report_relation(report, last_publish),
                          "headline": headline},
                         indent=2, default=str))
        return EXIT_OK
    say(f"warehouse {paths.warehouse}")
    as_of = f", built as of {last_publish['as_of_release']}" if last_publish["as_of_release"] else ""
    say(f"last publish: {last_publish['published_at']} (run {last_publish['run_id']}{as_of}), "
         f"releases: {', '.join(last_publish['releases'])}")
    say(f"headline (foil report): {status_line(headline) if headline else 'not available: ' + headline_missing}")
    header = ("release_id", "released_on", "files", "documents", "messages", "records", "quarantined",
              "quarantined_messages", "expected_items", "extracted_items")
    widths = [max(len(h), *(len(str(r[h])) for r in releases)) for h in header]
    say("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in releases:
        say("  ".join(str(r[h]).ljust(w) for h, w in zip(header, widths)))
        if r.get("documents_by_type"):
            say("    documents by detected type: " + ", ".join(f"{t} {n}" for t, n in r["documents_by_type"].items()))
        if r.get("ocr"):
            o = r["ocr"]
            mean = 'no words read' if o['mean_confidence'] is None else f"{o['mean_confidence']}%"
            say(f"    OCR: {n(o['pages'], 'page')}, mean confidence {mean}, {o['low_confidence_pages']} "
                 f"below the threshold (select * from ocr_pages where is_low_confidence), "
                 f"{n(o['redaction_boxes'], 'redaction box', 'redaction boxes')}")
        if r.get("flagged_dates"):
            say("    dates kept but flagged: " + "; ".join(
                f"{mart} " + ", ".join(f"{q} {n}" for q, n in counts.items()) for mart, counts in r["flagged_dates"].items()))
        for q in r["quarantine_reasons"]:
            say(f"    quarantined {q['path']}: {q['reason']}")
        for q in r["item_quarantine_reasons"]:
            say(f"    quarantined item {q['path']} ({q['item'] or 'item'}): {q['reason']}")
    gates = last_publish["checks"]
    if gates:  # recorded by the publishing run itself, whether `foil build` or the UI's sensor started it
        failed = [c for c in gates if not c["passed"]]
        say(f"gates of the published build (run {last_publish['run_id']}): {len(gates) - len(failed)}/{len(gates)} passed")
        for c in failed:
            say(f"  failed: {c['asset']}:{c['check']}")
    relation = _report_relation(report, last_publish)
    if relation == "older":
        say(f"last `foil build` ({report['finished_at']}, run {report.get('run_id')}) is older than this publish: not shown")
    if report and relation != "older":
        checks = report["checks"]
        failed = [c for c in checks if not c["passed"]]
        state = "published" if report["published"] else (
            "NOT published (gate failed)" if any(not c["passed"] for c in checks) else "NOT published (build failed)")
        which = "the build published above" if relation == "same" else "newer than the published file"
        say(f"last `foil build` ({which}): {report['finished_at']}, run {report.get('run_id')}: {state}; "
            f"checks {len(checks) - len(failed)}/{len(checks)} passed")
        for c in failed:
            say(f"  failed: {c['asset']}:{c['check']}")
        for r in report.get("rejected", []) + [f"refused {x}" for x in report.get("refused", [])]:
            say(f"  {r}")
        for w in report.get("withdrawn", []):
            say(f"  withdrawn {w['release_id']} ({w.get('at', '?')}, by {w.get('by', '?')}): {w.get('reason', '')}")
        if report.get("failed"):
            say(f"  failed: {report['failed']}")
    return EXIT_OK


def register(sub) -> None:
    s = sub.add_parser("status", help="per-release counts, quarantine reasons, last publish and gate results")
    s.add_argument("--warehouse")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)
