#!/usr/bin/env python3
"""Deterministic generator of the SYNTHETIC load-file release raw/nypd-clearview-2021-12-loadfile/.

A litigation-style production volume: a Concordance DAT (cp1252, 0x14 / þ / ® delimiters) with one
extracted-text file per document, an Opticon OPT, a PDF of emails printed from Outlook (text layer,
Bates footer per page) and a "scanned" PDF without a text layer (meant to be quarantined: needs OCR).

Every person, address and message is invented (pseudonyms from generate_sample.py, RFC 2606 `.example`
domains, 555-01xx phones). See raw/README.md.

Usage:
    python raw/_generator/gen_loadfile_release.py [--out raw] [--check]

``--check`` regenerates into a temporary directory and exits 1 (naming the differing files) if the
release under --out differs from a fresh generation. No wall clock: output depends on SEED only
(fpdf2's creation date is fixed). Needs fpdf2 (dev extra).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate_sample as gs  # noqa: E402  (people, dates and the synthetic stamp of the main sample)

GENERATOR_NAME = "raw/_generator/gen_loadfile_release.py"
GENERATOR_VERSION = "1.0.0"
SEED = 20211206
RELEASE_ID = "nypd-clearview-2021-12-loadfile"
REQUEST_ID = "FOIL-2020-056-06392"  # invented digits
RELEASED_ON = "2021-12-06"
FIXED_PDF_DATE = dt.datetime(2021, 12, 6, 12, 0, 0, tzinfo=dt.timezone.utc)
VOLUME = "VOL001"
SYNTH = gs.SYNTH_LINE

SEP, QUOTE, NEWLINE = "\x14", "\u00fe", "\u00ae"
FIELDS = ["BEGBATES", "ENDBATES", "BEGATTACH", "ENDATTACH", "PARENTID", "CUSTODIAN", "FROM", "TO", "CC", "BCC",
          "SUBJECT", "DATESENT", "TIMESENT", "FILENAME", "DOCTYPE", "PGCOUNT", "MD5HASH", "TEXTPATH",
          "NATIVEPATH", "PRPRTIES", "SAMPLENOTE"]


def person(key: str) -> str:
    """'Last, First <addr>' as review platforms export it."""
    first, last = gs.P[key]["name"].split(" ", 1)
    return f"{last}, {first} <{gs.P[key]['email']}>"


def last_first(key: str) -> str:
    first, last = gs.P[key]["name"].split(" ", 1)
    return f"{last}, {first}"


REDACTED = "[REDACTED 87(2)(b)]"

# (key, kind, pages, fields..., text). kind "email" or "doc"; child docs name their parent key.
DOCS = [
    dict(key="D01", kind="email", pages=2, custodian="Vayle, Hector", frm="vayle", to=["varga", "castellan"],
         cc=["solberg"], subject="FIS trial accounts - first list", sent="2019-01-08 10:14",
         body="Hollis,\n\nAttached is the first list of FIS members for trial accounts. Please set them up\n"
              "under the department agreement.\n\n" + gs.sig("vayle", redact_phone=False)),
    dict(key="D02", kind="doc", pages=1, parent="D01", custodian="Vayle, Hector", filename="FIS_trial_accounts.xlsx",
         doctype="Spreadsheet", body="FIS trial accounts (list)\nName | Rank | Email\n" + "\n".join(
             f"{gs.P[k]['name']} | {gs.P[k]['rank']} | {gs.P[k]['email']}" for k in ("solberg", "kaczmar", "brannock"))),
    dict(key="D03", kind="email", pages=1, custodian="Solberg, Renata", frm="castellan", to=["solberg"], cc=[],
         subject="RE: FIS trial accounts - first list", sent="2019-01-08 15:40",
         props="Redacted" + NEWLINE + "Privacy: Public Officers Law 87(2)(b)",
         body="Renata,\n\nYour account is ready. " + REDACTED + " will send the login details separately.\n\n"
              + gs.sig("castellan", redact_phone=False)),
    dict(key="D04", kind="doc", pages=3, custodian="Kaczmar, Owen", filename="FIS_FR_procedure_draft.docx",
         doctype="Word Document",
         body="DRAFT - Facial Identification Section\nProcedure for comparing probe images against outside\n"
              "vendor results (trial period). Not final policy."),
    dict(key="D05", kind="email", pages=1, custodian="Tamberlane, Ravi", frm="tamberlane", to=["kolowski"], cc=[],
         subject="Account for HSI colleague", sent="2019-03-11 09:05",
         body="Brett,\n\nI asked Clearview to set up an account for you. You should get an email from\n"
              "support shortly.\n\n" + gs.sig("tamberlane", redact_phone=False)),
    dict(key="D06", kind="email", pages=1, custodian="Tamberlane, Ravi", frm="kolowski", to=["tamberlane"], cc=[],
         subject="RE: Account for HSI colleague", sent="2019-03-11 11:32",
         body="Thanks, received it. Will try it on the open case this week.\n\n" + gs.sig("kolowski", redact_phone=False)),
    dict(key="D07", kind="email", pages=2, custodian="Arvelo-Stamm, Luis", frm="ventrano", to=["arvelostamm"],
         cc=[REDACTED], subject="Photo comparison request", sent="2019-04-02 16:20",
         body="Luis,\n\nCan you run the attached still through the app and let me know if anything\ncomes back?\n\n"
              + gs.sig("ventrano", redact_phone=False)),
    dict(key="D08", kind="doc", pages=1, parent="D07", custodian="Arvelo-Stamm, Luis", filename="still_0402.pdf",
         doctype="PDF", body="[image of a person at a store counter; no text]\nSYNTHETIC SAMPLE placeholder."),
    dict(key="D09", kind="email", pages=1, custodian="Arvelo-Stamm, Luis", frm="arvelostamm", to=["ventrano"], cc=[],
         subject="RE: Photo comparison request", sent="2019-04-03 08:47",
         body="Marisol,\n\nTwo possible results, sending separately.\n\n" + gs.sig("arvelostamm", redact_phone=False)),
    dict(key="D10", kind="doc", pages=2, custodian="Vayle, Hector", filename="Clearview_quote_2019.pdf",
         doctype="PDF", body="Clearview AI - price quote (synthetic)\nDepartment licence, 12 months: [REDACTED 87(2)(d)]"),
    dict(key="D11", kind="email", pages=1, custodian="Vayle, Hector", frm="varga", to=["vayle"], cc=["okonkwobarr"],
         subject="Quote for department licence", sent="2019-05-20 13:02",
         body="Hector,\n\nThe quote is attached. Happy to meet next week.\n\n" + gs.sig("varga", redact_phone=False)),
    dict(key="D12", kind="doc", pages=1, parent="D11", custodian="Vayle, Hector", filename="Quote_NYPD.pdf",
         doctype="PDF", body="Quote (attachment copy)."),
    dict(key="D13", kind="email", pages=1, custodian="Kaczmar, Owen", frm="kaczmar", to=["vayle", "solberg"], cc=[],
         subject="Weekly search count", sent="2019-06-07 17:45",
         body="We ran more searches this week than last. Numbers attached in the usual sheet.\n\n"
              + gs.sig("kaczmar", redact_phone=False)),
    dict(key="D14", kind="doc", pages=1, custodian="Kaczmar, Owen", filename="weekly_counts.csv",
         doctype="Spreadsheet", datesent="20190607", body="week,searches\n2019-06-03,41"),
    dict(key="D15", kind="email", pages=1, custodian="Solberg, Renata", frm="solberg", to=["ashbyruiz"], cc=["vayle"],
         subject="Request for comparison - HSI", sent="2019-08-14 10:30",
         body="Dwayne,\n\nWe can't run this through the department account. Please send a formal request.\n\n"
              + gs.sig("solberg", redact_phone=False)),
]


def assign_bates(docs: list[dict]) -> None:
    n = 1001
    for d in docs:
        d["beg"], d["end"] = f"NYPD-CV-{n:06d}", f"NYPD-CV-{n + d['pages'] - 1:06d}"
        d["page_keys"] = [f"NYPD-CV-{n + i:06d}" for i in range(d["pages"])]
        n += d["pages"]
    by_key = {d["key"]: d for d in docs}
    for d in docs:
        family = [d] + [c for c in docs if c.get("parent") == d["key"]]
        parent = by_key.get(d.get("parent"))
        if parent:
            family = [parent] + [c for c in docs if c.get("parent") == parent["key"]]
        if len(family) > 1:
            d["begattach"], d["endattach"] = family[0]["beg"], family[-1]["end"]
        d["parentid"] = parent["beg"] if parent else ""


def email_date(local: str) -> tuple[str, str]:
    t = gs.parse_local(local)
    hour = t.hour % 12 or 12
    return f"{t:%m/%d/%Y}", f"{hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def text_file(d: dict) -> str:
    lines = [SYNTH, ""]
    if d["kind"] == "email":
        lines += [f"From: {gs.P[d['frm']]['name']} <{gs.P[d['frm']]['email']}>",
                  "To: " + "; ".join(person(k) for k in d["to"]),
                  f"Subject: {d['subject']}", ""]
    lines.append(d["body"])
    # one form feed per page boundary, as production text files mark page breaks
    return "\n".join(lines) + "\n" + "\f\n" * (d["pages"] - 1)


def dat_record(d: dict) -> dict:
    rec = dict.fromkeys(FIELDS, "")
    rec.update(BEGBATES=d["beg"], ENDBATES=d["end"], BEGATTACH=d.get("begattach", ""),
               ENDATTACH=d.get("endattach", ""), PARENTID=d["parentid"], CUSTODIAN=d["custodian"],
               PGCOUNT=str(d["pages"]), TEXTPATH=f"{VOLUME}\\TEXT\\{d['beg']}.txt",
               PRPRTIES=d.get("props", ""), SAMPLENOTE="SYNTHETIC SAMPLE")
    if d["kind"] == "email":
        date, time = email_date(d["sent"])
        rec.update(FROM=person(d["frm"]),
                   TO="; ".join(person(k) for k in d["to"]),
                   CC="; ".join(k if k.startswith("[") else person(k) for k in d["cc"]),
                   SUBJECT=d["subject"], DATESENT=date, TIMESENT=time, DOCTYPE="Email",
                   FILENAME=f"{d['beg']}.msg")
    else:
        rec.update(FILENAME=d["filename"], DOCTYPE=d["doctype"], DATESENT=d.get("datesent", ""))
    rec["MD5HASH"] = hashlib.md5(text_file(d).encode("utf-8")).hexdigest()
    return rec


def dat_bytes(docs: list[dict]) -> bytes:
    def line(values):
        return SEP.join(QUOTE + v.replace("\r\n", NEWLINE).replace("\n", NEWLINE) + QUOTE for v in values) + "\r\n"
    out = [line(FIELDS)] + [line([dat_record(d)[f] for f in FIELDS]) for d in docs]
    return "".join(out).encode("cp1252")


def opt_bytes(docs: list[dict]) -> bytes:
    out = []
    for d in docs:
        for i, key in enumerate(d["page_keys"]):
            first = i == 0
            out.append(f"{key},{VOLUME},{VOLUME}\\IMAGES\\001\\{key}.tif,{'Y' if first else ''},,,"
                       f"{d['pages'] if first else ''}\r\n")
    return "".join(out).encode("cp1252")


# ---------------------------------------------------------------------------------------------------
# Printed-email PDF (Outlook print layout)
# ---------------------------------------------------------------------------------------------------

def outlook_sent(local: str) -> str:
    t = gs.parse_local(local)
    day = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][t.weekday()]
    month = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"][t.month - 1]
    hour = t.hour % 12 or 12
    return f"{day}, {month} {t.day}, {t.year} {hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


MSG_A = dict(frm=last_first("solberg"), sent="2019-02-05 15:12", to=f"{last_first('varga')}; {last_first('kaczmar')}",
             cc=REDACTED, subject="Search results - trial accounts",
             body=["Hollis,", "", "Results from the trial searches this week look useful. Two of the probe",
                   "images returned possible matches that the squad is following up.", "",
                   "Renata Solberg", "Detective, Facial Identification Section"])
MSG_B = dict(frm=last_first("varga"), sent="2019-02-06 09:48", to=last_first("solberg"), cc="",
             subject="RE: Search results - trial accounts", attachments="Clearview_tips.pdf",
             body=["Renata,", "", "Great to hear. A few tips for getting better results are attached:",
                   "- use the clearest frontal image you have;", "- crop to the face before uploading;",
                   "- try more than one image of the same person.", "",
                   "Let me know if the squad needs more accounts.", "", "Hollis Varga",
                   "Founder & CEO, Clearview AI", "hollis@clearview.example"])
MSG_C = dict(frm=last_first("tamberlane"), sent="2019-03-11 09:05", to="'brett.kolowski@ice.example'", cc="",
             subject="Account for HSI colleague",
             body=["Brett,", "", "I asked Clearview to set up an account for you. You should get an email",
                   "from support shortly.", "", "Ravi Tamberlane", "Detective, Identity Theft Team",
                   "Task Force Officer, HSI"])


def header_lines(m: dict, quoted: bool = False) -> list[str]:
    frm = m["frm"]
    if quoted:
        key = next(k for k in gs.P if last_first_safe(k) == frm)
        frm = f"{frm} [mailto:{gs.P[key]['email']}]"
    lines = [f"From: {frm}", f"Sent: {outlook_sent(m['sent'])}", f"To: {m['to']}"]
    if m.get("cc"):
        lines.append(f"Cc: {m['cc']}")
    lines.append(f"Subject: {m['subject']}")
    if m.get("attachments") and not quoted:
        lines.append(f"Attachments: {m['attachments']}")
    return lines + [""]


def last_first_safe(key: str) -> str:
    name = gs.P[key]["name"]
    return f"{name.split(' ', 1)[1]}, {name.split(' ', 1)[0]}" if " " in name else name


PDF_PAGES = [
    header_lines(MSG_A) + MSG_A["body"],
    header_lines(MSG_B) + MSG_B["body"] + ["", "-----Original Message-----"] + header_lines(MSG_A, quoted=True)
    + MSG_A["body"][:3],
    MSG_A["body"][3:],
    header_lines(MSG_C) + MSG_C["body"],
]
PDF_BATES_START = 1101


def _pdf():
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.set_creation_date(FIXED_PDF_DATE)
    pdf.set_creator(GENERATOR_NAME)
    pdf.set_producer(f"{GENERATOR_NAME} {GENERATOR_VERSION}")
    pdf.set_auto_page_break(False)
    return pdf


def printed_pdf_bytes() -> bytes:
    pdf = _pdf()
    pdf.set_title("SYNTHETIC SAMPLE - printed emails")
    for n, lines in enumerate(PDF_PAGES):
        pdf.add_page()
        pdf.set_font("Helvetica", size=8)
        pdf.set_xy(15, 10)
        pdf.cell(0, 5, SYNTH)
        pdf.set_font("Helvetica", size=10)
        y = 22
        for line in lines:
            pdf.set_xy(20, y)
            bold = line.split(":", 1)[0] in ("From", "Sent", "To", "Cc", "Subject", "Attachments")
            pdf.set_font("Helvetica", "B" if bold else "", 10)
            pdf.cell(0, 5, line)
            y += 5.5
        pdf.set_font("Helvetica", size=9)
        pdf.set_xy(150, 265)
        pdf.cell(0, 5, f"NYPD-CV-{PDF_BATES_START + n:06d}")
    return bytes(pdf.output())


def scanned_pdf_bytes() -> bytes:
    pdf = _pdf()
    pdf.add_page()
    pdf.set_line_width(0.8)
    pdf.rect(30, 40, 150, 90)  # stands in for a scanned page image: no text layer at all
    pdf.set_fill_color(0, 0, 0)
    pdf.rect(50, 60, 80, 12, style="F")
    return bytes(pdf.output())


# ---------------------------------------------------------------------------------------------------
# Manifest and writing
# ---------------------------------------------------------------------------------------------------

NOTES = f"""\
SYNTHETIC SAMPLE generated by {GENERATOR_NAME} (see raw/README.md). Every person is a pseudonym
(the people of raw/_generator/generate_sample.py); addresses use reserved .example domains, phones are
555-01xx. The request number {REQUEST_ID} has invented digits. All messages, dates, Bates numbers and
family relations are invented (provenance synthetic_modeled, not documented).
Release content: one production volume {VOLUME} in e-discovery layout: a Concordance load file
(DATA/{VOLUME}.dat, windows-1252, 0x14 / thorn / registered-sign delimiters, 15 documents,
Bates NYPD-CV-001001 to NYPD-CV-001020), one extracted-text file per document (TEXT/), an Opticon image
cross-reference (DATA/{VOLUME}.opt; the page images themselves are not included), a PDF of four pages
of emails printed from Outlook (PDF/printed_emails.pdf, Bates NYPD-CV-001101 to NYPD-CV-001104, text
layer) and a scanned PDF without a text layer (PDF/scanned_no_text.pdf; meant to be quarantined as
needing OCR). Redaction marks are cited per box, e.g. [REDACTED 87(2)(b)].
"""


def manifest() -> bytes:
    return gs.release_yaml(RELEASE_ID, REQUEST_ID, RELEASED_ON, 'Litigation production volume VOL001: load file, text and printed emails (synthetic)', [], NOTES,
                           GENERATOR_NAME, GENERATOR_VERSION, SEED)


def build() -> dict[str, bytes]:
    docs = [dict(d) for d in DOCS]
    assign_bates(docs)
    files = {"release.yaml": manifest(),
             f"{VOLUME}/DATA/{VOLUME}.dat": dat_bytes(docs),
             f"{VOLUME}/DATA/{VOLUME}.opt": opt_bytes(docs),
             f"{VOLUME}/PDF/printed_emails.pdf": printed_pdf_bytes(),
             f"{VOLUME}/PDF/scanned_no_text.pdf": scanned_pdf_bytes()}
    for d in docs:
        files[f"{VOLUME}/TEXT/{d['beg']}.txt"] = text_file(d).replace("\n", "\r\n").encode("cp1252")
    return files


def generate(out: Path) -> None:
    gs.write_release_files(out / RELEASE_ID, build())


def main(argv=None) -> int:
    return gs.run_cli(argv, __doc__, generate, [RELEASE_ID], "load-file release")


if __name__ == "__main__":
    sys.exit(main())
