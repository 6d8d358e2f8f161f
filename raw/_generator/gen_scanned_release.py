#!/usr/bin/env python3
"""Deterministic generator of the SYNTHETIC scanned release raw/nypd-clearview-2022-05-scanned/.

How many agencies answer a FOIL request: emails printed from Outlook, redacted with a box tool, and
scanned — no load file, no text layer, Bates numbers only in the page footers. Three files:

* scans/NYPD-CV-SCAN-0001.pdf — six pages, 200 dpi bilevel, skewed up to 0.8°, speckled;
* scans/cover_letter_and_emails.pdf — the records officer's cover letter (a text layer) and two
  greyscale pages scanned at 300 dpi (JPEG), i.e. a PDF with mixed text and scanned pages;
* scans/fax_pages.tif — two bilevel frames (CCITT Group 4, 200 dpi).

Redaction boxes: solid with the code beside, solid with the code printed white inside, outlined with the
code inside; on header lines (Cc) and in bodies. The text under a box is never written.

The people are the main sample's (generate_sample.py) and two more pseudonyms; addresses use RFC 2606
`.example` domains, phones 555-01xx. EXPECTED states what the warehouse should find (tests read it).

Usage:
    python raw/_generator/gen_scanned_release.py [--out raw] [--check]

``--check`` regenerates into a temporary directory and exits 1 (naming the differing files) if the
release under --out differs. Output depends only on SEED and the pinned fpdf2, pypdfium2 and Pillow.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate_sample as gs  # noqa: E402  (people and the synthetic stamp of the main sample)
import scanned_pages as sp  # noqa: E402
from gen_loadfile_release import outlook_sent  # noqa: E402

GENERATOR_NAME = "raw/_generator/gen_scanned_release.py"
GENERATOR_VERSION = "1.0.0"
SEED = 20220516
RELEASE_ID = "nypd-clearview-2022-05-scanned"
REQUEST_ID = "FOIL-2021-056-11877"  # invented digits
RELEASED_ON = "2022-05-16"
CREATED = dt.datetime(2022, 5, 16, 12, 0, 0, tzinfo=dt.timezone.utc)
PRODUCER = f"{GENERATOR_NAME} {GENERATOR_VERSION}"
SYNTH = gs.SYNTH_LINE
Box = sp.Box

# Two people only this release names (the rest are generate_sample.py's).
PEOPLE = {
    "marchetti": dict(name="Wendell Marchetti", email="wendell.marchetti@nypd.example", org="NYPD",
                      rank="Detective", unit="Precinct Detective Squad", phone="212-555-0141"),
    "finch": dict(name="Odessa Finch", email="odessa.finch@dhs.example", org="DHS", rank="Special Agent",
                  phone="202-555-0175"),
}


def who(key: str) -> dict:
    return PEOPLE.get(key) or gs.P[key]


def addr(key: str) -> str:
    """'Last, First <addr>' as Outlook prints a resolved recipient."""
    p = who(key)
    if key == "support":
        return f"{p['name']} <{p['email']}>"
    first, last = p["name"].split(" ", 1)
    return f"{last}, {first} <{p['email']}>"


def header(frm: str, sent: str, to: list, subject: str, cc: list | None = None) -> list:
    """Outlook's header block; an entry of `to`/`cc` is a person key or a line of segments (a box)."""
    def field(label: str, entries: list) -> list | str:
        parts: list = [f"{label}: "]
        for n, entry in enumerate(entries):
            if n:
                parts.append("; ")
            parts += entry if isinstance(entry, list) else [addr(entry)]
        return "".join(parts) if all(isinstance(p, str) for p in parts) else parts
    lines = [f"From: {addr(frm)}", f"Sent: {outlook_sent(sent)}", field("To", to)]
    if cc:
        lines.append(field("Cc", cc))
    return lines + [f"Subject: {subject}", ""]


def bates(n: int) -> str:
    return f"NYPD-CV-{2000 + n:06d}"


# ---- the messages, page by page -------------------------------------------------------------------

M1 = header("support", "2019-05-14 10:02", ["marchetti"], "Your Clearview account is ready",
            cc=[[Box("§87(2)(b)", code_at="after", width=24)]]) + [
    "Wendell,",
    "",
    "Your Clearview account is ready. Log in at app.clearview.example with your email address.",
    ["Temporary password: ", Box("(b)(6)", width=12)],
    "You will be asked to set a new password the first time you sign in.",
    "",
    "Clearview Support",
]
M2_HEAD = header("marchetti", "2019-05-20 16:41", ["varga"], "Question about search results",
                 cc=["holmquist"])
