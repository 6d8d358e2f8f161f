"""Scanned pages: the sample's scanned release read through OCR, pages waiting for an engine, and a build
killed in the middle of OCR that resumes without reading its finished pages again.

The marts built from the scanned release are checked in tests/test_build.py (one build of the sample).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.ingest import ingest_release
from pipelines.lib.manifest import load_manifest
from pipelines.readers import FileStats, ocr, reader_for

from .conftest import REPO

_spec = importlib.util.spec_from_file_location("gen_scanned_release", REPO / "raw/_generator/gen_scanned_release.py")
gen = importlib.util.module_from_spec(_spec)
sys.path.insert(0, str(REPO / "raw/_generator"))
_spec.loader.exec_module(gen)
RELEASE = REPO / "raw" / gen.RELEASE_ID
TESSERACT = shutil.which("tesseract")

pytestmark = pytest.mark.skipif(ocr.engine() is None, reason=ocr.INSTALL_HINT)


def events(path: Path) -> tuple[FileStats, list[dict]]:
    stats = FileStats()
    out = []
    for batch in reader_for(path).batches(path, stats):
        for row in batch.to_pylist():
            row["payload"] = json.loads(row["payload"])
            out.append(row)
    return stats, out


@pytest.fixture(scope="module")
def scanned():
    """Every file of the committed scanned release, read once: {relative path: (stats, events)}."""
    return {str(p.relative_to(RELEASE)): events(p) for p in sorted(RELEASE.rglob("*"))
            if p.is_file() and p.name != "release.yaml"}


def test_every_printed_message_is_found_with_its_pages_bates_and_sender(scanned):
    found = [(path, r["payload"]["pages"][0], r["payload"]["pages"][1], r["payload"]["bates_begin"],
              r["payload"]["from"][0]["email"], r["payload"]["subject"])
             for path, (_, rows) in scanned.items() for r in rows
             if r["event_type"] == "email_message" and r["payload"]["depth"] == 0]
    assert sorted(found) == sorted(gen.EXPECTED["messages"])
    messages = [r["payload"] for _, rows in scanned.values() for r in rows if r["event_type"] == "email_message"]
    assert all(m["text_source"] == "ocr" and m["ocr_confidence"] > 80 for m in messages)


def test_boxes_are_found_with_their_codes_and_the_header_field_they_hide(scanned):
    boxes = [b for _, rows in scanned.values() for r in rows if r["event_type"] == "page_ocr"
             for b in r["payload"]["redactions"]]
    assert len(boxes) == gen.EXPECTED["boxes"]
    codes = sorted(b["code"] for b in boxes)
    assert codes == sorted(gen.EXPECTED["box_codes"])
    assert {b["style"] for b in boxes} == {"solid", "outlined"}
    fields = [b["header_field"] for b in boxes if b["header_field"]]
    assert {f: fields.count(f) for f in fields} == gen.EXPECTED["box_header_fields"]
    # each box stands in the text as its marker; nothing it hides is guessed
    texts = " ".join(r["payload"]["text"] for _, rows in scanned.values() for r in rows if r["event_type"] == "page_ocr")
    assert all(b["marker"] in texts for b in boxes)
    assert not any(secret in texts for secret in gen.EXPECTED["never"])


def test_redacted_cc_is_a_redacted_recipient(scanned):
    (first,) = [r["payload"] for r in scanned["scans/NYPD-CV-SCAN-0001.pdf"][1]
                if r["event_type"] == "email_message" and r["payload"]["pages"] == [1, 1]]
    assert [c["redacted"] for c in first["cc"]] == [True] and "p1-1" in first["cc"][0]["name"]
    assert [t["email"] for t in first["to"]] == ["wendell.marchetti@nypd.example"]
    assert "Temporary password: [REDACTED BOX p1-2 (b)(6)]" in first["body_text"]


def test_a_pdf_with_text_and_scanned_pages_gets_both(scanned):
    stats, rows = scanned["scans/cover_letter_and_emails.pdf"]
    assert [r["payload"]["page"] for r in rows if r["event_type"] == "page_ocr"] == [2, 3]
    (letter,) = [r["payload"] for r in rows if r["event_type"] == "text_document"]
    assert "Records Access Officer" in letter["text"] and letter["text_source"] == "text_layer"
    assert stats.extra["pages_ocr"] == 2 and stats.extra["pages"] == 3


def test_tiff_frames_are_pages(scanned):
    stats, rows = scanned["scans/fax_pages.tif"]
    assert [r["payload"]["page"] for r in rows if r["event_type"] == "page_image"] == [1, 2]
    assert [r["payload"]["page"] for r in rows if r["event_type"] == "page_ocr"] == [1, 2]
    assert stats.extra["frames"] == 2 and stats.extra["pages_ocr"] == 2


def test_body_text_matches_what_was_printed(scanned):
    """Character error rate of one long body against the generator's text (the bench measures more)."""
    (msg,) = [r["payload"] for r in scanned["scans/NYPD-CV-SCAN-0001.pdf"][1]
              if r["event_type"] == "email_message" and r["payload"]["subject"] == "Question about search results"
              and r["payload"]["depth"] == 0]
    printed = " ".join(line for line in gen.M2_BODY if isinstance(line, str) and line)
    got = " ".join(msg["body_text"].split())
    assert _cer(printed, got[: len(printed)]) <= 0.02


