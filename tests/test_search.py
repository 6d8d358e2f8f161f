"""`foil search` and the BM25 index in the published file (dbt_project/models/marts/search/), on the sample.

Queries are derived from the raw files or from the index itself, never typed in from a known answer.
"""
from __future__ import annotations

import email
import json
import re
import subprocess
from email import policy
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.search import TABLE_ORDER
from tests.conftest import REPO, run_foil

MODELS_YML = REPO / "dbt_project" / "models" / "marts" / "search" / "_search__models.yml"


def search(published_sample, *args: str) -> subprocess.CompletedProcess:
    return run_foil("search", *args, "--warehouse", str(published_sample["warehouse"]))


def hits(published_sample, *args: str) -> list[dict]:
    proc = search(published_sample, *args, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def con(published_sample):
    with duckdb.connect(str(published_sample["warehouse"]), read_only=True) as c:
        yield c


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _raw_texts(raw: Path) -> dict[Path, str]:
    """Every raw file that is text, as lower-case words joined by one space (to test a phrase is unique)."""
    out = {}
    for path in raw.rglob("*"):
        if path.is_file() and "_generator" not in path.parts:
            try:
                out[path] = " ".join(_words(path.read_bytes().decode("utf-8")))
            except UnicodeDecodeError:
                continue
    return out


@pytest.fixture(scope="module")
def eml_phrase(published_sample, con):
    """A four-word phrase from the body of a raw .eml that no other raw text file holds, with the
    published message it belongs to (found by its Message-ID)."""
    raw = published_sample["raw"]
    texts = _raw_texts(raw)
    for path in sorted(raw.glob("*/emails/*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        part = msg.get_body(preferencelist=("plain",))
        if part is None or not msg["Message-ID"]:
            continue
        key = msg["Message-ID"].strip().strip("<>").lower()
        row = con.execute("select message_id, citation from messages where lower(header_message_id) = ?", [key]).fetchone()
        if row is None:
            continue
        words = [w for w in _words(part.get_content()) if not w.isdigit()]
        for i in range(len(words) // 3, len(words) - 4):
            phrase = " ".join(words[i:i + 4])
            if sum(phrase in t for t in texts.values()) == 1:
                return {"path": path, "phrase": phrase, "message_id": row[0], "citation": row[1]}
    pytest.fail("no .eml in the sample has a phrase of its own")


def test_phrase_from_a_raw_email_ranks_its_message_first(published_sample, eml_phrase):
    got = hits(published_sample, f'"{eml_phrase["phrase"]}"')
    messages = [h for h in got if h["kind"] == "message"]
    assert messages, got
    assert messages[0]["message_id"] == eml_phrase["message_id"]
    assert messages[0]["citation"] == eml_phrase["citation"]
    assert eml_phrase["path"].parent.parent.name in messages[0]["citation"]
    # the snippet shows the phrase as written around it
    assert eml_phrase["phrase"].split()[0] in messages[0]["snippet"].lower()
    # the table output shows the same hit with its citation
    table = search(published_sample, f'"{eml_phrase["phrase"]}"')
    assert table.returncode == 0 and f"cite: {eml_phrase['citation']}" in table.stdout


def test_phrase_and_bag_of_words_differ(published_sample, con, eml_phrase):
    """Quoted words must be consecutive: the phrase's hits are a strict subset of the same words' hits."""
    words = eml_phrase["phrase"].split()
    for a, b in zip(words, words[1:]):
        bag = {h["unit_id"] for h in hits(published_sample, f"{a} {b}", "--limit", "500")}
        phrase = {h["unit_id"] for h in hits(published_sample, f'"{a} {b}"', "--limit", "500")}
        if len(bag) > len(phrase):
            assert phrase and phrase < bag
            reverse = {h["unit_id"] for h in hits(published_sample, f'"{b} {a}"', "--limit", "500")}
            assert reverse <= bag
            return
    pytest.fail(f"every pair of {words} is as frequent as a phrase as apart")


def test_every_hit_holds_every_word(published_sample, con):
    """AND semantics and BM25 order, checked against the texts: pick the two most common terms."""
    a, b = [r[0] for r in con.execute(
        "select term from search_terms where length(term) > 3 order by document_frequency desc, term limit 2").fetchall()]
    got = hits(published_sample, f"{a} {b}", "--limit", "1000")
    assert got
    tokens = dict(con.execute("select unit_id, positions from search_postings where term = ?", [a]).fetchall())
    other = dict(con.execute("select unit_id, positions from search_postings where term = ?", [b]).fetchall())
    assert all(h["unit_id"] in tokens and h["unit_id"] in other for h in got)
    assert len(got) == len(set(tokens) & set(other))
    scores = [h["score"] for h in got]
    assert scores == sorted(scores, reverse=True)
    assert [h["rank"] for h in got] == list(range(1, len(got) + 1))


def test_release_and_date_filters(published_sample, con):
    term = con.execute("select term from search_terms where length(term) > 3 order by document_frequency desc, term limit 1").fetchone()[0]
    everything = hits(published_sample, term, "--limit", "1000")
    releases = {h["release_id"] for h in everything}
    assert len(releases) > 1
    release = sorted(releases)[0]
    only = hits(published_sample, term, "--release", release, "--limit", "1000")
    assert only and {h["release_id"] for h in only} == {release}
    assert len(only) == sum(h["release_id"] == release for h in everything)

    dated = sorted(h["sent_at"][:10] for h in everything if h["sent_at"])
    start, end = dated[len(dated) // 4], dated[3 * len(dated) // 4]
    window = hits(published_sample, term, "--from", start, "--to", end, "--limit", "1000")
    assert window and all(start <= h["sent_at"][:10] <= end for h in window)
    assert len(window) == sum(start <= d <= end for d in dated)
    assert hits(published_sample, term, "--from", "2999-01-01") == []


def test_ocr_page_hit(published_sample, con):
    """A three-term run from an OCR page of the scanned release finds that page."""
    pages = con.execute("""select page_id, citation, text from ocr_pages
                           where release_id = 'nypd-clearview-2022-05-scanned' order by page_id""").fetchall()
    assert pages
    for page_id, citation, text in pages:
        tokens = con.execute("select search_tokens(?)", [text]).fetchone()[0]
        for i in range(len(tokens) // 2, len(tokens) - 3):
            run = tokens[i:i + 3]
            if any(t.isdigit() or len(t) < 3 for t in run):
                continue
            holders = [t for _, _, t in pages if " ".join(run) in " ".join(con.execute(
                "select search_tokens(?)", [t]).fetchone()[0])]
            if len(holders) != 1:
                continue
            got = hits(published_sample, '"' + " ".join(run) + '"', "--release", "nypd-clearview-2022-05-scanned")
            ocr = [h for h in got if h["kind"] == "ocr_page"]
            assert ocr and ocr[0]["citation"] == citation, (run, got)
            assert "[OCR" in ocr[0]["citation"]
            return
    pytest.fail("no OCR page has a run of three terms of its own")


def test_email_address_is_a_phrase_of_its_parts(published_sample, con):
    """An address typed as written matches where its parts stand in a row, not where they are scattered."""
    body = con.execute("select body_text from messages where regexp_matches(body_text, '[\\w.]+@[\\w.]+\\.example') limit 1").fetchone()[0]
    address = re.search(r"[\w.]+@[\w.]+\.example", body).group(0)
    got = hits(published_sample, address, "--limit", "1000")
    assert got
    parts = con.execute("select search_tokens(?)", [address]).fetchone()[0]
    assert len(parts) > 2
    texts = {r[0]: r[1] for r in con.execute("""
        select d.unit_id, coalesce(case d.kind when 'message' then concat_ws(chr(10), m.subject, m.body_text)
                                               when 'ocr_page' then o.text else d.text end, '')
        from search_documents d left join messages m on m.message_id = d.source_id
        left join ocr_pages o on o.page_id = d.source_id""").fetchall()}
    for h in got:
        assert " ".join(parts) in " ".join(con.execute("select search_tokens(?)", [texts[h["unit_id"]]]).fetchone()[0])


def test_index_matches_the_tokenizer_shipped_in_the_file(con):
    """The published macro search_tokens (what the CLI tokenizes queries with) splits every indexed text
    into exactly the terms the dbt models indexed."""
    bad = con.execute("""
        with texts as (
            select d.unit_id, d.unit_length,
                   coalesce(case d.kind when 'message' then concat_ws(chr(10), m.subject, m.body_text)
                                        when 'ocr_page' then o.text else d.text end, '') as text
            from search_documents d left join messages m on m.message_id = d.source_id
            left join ocr_pages o on o.page_id = d.source_id
        )
        select count(*) from texts where len(search_tokens(text)) <> unit_length""").fetchone()[0]
    assert bad == 0
    kinds = {r[0] for r in con.execute("select distinct kind from search_documents").fetchall()}
    assert {"message", "ocr_page", "document_text", "attachment"} <= kinds


def test_search_data_tests_ran_in_the_build(published_sample):
    """Keys and relationships of the index are dbt tests of every build (they gate publishing)."""
    state = published_sample["warehouse"].parent / f".{published_sample['warehouse'].stem}.state"
    results = json.loads((state / "dbt_target" / "run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")
             and re.search(r"search_(documents|postings|terms)", r["unique_id"])]
    assert len(tests) >= 10 and all(r["status"] == "pass" for r in tests)


def test_tokenizer_unit_test(published_sample, tmp_path):
    """The dbt unit tests of the tokenizer and postings (foil build skips unit tests; tests/test_build.py
    runs them all, this runs the search ones on their own, on a built database)."""
    import os
    import shutil

    state = published_sample["warehouse"].parent / f".{published_sample['warehouse'].stem}.state"
    build_db = tmp_path / "build.duckdb"
    shutil.copyfile(state / "build.duckdb", build_db)
    proc = subprocess.run(
        [str(REPO / ".venv/bin/dbt"), "test", "--select", "test_type:unit,int_search_postings_tokenized", "--no-use-colors",
         "--profiles-dir", ".", "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=REPO / "dbt_project", env={**os.environ, "FOIL_BUILD_DB": str(build_db)},
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    for test in ("tokenizes_and_positions", "derives_only_units_it_lacks"):
        assert f"PASS int_search_postings_tokenized::test_int_search_postings_tokenized_{test}" in proc.stdout, proc.stdout[-2000:]
    assert "ERROR=0" in proc.stdout and "FAIL" not in proc.stdout


def _documented_sql() -> str:
    lines = MODELS_YML.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#   with q as"))
    sql = []
    for line in lines[start:]:
        sql.append(line[1:])
        if line.rstrip().endswith(";"):
            break
    return "\n".join(sql)


def test_documented_sql_runs_in_a_plain_client(published_sample, con):
    """The BM25 query in the models' yml and the search_bm25 macro work on a plain read-only connection
    (no foil code) and in the duckdb CLI, and agree with `foil search` on a one-word query."""
    term = con.execute("select term from search_terms where length(term) > 4 and document_frequency > 3 "
                       "order by document_frequency, term limit 1").fetchone()[0]
    sql = _documented_sql().replace("'trial account'", f"'{term}'")
    with duckdb.connect(str(published_sample["warehouse"]), read_only=True) as plain:
        documented = plain.execute(sql).fetchall()
        macro = plain.execute("select citation, score from search_bm25(?) limit 10", [term]).fetchall()
    cli = hits(published_sample, term)
    assert documented and macro
    assert [round(r[-1], 6) for r in documented] == [round(s, 6) for _, s in macro] == [round(h["score"], 6) for h in cli]
    assert {r[2] for r in documented} == {c for c, _ in macro} == {h["citation"] for h in cli}
    duckdb_cli = REPO / ".venv" / "bin" / "duckdb"
    if duckdb_cli.exists():
        proc = subprocess.run([str(duckdb_cli), "-readonly", "-csv", str(published_sample["warehouse"]),
                               "-c", f"select count(*) from search_bm25('{term}')"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split()[-1] == str(len(con.execute("select * from search_bm25(?)", [term]).fetchall()))


def test_errors_say_what_to_do(published_sample, tmp_path):
    missing = run_foil("search", "trial", "--warehouse", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 2 and "foil build" in missing.stderr and "Traceback" not in missing.stderr
    empty = search(published_sample, "  --  ")
    assert empty.returncode == 2 and "no searchable terms" in empty.stderr
    nothing = search(published_sample, "zzqxj")
    assert nothing.returncode == 1 and "zzqxj" in nothing.stderr and nothing.stdout == ""
    bad_date = search(published_sample, "trial", "--from", "yesterday")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    bad_release = search(published_sample, "trial", "--release", "no-such-release")
    assert bad_release.returncode == 2 and "releases:" in bad_release.stderr
    assert "Traceback" not in bad_date.stderr + bad_release.stderr + nothing.stderr


def test_limit(published_sample, con):
    term = con.execute("select term from search_terms order by document_frequency desc, term limit 1").fetchone()[0]
    assert len(hits(published_sample, term, "--limit", "3")) == 3


def test_point_lookups_and_one_scan_describe_hits_alike(con):
    """A short result reads each hit's row by its key; a long one (over MAX_LOOKUPS hits) scans once:
    the same hits get the same details and snippets either way."""
    from pipelines.lib import search as lib

    term = con.execute("select term from search_terms where length(term) > 3 order by document_frequency desc, term limit 1").fetchone()[0]
    _, many = lib.search(con, term, limit=lib.MAX_LOOKUPS + 20)
    assert len(many) > lib.MAX_LOOKUPS, "the sample should hold the most common term in over MAX_LOOKUPS units"
    _, few = lib.search(con, term, limit=10)
    assert [(h.unit_id, h.snippet, h.matched_at, h.citation) for h in few] == \
           [(h.unit_id, h.snippet, h.matched_at, h.citation) for h in many[:10]]
    assert all(h.snippet and h.citation for h in many)


def test_published_tables_are_stored_in_their_search_order(con):
    """Publish writes the index (and the tables hits are looked up in) sorted by TABLE_ORDER, so zone maps
    prune a term's or a unit's lookup to a few row groups; the dbt models no longer sort them first."""
    published = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert {"search_postings", "search_terms", "search_documents", "messages"} <= published
    for table, key in TABLE_ORDER.items():
        if table not in published:
            continue
        rows, out_of_order = con.execute(f"""
            select count(*), count(*) filter (where k < p) from (
                select row({key}) as k, lag(row({key})) over (order by rowid) as p from {table})""").fetchone()
        assert rows > 0 and out_of_order == 0, (table, rows, out_of_order)
