"""OCR benchmark (issue #16): scanned printed emails from known text, read by the real reader.

A seeded corpus of invented Outlook-printed emails (pseudonyms, .example domains, 2018-2020) is laid out
page by page: single-page messages, messages running over two pages, and replies quoting their original
after "-----Original Message-----" (two messages on one page). Some Cc lines and body lines carry
redaction boxes (solid with the code beside, solid with the code in white, outlined with the code inside).
Every page ends with a Bates footer. The pages are "scanned" four ways (200/300 dpi x 1-bit/greyscale),
each page with its own skew in [-1°, 1°] and speckle, into PDFs without a text layer; then, per variant:

  bare    Tesseract alone on the same page images (pdfium renders of the PDF at the scan's dpi): a pool of
          one thread per core, each running `tesseract --psm 4 --dpi D` through pytesseract
  reader  PrintedEmailPdfReader().batches on the PDF, FOIL_OCR_WORKERS unset (one OCR worker per core)

and reports the character error rate of each message's body against the known text, messages found vs
printed (matched by first page and depth), redaction boxes found vs drawn (matched by centre, the drawn
box rotated by the page's skew) and their codes, and pages/s of the reader against bare Tesseract.
Targets: CER <= 2%, every message found, every box found, reader >= 0.8x bare pages/s.

Usage: .venv/bin/python bench/bench_ocr.py [--pages 40] [--variants 200-1,300-1,200-L,300-L] [--check]
Writes bench/results/<date>-ocr-<pages>.json (or --out); `--check` exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import difflib
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "raw" / "_generator"))
import scanned_pages as sp  # noqa: E402

from pipelines.readers import FileStats, ocr  # noqa: E402
from pipelines.readers.printed_pdf import PrintedEmailPdfReader  # noqa: E402

SEED = 16
CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
PRODUCER = "bench/bench_ocr.py"
MAX_LINES = 40          # lines that fit above the Bates footer (scanned_pages: 22 mm + 5.5 mm a line)
WRAP = 86               # characters a body line (10 pt Helvetica fits ~95 across the page)
SPECKLE = 0.0005
TARGETS = {"cer": 0.02, "speed_ratio": 0.8}

FIRST = ["Ansel", "Brielle", "Corwin", "Delphine", "Emrys", "Fenna", "Gideon", "Halvard", "Isolde", "Jasper",
         "Kestrel", "Linnea", "Magnus", "Noor", "Oriel", "Perrin", "Quilla", "Rowan", "Sabine", "Tobias"]
LAST = ["Ashdown", "Blackwood", "Carrow", "Dunleavy", "Everard", "Fairweather", "Galloway", "Hartigan",
        "Ingleby", "Kilbride", "Larkspur", "Merriman", "Norwood", "Oakes", "Pemberton", "Quarrie", "Redfern"]
ORGS = [("nypd.example", "Detective, Precinct Detective Squad"), ("nypd.example", "Sergeant, Real Time Crime Center"),
        ("clearview.example", "Customer Success, Clearview AI"), ("dhs.example", "Special Agent, DHS"),
        ("cityhall.example", "Policy Analyst, Mayor's Office")]
TOPICS = ["Search results", "Trial account", "Retention policy", "Probe images", "Weekly activity", "Squad access",
          "Training session", "Pilot invoice", "Case review", "Account renewal", "Legal review", "Meeting notes"]
ASPECTS = ["question", "request", "follow up", "schedule", "update", "next steps", "for the squad", "summary"]
FILL = {
    "group": ["squad", "legal unit", "commander", "detective bureau", "records office", "analyst team"],
    "thing": ["account", "app", "probe image", "search history", "trial", "match list", "retention answer",
              "training deck", "invoice", "report"],
    "things": ["probe images", "search results", "possible matches", "trial accounts", "case files", "stills"],
    "adj": ["useful", "unclear", "promising", "too slow", "good enough", "hard to read", "consistent"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the 16th", "the 3rd"],
    "verb": ["reviewed", "shared", "renewed", "approved", "deleted", "updated", "extended"],
    "n": [str(n) for n in (3, 7, 12, 19, 24, 31, 46, 57, 88, 112)],
    "time": ["9:30", "10:00", "11:15", "2:00", "3:45", "4:30"],
}
SENTENCES = [
    "Thanks for setting up the {thing} last week.",
    "The {group} would like to know whether the {thing} can be {verb} before {day}.",
    "I have been running {things} from open cases and the results look {adj}.",
    "Could you send the {thing} to the {group} by {day}?",
    "We will go over the {things} at the meeting on {day} at {time}.",
    "Please let me know if the {thing} is {adj} for the {group}.",
    "Our {group} asked me to find out how long the {things} are kept.",
    "The scores rank the possible matches, so treat every result as a lead only.",
    "There were {n} searches on the account since it was set up.",
    "I can be reached at the office most afternoons.",
    "The {thing} was {verb} on {day}, and the {group} has a copy.",
    "When a still from a video is of low quality, the app returns {n} {things}.",
    "None of the {things} should be used without a second review by the {group}.",
]
CODES = ["(b)(6)", "§87(2)(b)", "§87(2)(e)(iv)"]
STYLES = [("solid", "after"), ("solid", "inside"), ("outlined", "inside")]
BOX_LINES = [("Desk: ", ""), ("Tel: ", ""), ("She is working on ", " with our squad."),
             ("The witness, ", ", was shown the results."), ("Case number ", " is the one I meant.")]
MARKER_RE = re.compile(r"\[REDACTED BOX[^\]]*\]")


# ---- the corpus ----------------------------------------------------------------------------------------

@dataclass
class Person:
    first: str
    last: str
    email: str
    title: str


@dataclass
class Msg:
    sender: Person
    to: Person
    subject: str
    body: list                  # lines: str | list[str | sp.Box]
    sent: dt.datetime
    depth: int = 0
    pages: tuple = (0, 0)


def person(rng: random.Random) -> Person:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    domain, title = rng.choice(ORGS)
    return Person(first, last, f"{first.lower()}.{last.lower()}@{domain}", title)


def box(rng: random.Random) -> sp.Box:
    code = rng.choice(CODES)
    style, code_at = rng.choice(STYLES)
    width = 2 * len(code) + rng.randint(2, 8) if code_at == "inside" else rng.randint(10, 22)
    return sp.Box(code, style, code_at, width)


def outlook_sent(t: dt.datetime) -> str:
    """As Outlook prints it: 'Tuesday, February 5, 2019 3:12 PM'."""
    return f"{t:%A, %B} {t.day}, {t.year} {t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def paragraph(rng: random.Random) -> list[str]:
    text = " ".join(rng.choice(SENTENCES).format(**{k: rng.choice(v) for k, v in FILL.items()})
                    for _ in range(rng.randint(2, 4)))
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > WRAP:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line]


def message(rng: random.Random, body_lines: int, reply_to: Msg | None = None) -> Msg:
    sender, to = (reply_to.to, reply_to.sender) if reply_to else (person(rng), person(rng))
    subject = "RE: " + reply_to.subject if reply_to else f"{rng.choice(TOPICS)} {rng.choice(ASPECTS)}"
    when = reply_to.sent + dt.timedelta(minutes=rng.randint(20, 3000)) if reply_to else \
        dt.datetime(2018, 1, 1) + dt.timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
    body = [f"{to.first},", ""]
    boxes_left = rng.choice([0, 1, 1, 2]) if body_lines > 8 else rng.choice([0, 1])
    while len(body) < body_lines:
        body += paragraph(rng)
        if boxes_left and rng.random() < 0.6:  # a redacted phrase ends the paragraph
            before, after = rng.choice(BOX_LINES)
            body.append([before, box(rng)] + ([after] if after else []))
            boxes_left -= 1
        body.append("")
    return Msg(sender, to, subject, body + [f"{sender.first} {sender.last}", sender.title], when)


def header(m: Msg, rng: random.Random, quoted: bool = False) -> list:
    """Outlook's header block; a Cc line may hold a redaction box (a redacted recipient)."""
    def who(p: Person) -> str:
        return f"{p.last}, {p.first} " + (f"[mailto:{p.email}]" if quoted else f"<{p.email}>")
    lines = [f"From: {who(m.sender)}", f"Sent: {outlook_sent(m.sent)}", f"To: {who(m.to)}"]
    roll = rng.random()
    if roll < 0.35:
        lines.append(["Cc: ", box(rng)] if roll < 0.2 else [f"Cc: {who(person(rng))}; ", box(rng)])
    elif roll < 0.6:
        lines.append(f"Cc: {who(person(rng))}")
    return lines + [f"Subject: {m.subject}", ""]


