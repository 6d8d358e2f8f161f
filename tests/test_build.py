"""Full builds of the sample through the real CLI: publish, idempotency, gates, exit codes.

Each build runs the real Dagster jobs, real dbt and real Great Expectations against DuckDB files in a
temporary folder, so this module takes a few minutes.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.lib import event_log
from pipelines.lib.gates import load_suite, suite_names
from pipelines.lib.paths import resolve
from pipelines.lib.publish import file_sha256

from .conftest import REPO, eml, run_foil, write_release
from .test_readers_pdf import make_pdf

CORE = ("accounts", "searches", "contacts", "referrals")
ID_COLUMNS = {"accounts": "account_id", "searches": "search_id", "contacts": "contact_id", "referrals": "referral_id",
              "messages": "message_id", "people": "person_id", "documents": "document_id"}


def sql(path: Path, query: str):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(query).fetchall()


@pytest.fixture(scope="module")
def sample(published_sample):
    """The repository's sample releases, built once per session into a temporary warehouse (conftest)."""
    return published_sample


def copy_deployment(sample, dest: Path) -> tuple[Path, Path]:
    """A copy of the built deployment (raw folder, published file and its state) to change safely."""
    shutil.copytree(sample["raw"], dest / "raw")
    shutil.copytree(sample["warehouse"].parent, dest / "wh")
    return dest / "raw", dest / "wh" / sample["warehouse"].name


def test_sample_build_publishes_all_four_marts_with_provenance(sample):
    wh = sample["warehouse"]
    assert "published" in sample["stdout"] and "gates:" in sample["stdout"]
    for mart in CORE:
        assert sql(wh, f"select count(*) from {mart}")[0][0] > 0, f"{mart} is empty"
        orphans = sql(wh, f"""select count(*) from {mart} m
            where m.release_id is null or m.document_id is null
               or m.release_id not in (select release_id from releases)
               or m.document_id not in (select document_id from documents)""")[0][0]
        assert orphans == 0, f"{mart} has rows without an existing release/document"
    releases = [r[0] for r in sql(wh, "select release_id from releases order by released_on")]
    assert len(releases) >= 3
    assert sql(wh, "select releases from build_info")[0][0] == sorted(releases)


