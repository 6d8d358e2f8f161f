"""Office and text documents (issue #15 part 4): one `text_document` per file, with positions and metadata.

Every document is built here (python-docx / python-pptx / xlsxwriter write OOXML; ODF, RTF and HTML are
written as text). The reader classes are called directly; the registry test puts them into READERS in
the order they need (see `proposed_readers`).
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipelines.readers as registry
from pipelines.readers import FileStats, UnreadableFile
from pipelines.readers.documents_legacy import EncryptedOfficeReader, LegacyPowerPointReader, LegacyWordReader
from pipelines.readers.documents_odf import OdpReader, OdtReader
from pipelines.readers.documents_ooxml import DocxReader, PptxReader
from pipelines.readers.documents_sheets import SpreadsheetReader, record_workbook
from pipelines.readers.documents_text import CsvTextReader, HtmlReader, JsonTextReader, RtfReader
from pipelines.readers.record_xlsx import RecordXlsxReader

DOCUMENT_READERS = (DocxReader(), PptxReader(), OdtReader(), OdpReader(), RtfReader(), HtmlReader(), CsvTextReader(),
                    JsonTextReader(), LegacyWordReader(), LegacyPowerPointReader(), EncryptedOfficeReader())
KEYS = {"text", "chars", "format", "positions", "defects", "encoding"}


def read(reader, path: Path) -> dict:
    stats = FileStats()
    tables = list(reader.batches(path, stats))
    assert len(tables) == 1 and tables[0].num_rows == 1
    row = tables[0].to_pylist()[0]
    assert row["event_type"] == "text_document" and (stats.expected_items, stats.extracted_items) == (1, 1)
    payload = json.loads(row["payload"])
    assert KEYS <= set(payload) and payload["chars"] == len(payload["text"])
    for p in payload["positions"]:
        assert set(p) == {"kind", "n", "name", "start", "end"} and 0 <= p["start"] <= p["end"] <= payload["chars"]
    return payload


def cited(payload: dict, kind: str) -> list[tuple[int, str | None, str]]:
    return [(p["n"], p["name"], payload["text"][p["start"]:p["end"]]) for p in payload["positions"] if p["kind"] == kind]


# --- builders ----------------------------------------------------------------------------------------


def make_docx(path: Path) -> Path:
    docx = pytest.importorskip("docx")
    from docx.enum.text import WD_BREAK

    d = docx.Document()
    d.core_properties.title, d.core_properties.author = "Budget memo", "Jane Roe"
    d.add_heading("Background", 1)
    d.add_paragraph("First page about facial recognition.")
    d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    d.add_paragraph("Second page.")
    table = d.add_table(rows=2, cols=2)
    for (r, c), value in {(0, 0): "vendor", (0, 1): "amount", (1, 0): "Clearview", (1, 1): "412"}.items():
        table.cell(r, c).text = value
    d.sections[0].header.paragraphs[0].text = "CONFIDENTIAL"
    d.save(path)
    return path


def make_pptx(path: Path) -> Path:
    pptx = pytest.importorskip("pptx")
    p = pptx.Presentation()
    s1 = p.slides.add_slide(p.slide_layouts[1])
    s1.shapes.title.text = "Pilot results"
    s1.placeholders[1].text = "Searches run\nMatches found"
    s1.notes_slide.notes_text_frame.text = "Do not circulate"
    s2 = p.slides.add_slide(p.slide_layouts[5])
    s2.shapes.title.text = "Next steps"
    p.core_properties.author = "Ann Officer"
    p.save(path)
    return path


def make_xlsx(path: Path, first_row=("item", "amount")) -> Path:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": "FY2019 budget", "author": "Finance"})
    budget = wb.add_worksheet("Budget")
    budget.write_row(0, 0, list(first_row))
    budget.write_row(1, 0, ["licences", 412])
    budget.write_row(2, 0, ["training", 12.5])
    notes = wb.add_worksheet("Notes")
    notes.write(0, 0, "approved by\nthe board")
    notes.hide()
    wb.close()
    return path


def _odf(path: Path, mimetype: str, body: str, meta: str = "") -> Path:
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
          'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
          'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"')
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        zf.writestr("content.xml", f'<?xml version="1.0"?><office:document-content {ns}><office:body>{body}'
                                   "</office:body></office:document-content>")
        zf.writestr("meta.xml", f'<?xml version="1.0"?><office:document-meta {ns}><office:meta>{meta}'
                                "</office:meta></office:document-meta>")
        zf.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest '
                    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
    return path


ODT_BODY = ('<office:text><text:h>Minutes</text:h><text:p>Present:<text:s text:c="2"/>Ann<text:tab/>Bo</text:p>'
            '<text:p>Page <text:span>one</text:span> ends<text:line-break/>here.</text:p><text:soft-page-break/>'
            '<text:p>Page two.</text:p><table:table><table:table-row><table:table-cell><text:p>a</text:p>'
            '</table:table-cell><table:table-cell><text:p>b</text:p></table:table-cell></table:table-row></table:table>'
            '</office:text>')
ODT_META = ('<dc:title>Meeting minutes</dc:title><meta:initial-creator>Jane Roe</meta:initial-creator>'
            '<dc:creator>Bo Cc</dc:creator><meta:creation-date>2019-03-04T10:00:00</meta:creation-date>')
ODP_BODY = ('<office:presentation><draw:page draw:name="page1"><draw:frame presentation:class="title"><draw:text-box>'
            '<text:p>Overview</text:p></draw:text-box></draw:frame><draw:frame presentation:class="outline"><draw:text-box>'
            '<text:p>Point A</text:p></draw:text-box></draw:frame><presentation:notes><draw:frame presentation:class="notes">'
            '<draw:text-box><text:p>say less</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>'
            '<draw:page draw:name="page2"><draw:frame><draw:text-box><text:p>Second</text:p></draw:text-box></draw:frame>'
            '</draw:page></office:presentation>')
ODS_BODY = ('<office:spreadsheet><table:table table:name="Roster notes"><table:table-row><table:table-cell office:value-type="string">'
            '<text:p>name</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="3">'
            '<text:p>3</text:p></table:table-cell></table:table-row></table:table><table:table table:name="Other">'
            '<table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'
            '</table:table-row></table:table></office:spreadsheet>')


def ole_bytes(streams: dict[str, bytes]) -> bytes:
    from extract_msg import OleWriter  # a project dependency (Outlook .msg)

    ole = OleWriter()
    for name, data in streams.items():
        ole.addEntry([name], data)
    buf = io.BytesIO()
    ole.write(buf)
    return buf.getvalue()


def legacy_doc(path: Path) -> Path:
    path.write_bytes(ole_bytes({"WordDocument": b"\xec\xa5" + b"\0" * 4094, "1Table": b"\0" * 4096}))
    return path


# --- office documents ----------------------------------------------------------------------------------


def test_docx_text_pages_table_header_and_metadata(tmp_path):
    p = read(DocxReader(), make_docx(tmp_path / "memo.docx"))
    assert p["format"] == "docx" and p["encoding"] is None
    assert "Background\nFirst page about facial recognition." in p["text"]
    assert "vendor\tamount\nClearview\t412" in p["text"]
    pages = cited(p, "page")
    assert [n for n, _, _ in pages] == [1, 2]
    assert pages[0][2].startswith("Background") and pages[0][2].endswith("recognition.")
    assert pages[1][2].startswith("Second page.") and "Clearview" in pages[1][2]
    assert cited(p, "section") == [(1, "headers and footers", "CONFIDENTIAL")]
    assert any("explicit page breaks" in d for d in p["defects"])
    assert p["metadata"]["title"] == "Budget memo" and p["metadata"]["author"] == "Jane Roe"
    assert set(p["metadata"]) >= {"title", "subject", "author", "last_modified_by", "created", "modified"}


def test_pptx_one_position_per_slide_with_notes(tmp_path):
    p = read(PptxReader(), make_pptx(tmp_path / "deck.pptx"))
    assert p["format"] == "pptx"
    slides = cited(p, "slide")
    assert [(n, name) for n, name, _ in slides] == [(1, "Pilot results"), (2, "Next steps")]
    assert slides[0][2] == "Pilot results\n\nSearches run\nMatches found\n\nNotes:\nDo not circulate"
    assert slides[1][2] == "Next steps"
    assert p["metadata"]["author"] == "Ann Officer"


def test_odt_and_odp(tmp_path):
    odt = read(OdtReader(), _odf(tmp_path / "m.odt", "application/vnd.oasis.opendocument.text", ODT_BODY, ODT_META))
    assert odt["format"] == "odt"
    assert odt["text"] == "Minutes\nPresent:  Ann\tBo\nPage one ends\nhere.\nPage two.\na\tb"
    assert [(n, t) for n, _, t in cited(odt, "page")] == [(1, "Minutes\nPresent:  Ann\tBo\nPage one ends\nhere."),
                                                          (2, "Page two.\na\tb")]
    m = odt["metadata"]
    assert (m["title"], m["author"], m["last_modified_by"]) == ("Meeting minutes", "Jane Roe", "Bo Cc")
    assert m["created"] == "2019-03-04T10:00:00"  # ODF dates carry no zone: kept as written
    odp = read(OdpReader(), _odf(tmp_path / "s.odp", "application/vnd.oasis.opendocument.presentation", ODP_BODY))
    assert [(n, name, t) for n, name, t in cited(odp, "slide")] == [
        (1, "Overview", "Overview\n\nPoint A\n\nNotes:\nsay less"), (2, None, "Second")]


# --- spreadsheets ----------------------------------------------------------------------------------------


def test_xlsx_every_sheet_as_tab_separated_lines(tmp_path):
    path = make_xlsx(tmp_path / "budget.xlsx")
    reader = SpreadsheetReader()
    assert reader.accepts(path, path.read_bytes()[:4096])
    p = read(reader, path)
    assert p["format"] == "xlsx"
    assert cited(p, "sheet") == [(1, "Budget", "item\tamount\nlicences\t412\ntraining\t12.5"),
                                 (2, "Notes", "approved by the board")]
    assert p["defects"] == ["sheet 'Notes' is hidden (read all the same)"]
    assert p["metadata"]["title"] == "FY2019 budget" and p["metadata"]["author"] == "Finance"


def test_ods_through_calamine(tmp_path):
    path = _odf(tmp_path / "t.ods", "application/vnd.oasis.opendocument.spreadsheet", ODS_BODY,
                "<dc:title>Counts</dc:title>")
    p = read(SpreadsheetReader(), path)
    assert p["format"] == "ods" and p["metadata"]["title"] == "Counts"
    assert cited(p, "sheet") == [(1, "Roster notes", "name\t3"), (2, "Other", "x")]


def test_record_workbook_stays_with_record_xlsx(tmp_path):
    path = make_xlsx(tmp_path / "usage.xlsx", first_row=("account_ref", "period_start", "period_end", "searches"))
    assert record_workbook(path)
    assert not SpreadsheetReader().accepts(path, path.read_bytes()[:4096])
    stats = FileStats()
    assert sum(t.num_rows for t in RecordXlsxReader().batches(path, stats)) == 2  # still records
    assert not record_workbook(make_xlsx(tmp_path / "plain.xlsx"))


# --- text formats ------------------------------------------------------------------------------------------


def test_rtf_text_pages_and_info(tmp_path):
    path = tmp_path / "letter.rtf"
    path.write_bytes(rb"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Arial;}}{\info{\title Budget letter}{\author Jane Roe}"
                     rb"{\creatim\yr2019\mo1\dy2\hr3\min4}}\f0 Hello caf\'e9\par Second \u8364? line\page Page two\par}")
    p = read(RtfReader(), path)
    assert p["format"] == "rtf" and p["encoding"] == "cp1252"
    assert p["text"] == "Hello café\nSecond € line\nPage two"
    assert [(n, t) for n, _, t in cited(p, "page")] == [(1, "Hello café\nSecond € line"), (2, "Page two")]
    assert (p["metadata"]["title"], p["metadata"]["author"]) == ("Budget letter", "Jane Roe")
    assert p["metadata"]["created"] == "2019-01-02T03:04:00"


def test_html_visible_text_only(tmp_path):
    path = tmp_path / "page.htm"
    path.write_bytes("<!DOCTYPE html><html><head><meta charset='windows-1252'><title>Press  release</title>"
                     "<meta name='author' content='NYPD DCPI'><style>p{color:red}</style><script>var x=1;</script>"
                     "</head><body><h1>Headline</h1><p>First   paragraph with\n a break.</p><table><tr><td>a</td>"
                     "<td>b</td></tr></table><p>Caf\xe9</p></body></html>".encode("cp1252"))
    p = read(HtmlReader(), path)
    assert p["format"] == "html" and p["encoding"] == "cp1252"
    assert p["text"] == "Headline\n\nFirst paragraph with a break.\n\na\tb\n\nCafé"
    assert "color" not in p["text"] and "var x" not in p["text"] and p["positions"] == []
    assert (p["metadata"]["title"], p["metadata"]["author"]) == ("Press release", "NYPD DCPI")


def test_csv_of_unknown_header_is_a_document_known_header_is_not(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("name,phone\nAnn,555-0100\n")
    reader = CsvTextReader()
    assert reader.accepts(path, path.read_bytes())
    p = read(reader, path)
    assert (p["format"], p["text"], p["encoding"], p["positions"]) == ("csv", "name,phone\nAnn,555-0100\n", "utf-8", [])
    assert not reader.accepts(path, b"account_ref,searched_at\ncv-1,2019-01-01\n")


def test_json_pretty_printed_and_invalid_json_kept(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"b": 1, "a": [1, "é"]}')
    assert read(JsonTextReader(), path)["text"] == '{\n  "b": 1,\n  "a": [\n    1,\n    "é"\n  ]\n}'
    path.write_text('{"b": 1,')
    p = read(JsonTextReader(), path)
    assert p["text"] == '{"b": 1,' and p["defects"][0].startswith("not valid JSON")


# --- refusals ------------------------------------------------------------------------------------------------


def test_legacy_doc_without_converter_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(UnreadableFile, match=r"legacy Word \.doc: no converter found; install antiword "
                                             r"\(apt-get install antiword\) or LibreOffice and rebuild"):
        list(LegacyWordReader().batches(legacy_doc(tmp_path / "old.doc"), FileStats()))
    ppt = tmp_path / "old.ppt"
    ppt.write_bytes(ole_bytes({"PowerPoint Document": b"\0" * 4096}))
    with pytest.raises(UnreadableFile, match=r"no converter found; install catppt"):
        list(LegacyPowerPointReader().batches(ppt, FileStats()))


def test_legacy_doc_with_a_converter_on_path(tmp_path, monkeypatch):
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "antiword"
    fake.write_text("#!/bin/sh\nprintf 'Page one text\\n\\fPage two text\\n'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    p = read(LegacyWordReader(), legacy_doc(tmp_path / "old.doc"))
    assert p["format"] == "doc" and p["defects"] == ["text by antiword"]
    assert [(n, t) for n, _, t in cited(p, "page")] == [(1, "Page one text"), (2, "Page two text")]
    assert set(p["metadata"]) >= {"title", "author", "created", "modified"}


def test_encrypted_ooxml_is_password_required(tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = make_docx(tmp_path / "plain.docx")
    out = io.BytesIO()
    with plain.open("rb") as fh:
        OOXMLFile(fh).encrypt("secret", out)
    for name, reader in (("locked.docx", DocxReader()), ("locked.xlsx", SpreadsheetReader()),
                         ("locked.pptx", PptxReader()), ("locked.bin", EncryptedOfficeReader())):
        path = tmp_path / name
        path.write_bytes(out.getvalue())
        with pytest.raises(UnreadableFile, match="^password required: "):
            list(reader.batches(path, FileStats()))
    assert EncryptedOfficeReader().accepts(path, out.getvalue()[:4096])
    assert not EncryptedOfficeReader().accepts(tmp_path / "old.doc", legacy_doc(tmp_path / "old.doc").read_bytes())


# --- the registry ---------------------------------------------------------------------------------------------


def proposed_readers(current: tuple) -> tuple:
    """READERS with the document readers where they must go: SpreadsheetReader before RecordXlsxReader
    (record_xlsx takes any .xlsx it is offered, and refuses one without records); the others anywhere."""
    names = {r.name for r in DOCUMENT_READERS} | {"spreadsheet"}
    out = []
    for reader in current:
        if reader.name in names:
            continue
        if reader.name == "record_xlsx":
            out.append(SpreadsheetReader())
        out.append(reader)
    return tuple(out) + DOCUMENT_READERS


def test_registry_chooses_by_content(tmp_path, monkeypatch):
    if not hasattr(registry, "choose"):
        pytest.skip("the reader registry (readers.choose) is not in place")
    monkeypatch.setattr(registry, "READERS", proposed_readers(registry.READERS))
    renamed = tmp_path / "renamed.bin"
    renamed.write_bytes(make_docx(tmp_path / "memo.docx").read_bytes())
    cases = {
        renamed: "docx", tmp_path / "memo.docx": "docx", make_pptx(tmp_path / "d.pptx"): "pptx",
        make_xlsx(tmp_path / "b.xlsx"): "spreadsheet",
        make_xlsx(tmp_path / "u.xlsx", ("account_ref", "period_start", "period_end", "searches")): "record_xlsx",
        _odf(tmp_path / "m.odt", "application/vnd.oasis.opendocument.text", ODT_BODY): "odt",
        legacy_doc(tmp_path / "old.doc"): "legacy_doc",
    }
    texts = {"c.csv": ("name,phone\nAnn,1\nBo,2\n", "csv_text"), "r.csv": ("account_ref,searched_at\ncv-1,x\ncv-2,y\n",
                                                                            "search_log_csv"),
             "a.json": ('{\n "a": 1\n}\n', "json_text"), "n.txt": ("just prose, with commas\n", "plain_text"),
             "p.html": ("<html><body>x</body></html>", "html"), "f.htm": ("<div>fragment</div>", "html"),
             "l.rtf": ("{\\rtf1 x}", "rtf"),
             "cover_letter.docx": ("Dear requester,\nplease find enclosed.\n", "plain_text"),  # text named .docx
             "notes.rtf": ("not rtf at all\n", "plain_text")}  # text named .rtf: read as text
    for name, (text, expected) in texts.items():
        (tmp_path / name).write_text(text)
        cases[tmp_path / name] = expected
    chosen = {path.name: getattr(registry.reader_for(path), "name", None) for path in cases}
    assert chosen == {path.name: expected for path, expected in cases.items()}


# --- fuzz --------------------------------------------------------------------------------------------------------

SAMPLES = {"docx": ("f.docx", b"PK\x03\x04"), "pptx": ("f.pptx", b"PK\x03\x04"), "odt": ("f.odt", b"PK\x03\x04"),
           "odp": ("f.odp", b"PK\x03\x04"), "spreadsheet": ("f.xlsx", b"PK\x03\x04"), "rtf": ("f.rtf", b"{\\rtf1 "),
           "html": ("f.html", b"<html>"), "csv_text": ("f.csv", b"a,b\n"), "json_text": ("f.json", b"{"),
           "legacy_doc": ("f.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
           "legacy_ppt": ("f.ppt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
           "encrypted_office": ("f.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")}
BY_NAME = {r.name: r for r in DOCUMENT_READERS + (SpreadsheetReader(),)}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _outcome(reader, path: Path) -> None:
    stats = FileStats()
    try:
        for batch in reader.batches(path, stats):
            assert batch.num_rows > 0
    except UnreadableFile as exc:
        assert str(exc)


@FUZZ
@given(data=st.binary(max_size=2048), which=st.sampled_from(sorted(SAMPLES)))
def test_random_bytes_yield_batches_or_unreadable_file(tmp_path, data, which):
    name, prefix = SAMPLES[which]
    path = tmp_path / name
    path.write_bytes(prefix + data)
    _outcome(BY_NAME[which], path)


def _stored(path: Path) -> bytes:
    """The same zip with every member stored, so that flipped bytes land in the XML itself."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    return out.getvalue()