def corpus(n_pages: int, seed: int) -> tuple[list[list], list[Msg]]:
    """Page line lists and the messages printed on them, in print order."""
    rng = random.Random(seed)
    pages: list[list] = []
    msgs: list[Msg] = []
    while len(pages) < n_pages:
        p = len(pages) + 1
        kind = rng.choices(["single", "long", "reply"], weights=[5, 2, 3])[0]
        if kind == "long" and n_pages - len(pages) < 2:
            kind = "single"
        if kind == "reply":  # the reply and its quoted original on one page
            orig = message(rng, rng.randint(6, 11))
            reply = message(rng, rng.randint(5, 9), reply_to=orig)
            orig.depth, orig.pages, reply.pages = 1, (p, p), (p, p)
            lines = header(reply, rng) + reply.body + ["", "-----Original Message-----"] + \
                header(orig, rng, quoted=True) + orig.body
            pages.append(lines[:MAX_LINES])
            orig.body = orig.body[:len(orig.body) - max(0, len(lines) - MAX_LINES)]  # what fitted
            msgs += [reply, orig]
        else:
            m = message(rng, rng.randint(50, 62) if kind == "long" else rng.randint(8, 20))
            lines = header(m, rng) + m.body
            chunks = [lines[i:i + MAX_LINES] for i in range(0, len(lines), MAX_LINES)][:2]
            m.body = m.body[:sum(map(len, chunks)) - (len(lines) - len(m.body))]
            pages += chunks
            m.pages = (p, p + len(chunks) - 1)
            msgs.append(m)
    return pages, msgs