def test_model_row_counts_reach_the_console_and_dagster(sample, monkeypatch):
    """The post-hook's "<n> rows in <table>" lines show as progress and become `dagster/row_count`."""
    import dagster as dg

    wh = sample["warehouse"]
    contacts = sql(wh, "select count(*) from contacts")[0][0]
    assert f'{contacts} rows in "build"."marts"."contacts"' in sample["stdout"]
    monkeypatch.delenv("FOIL_STATE_DIR", raising=False)  # as run_foil builds
    monkeypatch.setenv("DAGSTER_HOME", str(resolve(warehouse=wh).dagster_home))
    with dg.DagsterInstance.get() as instance:
        record = instance.fetch_materializations(dg.AssetKey(["marts", "contacts"]), limit=1).records[0]
    assert record.asset_materialization.metadata["dagster/row_count"].value == contacts
    # each GX gate, run after dbt in the same run, lists every expectation of its suite with its verdict
    with dg.DagsterInstance.get() as instance:
        checks = instance.get_records_for_run(run_id=record.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    gx = [r.event_log_entry.dagster_event.event_specific_data for r in checks]
    gx = {ev.check_name.removeprefix("gx_"): ev for ev in gx if ev.check_name.startswith("gx_")}
    assert set(gx) == set(suite_names()), gx
    for mart, ev in gx.items():
        listed = ev.metadata["expectations_json"].value
        assert ev.passed and sorted(e["expectation"] for e in listed) == sorted(e["type"] for e in load_suite(mart)["expectations"]), mart
        assert all(e["passed"] for e in listed) and ev.metadata["rows"].value == sql(wh, f"select count(*) from {mart}")[0][0]


def test_every_file_is_a_document_or_quarantined(sample):
    files = {rel.as_posix() for rel in (p.relative_to(sample["raw"]) for p in sample["raw"].rglob("*") if p.is_file())
             if len(rel.parts) > 1 and rel.name != "release.yaml" and not rel.parts[0].startswith(("_", "."))}
    top_level = "where not contains(source_path, '!/')"  # archive members are documents too, inside their zip
    # attachments and archive members are child documents; the files on disk are document_kind 'file'
    published = {f"{r}/{p}" for r, p in sql(sample["warehouse"],
                 "select release_id, source_path from documents where document_kind = 'file'")}
    quarantined = {f"{r}/{p}" for r, p in sql(sample["warehouse"],
                   f"select release_id, source_path from quarantine {top_level} and kind = 'file'")}
    assert published | quarantined == files and not published & quarantined


def test_status_json_reports_per_release_counts(sample):
    proc = run_foil("status", "--warehouse", str(sample["warehouse"]), "--json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert len(status["releases"]) >= 3
    for rel in status["releases"]:
        assert {"release_id", "files", "documents", "messages", "records", "quarantined", "quarantined_messages",
                "quarantine_reasons"} <= rel.keys()
        assert rel["documents"] + rel["quarantined"] == rel["files"]
        assert len(rel["quarantine_reasons"]) == rel["quarantined"]
    assert sum(r["messages"] for r in status["releases"]) > 0 and sum(r["records"] for r in status["releases"]) > 0
    assert status["last_publish"]["releases"] and status["last_build"]["published"] is True
    assert all(c["passed"] for c in status["last_build"]["checks"])
    by_release = {r["release_id"]: r for r in status["releases"]}
    with duckdb.connect(str(sample["warehouse"]), read_only=True) as con:
        expected = con.execute("select release_id, coalesce(detected_type, document_kind), count(*) from documents "
                               "group by all").fetchall()
    assert sorted((rid, t, n) for rid, r in by_release.items() for t, n in r["documents_by_type"].items()) == sorted(expected)
    assert by_release["nypd-clearview-2021-04-initial"]["documents_by_type"]["rfc822"] > 0
    text = run_foil("status", "--warehouse", str(sample["warehouse"]))
    assert text.returncode == 0 and "quarantined" in text.stdout and "documents by detected type: rfc822" in text.stdout


def test_rebuild_appends_no_events_and_keeps_every_id(sample, tmp_path):
    raw, wh = copy_deployment(sample, tmp_path)
    before_events = sql(wh, "select count(*), sum(hash(event_id)) from events")
    before_ids = {m: sorted(r[0] for r in sql(wh, f"select {c} from {m}")) for m, c in ID_COLUMNS.items()}
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(wh))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "0 new events" in proc.stdout and " 1 new events" not in proc.stdout
    assert sql(wh, "select count(*), sum(hash(event_id)) from events") == before_events
    after_ids = {m: sorted(r[0] for r in sql(wh, f"select {c} from {m}")) for m, c in ID_COLUMNS.items()}
    assert after_ids == before_ids


def test_query_is_read_only_and_formats(sample):
    wh = str(sample["warehouse"])
    ok = run_foil("query", "--warehouse", wh, "--format", "json", "select count(*) as n from accounts")
    assert ok.returncode == 0 and json.loads(ok.stdout)[0]["n"] > 0
    table = run_foil("query", "--warehouse", wh, "select release_id from releases")
    assert table.returncode == 0 and "release_id" in table.stdout
    write = run_foil("query", "--warehouse", wh, "create table hack (a int)")
    assert write.returncode == 1 and "read-only" in write.stderr.lower()
    bad = run_foil("query", "--warehouse", wh, "select * from no_such_table")
    assert bad.returncode == 1 and "no_such_table" in bad.stderr


def test_a_far_future_search_date_publishes_flagged_not_gated(sample, tmp_path):
    """An implausible value is data, not a broken invariant: a search logged in 2099 (after its release)
    used to fail the searches gate and publish nothing; now the build publishes and the row says why it
    is odd (issue #14)."""
    raw, wh = copy_deployment(sample, tmp_path)
    before = file_sha256(wh)
    write_release(raw, "zz-bad-search-log", released_on="2022-01-01", files={
        "records/search_log.csv": "search_ref,account_ref,user_email,searched_at,client\n"
                                  "bad-1,cv-nypd-0001,x@nypd.example,2099-01-01T00:00:00Z,web\n",
    })
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(wh))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert file_sha256(wh) != before
    (row,) = sql(wh, "select cast(timezone('UTC', searched_at) as varchar), date_quality, defects from searches where search_ref = 'bad-1'")
    assert row[0].startswith("2099-01-01") and row[1] == "after_release" and row[2] == ["searched_at:after_release"]
    status = json.loads(run_foil("status", "--warehouse", str(wh), "--json").stdout)
    assert status["last_build"]["published"] is True
    assert all(c["passed"] for c in status["last_build"]["checks"])


