"""Real files from public sources, none written here, built and published as one release.

tests/fixtures/real_world/files holds 73 files from the test data of Apache Tika, mikel/mail, enmime,
CPython, icalendar, vobject and ez-vcard (SOURCES.md gives repository, path, commit and licence of
each); expected.json states, for each, what its source says is in it: subjects, phrases of the text
a person sees, archive members, passwords. The release must publish; every file (archive members
included) must be a document or a quarantine row whose reason says what to do; and every stated
subject and phrase must be found in what the warehouse holds for that file.
"""
from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest

from .conftest import REPO, run_foil

FIXTURES = REPO / "tests" / "fixtures" / "real_world"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
RELEASE = "real-world-public-files"
# A quarantine reason must say why and what would make the file readable.
ACTIONABLE = re.compile(r"password required|encrypted|needs OCR|no reader for it yet|install|unsupported file type")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("real_world")
    raw = root / "raw"
    folder = raw / RELEASE
    shutil.copytree(FIXTURES / "files", folder)
    (folder / "release.yaml").write_text(
        f"release_id: {RELEASE}\nagency: various (public test files)\nrequest_id: none\nreleased_on: 2026-12-01\n"
        "synthetic: false\nnotes: 'real files from public sources, see tests/fixtures/real_world/SOURCES.md'\n")
    warehouse = root / "wh" / "analytics.duckdb"
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(warehouse))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        events = con.execute("select event_type, source_path, payload::varchar from events").fetchall()
        subjects = {r[0] for r in con.execute("select subject from messages where subject is not null").fetchall()}
        message_ids = {r[0] for r in con.execute("select header_message_id from messages").fetchall()}
    status = json.loads(run_foil("status", "--warehouse", str(warehouse), "--json").stdout)
    return {"events": events, "subjects": subjects, "message_ids": message_ids, "status": status["releases"][0],
            "warehouse": warehouse}


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _norm(text: str) -> str:
    return " ".join(text.split())


def text_of(built, rel: str) -> str:
    """Every string the warehouse observed in a file and, for an archive, in its members."""
    parts = [s for _, path, payload in built["events"] if path == rel or path.startswith(rel + "!/")
             for s in _strings(json.loads(payload))]
    return _norm("\n".join(parts))


def outcome(built, rel: str) -> tuple[str, dict]:
    found = [(t, json.loads(p)) for t, path, p in built["events"] if path == rel and t in ("file_observed", "file_quarantined")]
    assert found, f"{rel} has no outcome: every file must be a document or a quarantine row"
    return found[-1]


def test_the_release_publishes_and_every_file_is_accounted_for(built):
    status = built["status"]
    assert status["documents"] + status["quarantined"] == status["files"] >= len(EXPECTED)
    assert status["documents"] >= 0.85 * status["files"], status["quarantine_reasons"]
    for q in status["quarantine_reasons"]:
        assert ACTIONABLE.search(q["reason"]), f"{q['path']}: the reason does not say what to do: {q['reason']}"


@pytest.mark.parametrize("entry", EXPECTED, ids=[e["file"].removeprefix("files/") for e in EXPECTED])
def test_what_the_source_says_is_in_each_file_is_in_the_warehouse(built, entry):
    rel = entry["file"].removeprefix("files/")
    kind, payload = outcome(built, rel)
    if entry.get("encrypted"):  # the file, or the members that are encrypted, say a password is needed
        reasons = [payload.get("reason") or ""] + [json.loads(p).get("reason") or "" for t, path, p in built["events"]
                                                   if path.startswith(rel + "!/") and t == "file_quarantined"]
        assert any(re.search(r"password|encrypted", r) for r in reasons), reasons
        return
    assert kind == "file_observed", f"{rel} was quarantined: {payload.get('reason')}"
    text = text_of(built, rel)
    for phrase in entry.get("ocr_phrases", []):  # a scan: its text is read by OCR (page_ocr events)
        assert _norm(phrase) in text, f"{rel}: {phrase!r} not read by OCR"
    for subject in [entry["subject"]] if entry.get("subject") else entry.get("subjects", []):
        if subject:
            assert _norm(subject) in text, f"{rel}: subject {subject!r} not observed"
            if entry["kind"] in ("email", "msg", "mbox", "pst"):
                # in messages, unless another file carries the same Message-ID (one message, several copies)
                ids = {json.loads(p).get("message_id") for t, path, p in built["events"] if path == rel and t == "email_message"}
                assert any(_norm(subject) == _norm(s) for s in built["subjects"]) or ids & built["message_ids"], \
                    f"{rel}: {subject!r} not in messages"
    for phrase in entry.get("phrases", []):
        assert _norm(phrase) in text, f"{rel}: {phrase!r} not found in what was read"
    for member in entry.get("members", []):
        member_paths = {p for _, p, _ in built["events"] if p.startswith(rel + "!/")}
        assert any(p == f"{rel}!/{member}" or p.startswith(f"{rel}!/{member}/") or p.startswith(f"{rel}!/{member}!/")
                   for p in member_paths) or member.rstrip("/").count("/") == 0 and member in {"test-documents"}, \
            f"{rel}: member {member} has no outcome"


def test_real_mail_from_before_2015_publishes_with_its_dates_intact(built):
    """The old 2015-2030 gates published nothing for such a corpus; its dates are data, kept as sent."""
    with duckdb.connect(str(built["warehouse"]), read_only=True) as con:
        old = con.execute("select count(*), min(year(sent_at)) from messages where sent_at < '2015-01-01'").fetchone()
        flags = dict(con.execute("select date_quality, count(*) from messages group by all").fetchall())
        missing = con.execute("select count(*) from messages where sent_at is null and date_quality <> 'missing'").fetchone()
    assert old[0] >= 20 and old[1] <= 2001, old
    assert set(flags) <= {"ok", "missing", "unparseable", "before_1971", "after_release"} and flags["ok"] >= 30
    assert missing == (0,), "a message without a date must say so"