def known_text(lines: list) -> str:
    """What a reader should read of these lines, redactions left out (a box and a code printed beside it
    become the marker, which the OCR side drops too)."""
    return "\n".join(line if isinstance(line, str) else "".join(s for s in line if isinstance(s, str))
                     for line in lines)


# ---- scanning and reading ------------------------------------------------------------------------------

@dataclass
class Variant:
    dpi: int
    mode: str

    @property
    def name(self) -> str:
        return f"{self.dpi} dpi {'1-bit' if self.mode == '1' else 'grey'}"


def scan(pages: list[list], variant: Variant, seed: int, pdf: Path) -> list[sp.DrawnBox]:
    """Render and scan each page with its own skew; write the PDF; return the boxes where they landed
    (centre rotated by the page's skew about the page centre, as PIL's rotate does)."""
    rng = random.Random(f"{seed}-{variant.dpi}-{variant.mode}")
    images, drawn = [], []
    for number, lines in enumerate(pages, 1):
        skew = rng.uniform(-1.0, 1.0)
        page = sp.Page(lines, bates=f"BENCH-{number:06d}")
        imgs, boxes = sp.render([page], sp.Scan(variant.dpi, variant.mode, skew, SPECKLE, rng.randrange(2**31)),
                                CREATED, PRODUCER)
        w, h = imgs[0].size
        a = math.radians(skew)
        for b in boxes:
            dx, dy = (b.left + b.right) / 2 - w / 2, (b.top + b.bottom) / 2 - h / 2
            b.page = number
            b.extra = {"cx": w / 2 + dx * math.cos(a) + dy * math.sin(a),
                       "cy": h / 2 - dx * math.sin(a) + dy * math.cos(a), "skew": round(skew, 3), "page_w": w}
        images += imgs
        drawn += boxes
        if number % 10 == 0 or number == len(pages):
            print(f"  scanned {number}/{len(pages)} pages", flush=True)
    pdf.write_bytes(sp.scanned_pdf(images, CREATED, PRODUCER, f"bench {variant.name}"))
    return drawn