M2_BODY = [
    "Hollis,",
    "",
    "Thanks for setting me up last week. I have been running probe images from open cases in the",
    "squad and have a question about the results. When a probe image is a low quality still from a",
    "video, the app returns a long list of possible matches. How should we read the scores, and is",
    "there a point below which the results are not worth following up?",
    "",
    "The squad would also like to know whether the app keeps the probe images we upload, and for",
    "how long. Our legal unit asked me to find out before we use it on more cases.",
]
M2_REST = [
    "I can be reached at the squad office most afternoons.",
    ["Desk: ", Box("§87(2)(b)", code_at="after", width=14)],
    "",
    "Wendell Marchetti",
    "Detective, Precinct Detective Squad",
    "New York City Police Department",
]
M3 = header("marchetti", "2019-06-03 11:15", ["castellan"], "Trial for a DHS colleague",
            cc=["finch"]) + [
    "Priya,",
    "",
    "Special Agent Odessa Finch at DHS (odessa.finch@dhs.example) saw the app at our case meeting",
    "and asked whether she could try it. Could you set up a trial account for her?",
    ["She is working on ", Box("§87(2)(e)(iv)", style="outlined", width=26), " with our squad."],
    "",
    "Thanks,",
    "Wendell Marchetti",
    "Detective, Precinct Detective Squad",
]
M4 = header("castellan", "2019-06-04 09:30", ["finch"], "You've been invited to join Clearview",
            cc=["marchetti"]) + [
    "Odessa,",
    "",
    "Wendell Marchetti asked us to set you up. Your trial access is now active.",
    "Log in at app.clearview.example with your email address and set your password.",
    "",
    "Priya Castellan",
    "Customer Success, Clearview AI",
    "priya@clearview.example",
]
M5 = header("varga", "2019-05-21 08:55", ["marchetti"], "RE: Question about search results") + [
    "Wendell,",
    "",
    "Good questions. The scores rank the possible matches; treat every result as a lead only.",
    "We keep uploaded images for the account's history. Happy to go through it at a meeting.",
    "",
    "Hollis Varga",
    "Founder & CEO, Clearview AI",
    "",
    "-----Original Message-----",
] + header("marchetti", "2019-05-20 16:41", ["varga"], "Question about search results")[:-1] + [
    "",
    "Hollis,",
    "",
    "Thanks for setting me up last week. I have been running probe images from open cases in the",
]
M6 = header("support", "2019-06-24 07:00", ["marchetti"], "Your weekly activity") + [
    "Wendell,",
    "",
    "You have run 57 searches since your account was set up. Keep going: the more you search,",
    "the more useful the app becomes for your squad.",
    "",
    "Clearview Support",
]
M7 = header("marchetti", "2019-07-09 13:20", ["varga"], "Meeting at headquarters",
            cc=[[Box("§87(2)(b)", width=22)]]) + [
    "Hollis,",
    "",
    "The squad commander would like to meet before we ask for more accounts. Would Tuesday the",
    "16th at 10 work? Bring the retention answer in writing if you can.",
    "",
    "Wendell Marchetti",
]
M8 = header("finch", "2019-06-05 14:02", ["castellan"], "RE: You've been invited to join Clearview") + [
    "Priya,",
    "",
    "Thank you. I am in and ran a few searches on an open case this morning. I will let you",
    "know how the results hold up.",
    "",
    "Odessa Finch",
    "Special Agent, DHS",
    ["Tel: ", Box("(b)(6)", code_at="after", width=12)],
]
M9 = header("castellan", "2019-06-05 15:10", ["finch"], "RE: RE: You've been invited to join Clearview") + [
    "Odessa,",
    "",
    "Glad it works. Your colleagues can ask for trial access the same way.",
    "",
    "Priya Castellan",
]

COVER = [
    "New York City Police Department",
    "Legal Bureau - FOIL Unit",
    "",
    "May 16, 2022",
    "",
    f"Re: FOIL Request {REQUEST_ID}",
    "",
    "Dear Requester:",
    "",
    "This is a further response to your request under the Freedom of Information Law for",
    "communications with Clearview AI. Enclosed are two pages of responsive records.",
    "Portions are redacted under Public Officers Law 87(2)(b) and 87(2)(e)(iv).",
    "",
    "Records Access Officer",
]

FILES = {
    # path: (pages, scan settings per page); a page is (lines, bates) or "text" for a text-layer page
    "scans/NYPD-CV-SCAN-0001.pdf": ([M1, M2_HEAD + M2_BODY, M2_REST, M3, M4, M5],
                                    dict(dpi=200, mode="1", skews=[0.6, -0.4, 0.8, -0.7, 0.3, -0.5])),
    "scans/cover_letter_and_emails.pdf": (["text", M6, M7], dict(dpi=300, mode="L", skews=[0, -0.7, 0.5])),
    "scans/fax_pages.tif": ([M8, M9], dict(dpi=200, mode="1", skews=[0.9, -0.3])),
}


def _pages(pages: list, first_bates: int) -> list[sp.Page]:
    return [sp.Page(COVER if lines == "text" else lines, bates(first_bates + i), SYNTH) for i, lines in enumerate(pages)]


def build() -> dict[str, bytes]:
    files = {"release.yaml": manifest()}
    n = 1
    for path, (pages, scan) in FILES.items():
        parts = []
        for i, page in enumerate(_pages(pages, n)):
            if pages[i] == "text":
                parts.append(page)
                continue
            images, _ = sp.render([page], sp.Scan(scan["dpi"], scan["mode"], scan["skews"][i], 0.0004, SEED + n + i),
                                  CREATED, PRODUCER)
            parts += images
        if path.endswith(".tif"):
            files[path] = sp.tiff(parts, scan["dpi"])
        else:
            files[path] = sp.scanned_pdf(parts, CREATED, PRODUCER, f"SYNTHETIC SAMPLE - {Path(path).stem}")
        n += len(pages)
    return files