def _cer(truth: str, got: str) -> float:
    prev = list(range(len(got) + 1))
    for i, a in enumerate(truth, 1):
        cur = [i]
        for j, b in enumerate(got, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b)))
        prev = cur
    return prev[-1] / max(1, len(truth))


# ---- through the ingest: no engine, then an engine; a kill in the middle ------------------------------

def _release(tmp_path: Path, files: list[str]) -> Path:
    folder = tmp_path / "raw" / "scans"
    (folder / "scans").mkdir(parents=True)
    (folder / "release.yaml").write_text("release_id: scans\nagency: NYPD\nrequest_id: FOIL-2020-056-00001\n"
                                         "released_on: 2022-05-16\nsynthetic: true\n")
    for name in files:
        shutil.copy(RELEASE / name, folder / name)
    return folder


def _rows(db: Path, query: str):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


def test_without_an_engine_pages_wait_and_are_read_once_one_is_installed(tmp_path, monkeypatch):
    folder = _release(tmp_path, ["scans/fax_pages.tif"])
    db = tmp_path / "b.duckdb"
    monkeypatch.setenv("FOIL_TESSERACT", str(tmp_path / "no-such-tesseract"))
    with duckdb.connect(str(db)) as con:
        ingest_release(con, load_manifest(folder))
    reasons = _rows(db, "select payload->>'reason' from raw.events where event_type = 'item_quarantined'")
    assert len(reasons) == 2 and all("apt-get install tesseract-ocr" in r for (r,) in reasons)
    assert _rows(db, "select count(*) from raw.events where event_type = 'page_ocr'") == [(0,)]
    monkeypatch.delenv("FOIL_TESSERACT")
    with duckdb.connect(str(db)) as con:
        ingest_release(con, load_manifest(folder))
    assert _rows(db, "select count(*) from raw.events where event_type = 'page_ocr'") == [(2,)]
    subjects = _rows(db, "select payload->>'subject' from raw.events where event_type = 'email_message' "
                         "and parser_version = (select max(parser_version) from raw.events where parser = 'image')")
    assert sorted(s for (s,) in subjects) == ["RE: RE: You've been invited to join Clearview",
                                              "RE: You've been invited to join Clearview"]


WRAPPER = """#!/bin/sh
# Tesseract that counts its page calls in $OCR_CALLS and, from call $KILL_AT on, kills the build (its parent).
case "$1" in --version|--list-langs) exec {tesseract} "$@";; esac
n=$(( $(cat "$OCR_CALLS" 2>/dev/null || echo 0) + 1 ))
echo $n > "$OCR_CALLS"
if [ -n "$KILL_AT" ] && [ "$n" -ge "$KILL_AT" ]; then kill -9 $PPID; sleep 5; exit 1; fi
exec {tesseract} "$@"
"""
INGEST = ("import duckdb, sys; from pathlib import Path; from pipelines.lib.ingest import ingest_release; "
          "from pipelines.lib.manifest import load_manifest; "
          "con = duckdb.connect(sys.argv[1]); ingest_release(con, load_manifest(Path(sys.argv[2]))); con.close()")


def _ingest_subprocess(db: Path, folder: Path, calls: Path, kill_at: int | None, wrapper: Path):
    env = {**os.environ, "FOIL_TESSERACT": str(wrapper), "FOIL_OCR_WORKERS": "1", "OCR_CALLS": str(calls)}
    env.pop("KILL_AT", None)
    if kill_at:
        env["KILL_AT"] = str(kill_at)
    return subprocess.run([sys.executable, "-c", INGEST, str(db), str(folder)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def _calls(path: Path) -> int:
    return int(path.read_text()) if path.exists() else 0


@pytest.mark.skipif(TESSERACT is None, reason="needs the tesseract command")
def test_a_build_killed_during_ocr_resumes_without_reading_finished_pages_again(tmp_path):
    wrapper = tmp_path / "tesseract"
    wrapper.write_text(WRAPPER.format(tesseract=TESSERACT))
    wrapper.chmod(0o755)
    folder = _release(tmp_path, ["scans/NYPD-CV-SCAN-0001.pdf"])

    clean_db, clean_calls = tmp_path / "clean.duckdb", tmp_path / "clean.calls"
    assert _ingest_subprocess(clean_db, folder, clean_calls, None, wrapper).returncode == 0
    total = _calls(clean_calls)
    assert total >= 6  # one call per page, and one per box with a code printed inside it

    db, calls = tmp_path / "b.duckdb", tmp_path / "b.calls"
    killed = _ingest_subprocess(db, folder, calls, total // 2 + 1, wrapper)
    assert killed.returncode == -9, killed.stderr[-2000:]
    kept = _rows(db, "select count(*) from raw.events where event_type = 'page_ocr'")[0][0]
    assert 1 <= kept < 6
    assert _rows(db, "select count(*) from raw.events where event_type like '%quarantined'") == [(0,)]

    calls.unlink()
    assert _ingest_subprocess(db, folder, calls, None, wrapper).returncode == 0
    assert _calls(calls) < total  # the pages read before the kill were not read again
    query = "select event_id, event_type, payload::varchar from raw.events where event_type <> 'file_observed' order by 1"
    assert _rows(db, query) == _rows(clean_db, query)