@pytest.fixture(scope="module")
def valid_documents(tmp_path_factory):
    root = tmp_path_factory.mktemp("valid")
    return {"docx": _stored(make_docx(root / "a.docx")), "pptx": _stored(make_pptx(root / "a.pptx")),
            "spreadsheet": _stored(make_xlsx(root / "a.xlsx")),
            "odt": _stored(_odf(root / "a.odt", "application/vnd.oasis.opendocument.text", ODT_BODY, ODT_META)),
            "odp": _stored(_odf(root / "a.odp", "application/vnd.oasis.opendocument.presentation", ODP_BODY))}


@FUZZ
@given(which=st.sampled_from(["docx", "pptx", "spreadsheet", "odt", "odp"]),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.floats(0.05, 1)))
def test_damaged_documents_yield_batches_or_unreadable_file(tmp_path, valid_documents, which, flips, cut):
    data = bytearray(valid_documents[which])
    for where, value in flips:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[:max(1, int(cut * len(data)))]
    path = tmp_path / SAMPLES[which][0]
    path.write_bytes(bytes(data))
    _outcome(BY_NAME[which], path)


# --- real documents, when someone has collected them ------------------------------------------------------------

REAL_WORLD = Path(__file__).parent / "fixtures" / "real_world"


@pytest.mark.skipif(not REAL_WORLD.is_dir(), reason="tests/fixtures/real_world/ not present")
def test_real_world_documents_never_crash(monkeypatch):
    if not hasattr(registry, "choose"):
        pytest.skip("the reader registry (readers.choose) is not in place")
    monkeypatch.setattr(registry, "READERS", proposed_readers(registry.READERS))
    for path in sorted(p for p in REAL_WORLD.rglob("*") if p.is_file()):
        reader = registry.reader_for(path)
        if reader is not None and reader.name in BY_NAME:
            _outcome(reader, path)