# ---- what the warehouse should find (tests/test_ocr.py) ----------------------------------------------

def _box_count(pages) -> int:
    return sum(1 for lines in pages if lines != "text" for line in lines if isinstance(line, list)
               for seg in line if isinstance(seg, Box))


EXPECTED = {
    "pages_ocr": sum(len([p for p in pages if p != "text"]) for pages, _ in FILES.values()),
    "text_layer_pages": 1,
    "boxes": sum(_box_count(pages) for pages, _ in FILES.values()),
    "box_codes": sorted(seg.code for pages, _ in FILES.values() for lines in pages if lines != "text"
                        for line in lines if isinstance(line, list) for seg in line if isinstance(seg, Box)),
    "box_header_fields": {"cc": 2},
    # printed messages: (file, first page, last page, Bates begin, sender, subject)
    "messages": [
        ("scans/NYPD-CV-SCAN-0001.pdf", 1, 1, bates(1), "support@clearview.example", "Your Clearview account is ready"),
        ("scans/NYPD-CV-SCAN-0001.pdf", 2, 3, bates(2), "wendell.marchetti@nypd.example", "Question about search results"),
        ("scans/NYPD-CV-SCAN-0001.pdf", 4, 4, bates(4), "wendell.marchetti@nypd.example", "Trial for a DHS colleague"),
        ("scans/NYPD-CV-SCAN-0001.pdf", 5, 5, bates(5), "priya@clearview.example", "You've been invited to join Clearview"),
        ("scans/NYPD-CV-SCAN-0001.pdf", 6, 6, bates(6), "hollis@clearview.example", "RE: Question about search results"),
        ("scans/cover_letter_and_emails.pdf", 2, 2, bates(8), "support@clearview.example", "Your weekly activity"),
        ("scans/cover_letter_and_emails.pdf", 3, 3, bates(9), "wendell.marchetti@nypd.example", "Meeting at headquarters"),
        ("scans/fax_pages.tif", 1, 1, bates(10), "odessa.finch@dhs.example", "RE: You've been invited to join Clearview"),
        ("scans/fax_pages.tif", 2, 2, bates(11), "priya@clearview.example", "RE: RE: You've been invited to join Clearview"),
    ],
    # accounts the vendor's emails grant, with the page that proves it
    "accounts": {"wendell.marchetti@nypd.example": ("scans/NYPD-CV-SCAN-0001.pdf", 1),
                 "odessa.finch@dhs.example": ("scans/NYPD-CV-SCAN-0001.pdf", 5)},
    "referrals": [("wendell.marchetti@nypd.example", "odessa.finch@dhs.example", "scans/NYPD-CV-SCAN-0001.pdf", 4)],
    "contacts": [("wendell.marchetti@nypd.example", "hollis@clearview.example"),
                 ("wendell.marchetti@nypd.example", "priya@clearview.example"),
                 ("odessa.finch@dhs.example", "priya@clearview.example")],
    "usage_searches": {"wendell.marchetti@nypd.example": 57},
    # words under a box that must never appear (the generator never writes them, nothing may guess them)
    "never": ["212-555-0141", "202-555-0175"],
}


# ---- manifest and writing ----------------------------------------------------------------------------

NOTES = f"""\
SYNTHETIC SAMPLE generated by {GENERATOR_NAME} (see raw/README.md). Every person is a pseudonym
(the people of raw/_generator/generate_sample.py and two more invented here); addresses use reserved
.example domains, phones are 555-01xx. The request number {REQUEST_ID} has invented digits. All
messages, dates and Bates numbers are invented (provenance synthetic_modeled, not documented).
Release content: scanned printed emails without a load file or a text layer, Bates numbers
{bates(1)} to {bates(11)} in the page footers: a six-page PDF scanned bilevel at 200 dpi
(scans/NYPD-CV-SCAN-0001.pdf), a PDF with a typed cover letter (text layer) and two greyscale pages
scanned at 300 dpi (scans/cover_letter_and_emails.pdf), and a two-page Group 4 TIFF
(scans/fax_pages.tif). Redactions are boxes drawn on the page (solid or outlined) with the exemption
code printed on or beside them; the text under them was never written.
"""


def manifest() -> bytes:
    return gs.release_yaml(RELEASE_ID, REQUEST_ID, RELEASED_ON, 'Scanned production: printed emails with redaction boxes, no load file (synthetic)', [], NOTES,
                           GENERATOR_NAME, GENERATOR_VERSION, SEED)


def generate(out: Path) -> None:
    gs.write_release_files(out / RELEASE_ID, build())


def main(argv=None) -> int:
    return gs.run_cli(argv, __doc__, generate, [RELEASE_ID], "scanned release")


if __name__ == "__main__":
    sys.exit(main())
