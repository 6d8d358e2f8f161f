"""Property-based: random bytes never crash a reader or the ingest; every file still ends somewhere."""
from __future__ import annotations

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.lib.ingest import ingest_release
from pipelines.lib.manifest import load_manifest
from pipelines.readers import READERS, FileStats, UnreadableFile

from .conftest import write_release

# One file name per reader (CSV kinds need their header so the right reader takes the bytes).
SAMPLES = {
    "eml": ("m.eml", b""), "mbox": ("m.mbox", b"From x Mon Oct  1 10:00:00 2018\n"),
    "account_roster_csv": ("r.csv", b"account_ref,holder_email,created_at\n"),
    "search_log_csv": ("s.csv", b"account_ref,searched_at\n"),
    "usage_report_csv": ("u.csv", b"account_ref,period_start,period_end,searches\n"),
    "outlook_msg": ("m.msg", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), "record_jsonl": ("r.jsonl", b""),
    "record_xlsx": ("r.xlsx", b"PK\x03\x04"), "concordance_dat": ("d.dat", b"\xfeBEGBATES\xfe\x14\xfeENDBATES\xfe\r\n"),
    "opticon_opt": ("o.opt", b""), "printed_pdf": ("p.pdf", b"%PDF-1.4\n"), "plain_text": ("t.txt", b""),
    "emlx": ("m.emlx", b""), "outlook_pst": ("m.pst", b"!BDN"), "calendar_ics": ("c.ics", b"BEGIN:VCALENDAR\r\n"),
    "contact_vcf": ("c.vcf", b"BEGIN:VCARD\r\n"), "image": ("i.png", b"\x89PNG\r\n\x1a\n"),
    "docx": ("f.docx", b"PK\x03\x04"), "pptx": ("f.pptx", b"PK\x03\x04"), "odt": ("f.odt", b"PK\x03\x04"),
    "odp": ("f.odp", b"PK\x03\x04"), "spreadsheet": ("f.xlsx", b"PK\x03\x04"), "rtf": ("f.rtf", b"{\\rtf1 "),
    "html": ("f.html", b"<html>"), "csv_text": ("f.csv", b"a,b\n"), "json_text": ("f.json", b"{"),
    "legacy_doc": ("f.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), "legacy_ppt": ("f.ppt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    "encrypted_office": ("f.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
}
PREFIX_BY_NAME = {name: prefix for name, prefix in SAMPLES.values()}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_every_reader_has_a_fuzz_sample():
    assert {r.name for r in READERS} <= SAMPLES.keys()


@FUZZ
@given(data=st.binary(max_size=2048), which=st.sampled_from(sorted(SAMPLES)))
def test_random_bytes_yield_batches_or_unreadable_file(tmp_path, data, which):
    name, prefix = SAMPLES[which]
    path = tmp_path / name
    path.write_bytes(prefix + data)
    reader = next(r for r in READERS if r.name == which)
    stats = FileStats()
    try:
        for batch in reader.batches(path, stats):
            assert batch.num_rows > 0
    except UnreadableFile as exc:
        assert str(exc)


@FUZZ
@given(files=st.dictionaries(st.sampled_from([n for n, _ in SAMPLES.values()] + ["a.zip", "b.bin"]),
                             st.binary(max_size=1024), min_size=1, max_size=4))
def test_ingest_never_crashes_and_accounts_for_every_file(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("fuzz")
    folder = write_release(root / "raw", "rel", files={k: PREFIX_BY_NAME.get(k, b"") + v for k, v in files.items()})
    with duckdb.connect(str(root / "b.duckdb")) as con:
        result = ingest_release(con, load_manifest(folder))
    top = [f for f in result.files if "!/" not in f.path]
    assert sorted(f.path for f in top) == sorted(files)
    # each file is a document, or quarantined with a reason; a file no reader takes is always quarantined
    assert all(f.quarantine_reason is None or f.quarantine_reason.strip() for f in top)
    assert all(f.quarantine_reason for f in top if f.reader is None)