def page_images(pdf: Path, dpi: int) -> list:
    """The PDF's pages as the reader renders them (greyscale at the scan's dpi), for bare Tesseract."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(doc))]
    finally:
        doc.close()


def bare_tesseract(images: list, dpi: int, workers: int) -> float:
    """Seconds for Tesseract alone to read the pages, one process per page, `workers` at a time."""
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = ocr.engine().cmd
    done = 0

    def one(image):
        return pytesseract.image_to_string(image, lang=ocr.LANG, config=f"--psm 4 --dpi {dpi}")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(one, images):
            done += 1
            if done % 10 == 0:
                print(f"  bare: {done}/{len(images)} pages, {done / (time.perf_counter() - start):.2f} pages/s",
                      flush=True)
    return time.perf_counter() - start


def read(pdf: Path, label: str) -> tuple[float, list[dict]]:
    """Seconds for the reader to read the PDF, and its events (payloads parsed)."""
    rows = []
    start = time.perf_counter()
    with ocr.file_context({}, lambda s: print(s, flush=True), label):
        for batch in PrintedEmailPdfReader().batches(pdf, FileStats()):
            rows += batch.to_pylist()
    seconds = time.perf_counter() - start
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return seconds, rows


# ---- scoring -------------------------------------------------------------------------------------------

def levenshtein(a: str, b: str) -> int:
    """Edit distance, bit-parallel (Hyyrö 2001): one big-int step per character of b."""
    if not a or not b:
        return len(a) + len(b)
    full, top = (1 << len(a)) - 1, 1 << (len(a) - 1)
    peq: dict[str, int] = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | 1 << i
    pv, mv, score = full, 0, len(a)
    for c in b:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & full
        mh = pv & xh
        score += bool(ph & top) - bool(mh & top)
        ph = (ph << 1 | 1) & full
        mh = (mh << 1) & full
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv
    return score


def norm(text: str) -> str:
    return " ".join(MARKER_RE.sub(" ", text).split())


def word_errors(known: str, got: str) -> list[tuple[str, str]]:
    """(printed, read) word runs that differ, for the diagnosis."""
    a, b = known.split(), got.split()
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    return [(" ".join(a[i1:i2]), " ".join(b[j1:j2])) for op, i1, i2, j1, j2 in ops if op != "equal"]


def score(msgs: list[Msg], drawn: list[sp.DrawnBox], rows: list[dict]) -> dict:
    found = [r["payload"] for r in rows if r["event_type"] == "email_message"]
    pages = {r["payload"]["page"]: r["payload"] for r in rows if r["event_type"] == "page_ocr"}
    # messages: one-to-one by (first page, depth), the closest subject if several
    by_key = collections.defaultdict(list)
    for f in found:
        by_key[(f["pages"][0], f["depth"])].append(f)
    errors = distance = length = 0
    missed, details, used = [], [], set()
    wrong_words: dict[tuple[str, str], list[int]] = collections.defaultdict(list)  # -> first pages
    for m in msgs:
        cands = [f for f in by_key[(m.pages[0], m.depth)] if id(f) not in used]
        if not cands:
            missed.append({"pages": list(m.pages), "depth": m.depth, "subject": m.subject,
                           "page_text_head": pages.get(m.pages[0], {}).get("text", "")[:600]})
            continue
        f = min(cands, key=lambda f: levenshtein(m.subject, f["subject"] or ""))
        used.add(id(f))
        known, got = norm(known_text(m.body)), norm(f["body_text"])
        d = levenshtein(known, got)
        distance, length = distance + d, length + len(known)
        for pair in word_errors(known, got):
            wrong_words[pair].append(m.pages[0])
        sender = (f["from"] or [{}])[0].get("email")
        details.append({"pages": list(m.pages), "depth": m.depth, "cer": round(d / max(1, len(known)), 4),
                        "subject_ok": f["subject"] == m.subject, "sender_ok": sender == m.sender.email,
                        "pages_ok": f["pages"] == list(m.pages)})
        if not (details[-1]["subject_ok"] and details[-1]["sender_ok"] and details[-1]["pages_ok"]):
            errors += 1
            details[-1]["read"] = {"from_raw": f["from_raw"], "subject": f["subject"], "pages": f["pages"],
                                   "printed": {"from": m.sender.email, "subject": m.subject}}
    # boxes: nearest found box on the page within 2% of the page width of the drawn box's skewed centre
    got_boxes = [(p, b) for p, payload in pages.items() for b in payload["redactions"]]
    taken, boxes_found, codes_ok, missed_boxes, wrong_codes, offsets = set(), 0, 0, [], [], []
    for d in drawn:
        tol = 0.02 * d.extra["page_w"]
        near = [(math.dist((d.extra["cx"], d.extra["cy"]), ((b["left"] + b["right"]) / 2, (b["top"] + b["bottom"]) / 2)),
                 i)
                for i, (p, b) in enumerate(got_boxes) if p == d.page and i not in taken]
        dist, i = min(near, default=(math.inf, -1))
        if dist > tol:
            missed_boxes.append({"page": d.page, "style": d.style, "code": d.code, "skew": d.extra["skew"],
                                 "centre": [round(d.extra["cx"]), round(d.extra["cy"])]})
            continue
        taken.add(i)
        boxes_found += 1
        offsets.append(dist)
        got = got_boxes[i][1]
        if got["code"] == d.code:
            codes_ok += 1
        else:
            line = next((ln for ln in pages[d.page]["text"].split("\n") if got["marker"] in ln), "")
            wrong_codes.append({"page": d.page, "style": d.style, "printed": d.code, "read": got["code"],
                                "ocr_line": line})
    extra_boxes = [{"page": p, **{k: b[k] for k in ("left", "top", "right", "bottom", "style", "code")}}
                   for i, (p, b) in enumerate(got_boxes) if i not in taken]
    return {
        "cer": round(distance / max(1, length), 5), "chars": length,
        "messages_printed": len(msgs), "messages_found": len(msgs) - len(missed),
        "messages_extra": len(found) - len(used), "header_errors": errors,
        "boxes_drawn": len(drawn), "boxes_found": boxes_found, "codes_ok": codes_ok, "boxes_extra": len(extra_boxes),
        "box_offset_px_max": round(max(offsets, default=0), 1),
        "mean_confidence": round(sum(p["confidence"] or 0 for p in pages.values()) / max(1, len(pages)), 1),
        "diagnosis": {
            "word_errors": [{"printed": a, "read": b, "times": len(at), "pages": sorted(set(at))}
                            for (a, b), at in sorted(wrong_words.items(), key=lambda kv: -len(kv[1]))[:30]],
            "worst_messages": sorted(details, key=lambda x: -x["cer"])[:5],
            "header_mismatches": [x for x in details if "read" in x],
            "missed_messages": missed, "missed_boxes": missed_boxes, "wrong_codes": wrong_codes,
            "extra_boxes": extra_boxes[:10],
        },
    }


# ---- the run -------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=40, help="pages per variant (default 40)")
    ap.add_argument("--variants", default="200-1,300-1,200-L,300-L", help="comma list of <dpi>-<1|L>")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", default=None, help="results JSON (default bench/results/<date>-ocr-<pages>.json)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()
    if ocr.engine() is None:
        raise SystemExit(ocr.INSTALL_HINT)
    os.environ.pop("FOIL_OCR_WORKERS", None)      # the reader uses every core, as in a build
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # bare Tesseract as the reader runs it: one thread a process
    cores = ocr.workers()
    variants = [Variant(int(v.split("-")[0]), v.split("-")[1]) for v in args.variants.split(",")]
    pages, msgs = corpus(args.pages, args.seed)
    print(f"corpus: {len(pages)} pages, {len(msgs)} messages ({sum(m.depth for m in msgs)} quoted), "
          f"{cores} cores, tesseract {ocr.engine().version}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="foil-bench-ocr-") as tmp:
        for v in variants:
            print(f"{v.name}: scanning …", flush=True)
            pdf = Path(tmp) / f"scan-{v.dpi}-{v.mode}.pdf"
            drawn = scan(pages, v, args.seed, pdf)
            images = page_images(pdf, v.dpi)
            print(f"{v.name}: bare Tesseract, {cores} at a time …", flush=True)
            bare_s = bare_tesseract(images, v.dpi, cores)
            del images
            print(f"{v.name}: reader …", flush=True)
            reader_s, rows = read(pdf, v.name)
            r = {"variant": v.name, "dpi": v.dpi, "mode": v.mode, "pages": len(pages),
                 "reader_s": round(reader_s, 2), "bare_s": round(bare_s, 2),
                 "reader_pages_per_s": round(len(pages) / reader_s, 3),
                 "bare_pages_per_s": round(len(pages) / bare_s, 3),
                 **score(msgs, drawn, rows)}
            r["speed_ratio"] = round(r["reader_pages_per_s"] / r["bare_pages_per_s"], 3)
            print(f"  CER {r['cer']:.2%}, messages {r['messages_found']}/{r['messages_printed']}, boxes "
                  f"{r['boxes_found']}/{r['boxes_drawn']}, reader {r['reader_pages_per_s']:.2f} pages/s vs bare "
                  f"{r['bare_pages_per_s']:.2f} ({r['speed_ratio']:.2f}x)", flush=True)
            results.append(r)

    total_pages = sum(r["pages"] for r in results)
    reader_rate = total_pages / sum(r["reader_s"] for r in results)
    bare_rate = total_pages / sum(r["bare_s"] for r in results)
    targets = {
        "cer <= 2% (each variant)": all(r["cer"] <= TARGETS["cer"] for r in results),
        "every printed message found": all(r["messages_found"] == r["messages_printed"] for r in results),
        "every box found": all(r["boxes_found"] == r["boxes_drawn"] for r in results),
        "reader >= 0.8x bare pages/s (all variants)": reader_rate >= TARGETS["speed_ratio"] * bare_rate,
    }
    head = (f"{'variant':<15}{'CER':>7}{'messages':>10}{'extra':>6}{'boxes':>8}{'codes':>8}{'extra':>6}"
            f"{'reader p/s':>12}{'bare p/s':>10}{'ratio':>7}")
    print("\n" + head + "\n" + "-" * len(head))
    for r in results:
        print(f"{r['variant']:<15}{r['cer']:>7.2%}{r['messages_found']:>6}/{r['messages_printed']:<3}"
              f"{r['messages_extra']:>6}{r['boxes_found']:>5}/{r['boxes_drawn']:<2}{r['codes_ok']:>5}/{r['boxes_drawn']:<2}"
              f"{r['boxes_extra']:>6}"
              f"{r['reader_pages_per_s']:>12.2f}{r['bare_pages_per_s']:>10.2f}{r['speed_ratio']:>7.2f}")
    print(f"{'all variants':<15}{'':>45}{reader_rate:>12.2f}{bare_rate:>10.2f}{reader_rate / bare_rate:>7.2f}\n")
    for name, ok in targets.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    summary = {"pages_per_variant": args.pages, "seed": args.seed, "cores": cores,
               "tesseract": ocr.engine().version, "ocr_version": ocr.OCR_VERSION,
               "reader_pages_per_s": round(reader_rate, 3), "bare_pages_per_s": round(bare_rate, 3),
               "speed_ratio": round(reader_rate / bare_rate, 3), "targets": targets, "results": results}
    out = Path(args.out) if args.out else HERE / "results" / f"{dt.date.today()}-ocr-{args.pages}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(f"\nresults: {out}")
    return 1 if args.check and not all(targets.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