def test_a_broken_invariant_fails_the_gate_and_leaves_the_published_file_byte_identical(sample, tmp_path):
    """Gates still guard invariants: an event type outside the log's enum (a reader bug, a corrupted
    log) blocks publishing, and the analysts' file stays exactly as it was."""
    raw, wh = copy_deployment(sample, tmp_path)
    before = file_sha256(wh)
    with duckdb.connect(str(resolve(warehouse=wh).build_db)) as con:
        release_id = con.execute("select release_id from raw.events limit 1").fetchall()[0][0]
        bogus = event_log.tag(event_log.single("not_an_event_type", {}), release_id=release_id, source_path="bogus",
                              source_sha256=None, parser="eml", parser_version="1")
        event_log.write(con, [(bogus, False)], release_id=release_id, recorded_at="2021-01-01")
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(wh))
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "GATE FAILED" in proc.stderr and "event_type" in proc.stderr
    assert file_sha256(wh) == before
    status = json.loads(run_foil("status", "--warehouse", str(wh), "--json").stdout)
    assert status["last_build"]["published"] is False
    assert any(not c["passed"] for c in status["last_build"]["checks"])


def test_bad_manifest_and_changed_release_exit_2_but_the_rest_publishes(sample, tmp_path):
    raw, wh = copy_deployment(sample, tmp_path)
    (raw / "broken-release").mkdir()
    (raw / "broken-release" / "release.yaml").write_text("release_id: broken-release\nagency: NYPD\n")
    first = sorted(p for p in raw.iterdir() if p.is_dir() and not p.name.startswith(("_", "broken")))[0]
    victim = next(p for p in sorted(first.rglob("*")) if p.is_file() and p.name != "release.yaml")
    victim.write_bytes(victim.read_bytes() + b"\n")
    write_release(raw, "zz-new", released_on="2022-02-02", files={"emails/new.eml": eml("new-one@nypd.example")})
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(wh))
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "broken-release" in proc.stderr and "request_id" in proc.stderr
    assert f"refused {first.name}" in proc.stderr and "supersedes" in proc.stderr
    released = {r[0] for r in sql(wh, "select release_id from releases")}
    assert "zz-new" in released and first.name in released  # the refused release keeps its earlier events


@pytest.mark.parametrize(
    "args, message",
    [(["build", "--as-of", "no-such-release"], "no-such-release"),
     (["build", "--raw", "/nonexistent/raw"], "does not exist"),
     (["frobnicate"], "invalid choice")],
)
def test_bad_arguments_exit_2(args, message, tmp_path):
    proc = run_foil(*args, "--warehouse", str(tmp_path / "w.duckdb")) if args[0] == "build" else run_foil(*args)
    assert proc.returncode == 2 and message in proc.stderr


def mart_contents(wh: Path) -> dict:
    with duckdb.connect(str(wh), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where table_name not in ('build_info') order by 1").fetchall()]
        return {t: con.execute(f"select * exclude (ingested_at) from {t} order by all" if t == "events"
                               else f"select * from {t} order by all").fetchall() for t in tables}


def test_as_of_equals_a_build_with_only_those_releases(sample, tmp_path):
    """`foil build --as-of R` == a build whose raw folder holds only releases up to R, for the first release,
    the re-release (it supersedes messages of earlier ones) and the last (the sample build itself): each
    a different cut of the log. The as-of build goes to its own file beside the published one, which stays
    as it was, state included."""
    raw, wh = copy_deployment(sample, tmp_path / "asof")
    state = resolve(warehouse=wh).state_dir
    published, report = file_sha256(wh), (state / "last_build.json").read_bytes()
    order = [r[0] for r in sql(sample["warehouse"], "select release_id from releases order by released_on, release_id")]
    cuts = {1, len(order), *(n for n, r in enumerate(order, 1) if "rerelease" in r)}
    assert len(cuts) == 3, order
    for n, release in enumerate(order, 1):
        if n not in cuts:
            continue
        as_of = run_foil("build", "--raw", str(raw), "--warehouse", str(wh), "--as-of", release)
        assert as_of.returncode == 0, as_of.stderr[-3000:]
        as_of_wh = wh.with_name(f"analytics.as-of-{release}.duckdb")
        assert f"wrote {as_of_wh} (the published file was not changed)" in as_of.stdout
        assert file_sha256(wh) == published and (state / "last_build.json").read_bytes() == report
        assert not resolve(warehouse=wh).previous.exists()
        if n == len(order):
            only_wh = sample["warehouse"]  # all releases: the sample build itself
        else:
            only_raw = tmp_path / f"only-{n}" / "raw"
            for rid in order[:n]:
                shutil.copytree(raw / rid, only_raw / rid)
            only_wh = tmp_path / f"only-{n}" / "wh" / "analytics.duckdb"
            only = run_foil("build", "--raw", str(only_raw), "--warehouse", str(only_wh))
            assert only.returncode == 0, only.stderr[-3000:]
        expected, actual = mart_contents(only_wh), mart_contents(as_of_wh)
        assert actual.keys() == expected.keys()
        for table in expected:
            assert actual[table] == expected[table], f"as of {release}: {table} differs"
        assert sql(as_of_wh, "select as_of_release from build_info")[0][0] == release


def test_builds_run_dbt_with_the_warehouse_state(sample):
    """`foil build` runs dbt (dagster-dbt's own dbt process) against the warehouse's build database, passed
    in --vars; dbt writes its log, artifacts and partial parse into the warehouse's state folder, and
    without -v the console shows none of dbt's parsing."""

    state = resolve(sample["raw"], sample["warehouse"]).state_dir
    log = (state / "dbt_target" / "dbt.log").read_text()
    assert "Running with dbt" in log and "Found " in log  # the build's own dbt log, at info level
    assert log.count("Running with dbt") == 1
    for parsing in ("partial pars", "Unable to do partial parsing", "Performance info"):
        assert parsing not in sample["stdout"]
    assert (state / "dbt_target" / "partial_parse.msgpack").exists()  # the next build of this warehouse reuses it
    run_results = json.loads((state / "dbt_target" / "run_results.json").read_text())
    assert run_results["args"]["which"] == "build" and run_results["results"]
    assert run_results["args"]["vars"]["build_db"] == str(state / "build.duckdb")  # the var naming the build database
    # and dbt wrote to this warehouse's build database, not to a file in anyone's real home
    assert (state / "build.duckdb").exists()
    assert sql(state / "build.duckdb", "select count(*) from marts.messages")[0][0] > 0


def test_a_rereleased_printed_message_keeps_one_key_and_takes_the_new_text(tmp_path):
    """Printed emails have no Message-ID: a superseding release that lifts a redaction changes the text,
    yet the copy at the same path and position is the same message, now current with the new text."""
    raw = tmp_path / "raw"

    def printed(name: str) -> bytes:
        page = ["From: Solberg, Renata", "Sent: Tuesday, February 5, 2019 3:12 PM", "To: Varga, Hollis",
                "Subject: Account for HSI colleague", "", f"Hollis, {name} asked us for an account.", "Thanks."]
        return make_pdf(tmp_path / "print.pdf", [page]).read_bytes()

    write_release(raw, "pdf-first", released_on="2021-04-05", files={"PDF/printed.pdf": printed("[REDACTED 87(2)(b)]")})
    write_release(raw, "pdf-rerelease", released_on="2021-09-20", supersedes="[pdf-first]",
                  files={"PDF/printed.pdf": printed("Brett Kolowski")})
    warehouse = tmp_path / "wh" / "analytics.duckdb"
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(warehouse))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = sql(warehouse, "select message_id, appearances, release_count, first_release_id, current_release_id, body_text "
                          "from messages")
    assert len(rows) == 1, rows
    message_id, appearances, release_count, first, current, body = rows[0]
    assert (appearances, release_count, first, current) == (2, 2, "pdf-first", "pdf-rerelease")
    assert "Brett Kolowski" in body and "REDACTED" not in body
    # the first production's redaction stays on record, against the same message
    assert sql(warehouse, f"select release_id, code from redactions where message_id = '{message_id}'") == [("pdf-first", "87(2)(b)")]


def test_scanned_release_reaches_the_marts_with_page_citations(sample):
    """raw/nypd-clearview-2022-05-scanned (no load file, no text layer): accounts, referrals and contacts
    come from OCR text and cite the page, its Bates number and the OCR confidence."""
    spec = importlib.util.spec_from_file_location("gen_scanned", REPO / "raw/_generator/gen_scanned_release.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    wh, rid = sample["warehouse"], gen.RELEASE_ID
    accounts = dict(sql(wh, f"select holder_email, citation from accounts where release_id = '{rid}'"))
    assert set(accounts) == set(gen.EXPECTED["accounts"])
    for email, (path, page) in gen.EXPECTED["accounts"].items():
        assert f"{path} p.{page} (NYPD-CV-" in accounts[email] and "[OCR " in accounts[email]
    reported = dict(sql(wh, "select holder_email, max_reported_searches from accounts where max_reported_searches > 0"))
    assert all(reported[e] == n for e, n in gen.EXPECTED["usage_searches"].items())
    referrals = sql(wh, f"""select p.emails, r.referred_email, r.citation from referrals r
        join people p on p.person_id = r.referrer_person_id where r.release_id = '{rid}'""")
    assert len(referrals) == len(gen.EXPECTED["referrals"])
    for (emails, referred, citation), (referrer, expected, _, page) in zip(referrals, gen.EXPECTED["referrals"]):
        assert referrer in emails and referred == expected and f"p.{page} " in citation
    pairs = sql(wh, f"""select f.emails, t.emails from contacts c
        join people f on f.person_id = c.from_person_id join people t on t.person_id = c.to_person_id
        where c.release_id = '{rid}'""")
    for a, b in gen.EXPECTED["contacts"]:
        assert any((a in f and b in t) or (b in f and a in t) for f, t in pairs), (a, b)
    messages = sql(wh, f"select text_source, ocr_confidence from messages where current_release_id = '{rid}'")
    assert len(messages) >= len(gen.EXPECTED["messages"]) and all(s == "ocr" and c > 80 for s, c in messages)
    boxes = sql(wh, f"select code, page from redactions where release_id = '{rid}' and detection = 'redaction_box'")
    assert len(boxes) == gen.EXPECTED["boxes"] and all(p is not None for _, p in boxes)
    assert sql(wh, f"select count(*), count(*) filter (where is_low_confidence) from ocr_pages where release_id = '{rid}'") \
        == [(gen.EXPECTED["pages_ocr"], 0)]
    status = json.loads(run_foil("status", "--warehouse", str(wh), "--json").stdout)
    (scanned,) = [r for r in status["releases"] if r["release_id"] == rid]
    assert scanned["ocr"]["pages"] == gen.EXPECTED["pages_ocr"] and scanned["ocr"]["redaction_boxes"] == gen.EXPECTED["boxes"]
