#!/usr/bin/env python3
"""Deterministic generator of the SYNTHETIC "office formats" sample release in raw/.

Writes ``raw/nypd-clearview-2022-02-office/``: Outlook ``.msg`` files (one with an attached message),
a vendor usage report as ``.xlsx`` and as ``.jsonl`` (with one deliberately malformed line). Everything
is invented: pseudonyms and ``.example`` domains from ``generate_sample.py``; see raw/README.md.

Usage:
    python raw/_generator/gen_office_release.py [--out raw] [--check]

``--check`` regenerates into a temporary directory and exits 1 (naming the differing files) if the
release under --out differs from a fresh generation.

No wall clock: output depends on SEED only. The .xlsx is written with the standard library (zip
entries stored, not deflated, with a fixed timestamp) so its bytes do not depend on the zlib build; the
.msg files are written with ``extract_msg.OleWriter`` (a project dependency) with all OLE times zero.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import random
import struct
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate_sample as base  # noqa: E402  (people, domains, the roster and the search log)

GENERATOR_NAME = "raw/_generator/gen_office_release.py"
GENERATOR_VERSION = "1.0.0"
SEED = 20220214
RELEASE_ID = "nypd-clearview-2022-02-office"
RELEASED_ON = "2022-02-14"
REQUEST_ID = "FOIL-2020-056-07391"  # invented digits

# --------------------------------------------------------------------------------------
# .xlsx writer (stdlib): inline strings and numbers, stored zip entries, fixed timestamps
# --------------------------------------------------------------------------------------

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _col(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _sheet_xml(rows: list[list]) -> str:
    out = []
    for r, row in enumerate(rows, 1):
        cells = []
        for c, v in enumerate(row):
            ref = f"{_col(c)}{r}"
            if v is None:
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData>{"".join(out)}</sheetData></worksheet>')


def xlsx_bytes(sheets: list[tuple[str, list[list]]]) -> bytes:
    """A minimal, byte-deterministic workbook: [(sheet name, rows)], first row = header."""
    ns = "http://schemas.openxmlformats.org/"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Types xmlns="{ns}package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(1, len(sheets) + 1))
            + "</Types>"),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{ns}package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{ns}spreadsheetml/2006/main" xmlns:r="{ns}officeDocument/2006/relationships">'
            "<sheets>" + "".join(f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
                                  for i, (name, _) in enumerate(sheets, 1)) + "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{ns}package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{i}" Type="{ns}officeDocument/2006/relationships/worksheet" '
                      f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1))
            + "</Relationships>"),
    }
    for i, (_, rows) in enumerate(sheets, 1):
        parts[f"xl/worksheets/sheet{i}.xml"] = _sheet_xml(rows)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 0
            zf.writestr(info, text.encode("utf-8"))
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# .msg writer: MS-OXMSG properties in an OLE compound file (extract_msg.OleWriter)
# --------------------------------------------------------------------------------------

PT_LONG, PT_BOOLEAN, PT_SYSTIME, PT_UNICODE, PT_BINARY, PT_OBJECT = 0x0003, 0x000B, 0x0040, 0x001F, 0x0102, 0x000D


def _filetime(utc: dt.datetime) -> int:
    return int((utc - dt.datetime(1601, 1, 1)).total_seconds()) * 10_000_000


def _props(header: bytes, fixed: list[tuple[int, int, int]], streams: dict[int, bytes]) -> bytes:
    """__properties_version1.0: header, then 16-byte entries (fixed values inline, sizes for streams)."""
    out = [header]
    for pid, ptype, value in fixed:
        out.append(struct.pack("<IIQ", (pid << 16) | ptype, 6, value))
    for tag, data in streams.items():
        size = len(data) + (2 if tag & 0xFFFF == PT_UNICODE else 0)
        out.append(struct.pack("<IIII", tag, 6, size, 0))
    return b"".join(out)


def _add_object(ole, prefix: list[str], m: dict, embedded: bool) -> None:
    """Write message `m` (dict) under storage path `prefix` ([] = root)."""
    def stream(tag: int, data: bytes) -> None:
        ole.addEntry(prefix + [f"__substg1.0_{tag:08X}"], data)

    def text(value: str) -> bytes:
        return value.encode("utf-16-le")

    strings = {
        0x001A001F: text("IPM.Note"),
        0x0037001F: text(m["subject"]),
        0x1000001F: text(m["body"]),
        0x0C1A001F: text(m["from_name"]),
        0x0C1F001F: text(m["from_email"]),
        0x0C1E001F: text("SMTP"),
        0x0E04001F: text("; ".join(n for n, _, t in m["recipients"] if t == 1)),
        0x0E03001F: text("; ".join(n for n, _, t in m["recipients"] if t == 2)),
        0x1035001F: text(f"<{m['message_id']}>"),
    }
    if m.get("in_reply_to"):
        strings[0x1042001F] = text(f"<{m['in_reply_to']}>")
        strings[0x1039001F] = text(f"<{m['in_reply_to']}>")
    if m.get("headers"):
        strings[0x007D001F] = text(m["headers"])
    for tag, data in strings.items():
        stream(tag, data)
    when = _filetime(m["date"])
    fixed = [(0x0039, PT_SYSTIME, when), (0x0E06, PT_SYSTIME, when), (0x0E07, PT_LONG, 1),
             (0x340D, PT_LONG, 0x00040000)]
    atts = m.get("attachments", [])
    n_r, n_a = len(m["recipients"]), len(atts)
    head = struct.pack("<8xIIII", n_r, n_a, n_r, n_a) + (b"" if embedded else b"\0" * 8)
    ole.addEntry(prefix + ["__properties_version1.0"], _props(head, fixed, strings))
    for i, (name, email, rtype) in enumerate(m["recipients"]):
        rp = prefix + [f"__recip_version1.0_#{i:08X}"]
        ole.addEntry(rp, storage=True)
        rs = {0x3001001F: text(name), 0x3003001F: text(email), 0x3002001F: text("SMTP"), 0x39FE001F: text(email)}
        for tag, data in rs.items():
            ole.addEntry(rp + [f"__substg1.0_{tag:08X}"], data)
        ole.addEntry(rp + ["__properties_version1.0"],
                     _props(b"\0" * 8, [(0x0C15, PT_LONG, rtype), (0x3000, PT_LONG, i)], rs))
    for i, att in enumerate(atts):
        ap = prefix + [f"__attach_version1.0_#{i:08X}"]
        ole.addEntry(ap, storage=True)
        fixed_a = [(0x0E21, PT_LONG, i), (0x370B, PT_LONG, 0xFFFFFFFF)]
        if "message" in att:  # an attached (embedded) message
            fixed_a.append((0x3705, PT_LONG, 5))
            sa = {0x3001001F: text(att["message"]["subject"])}
            ole.addEntry(ap + ["__substg1.0_3701000D"], storage=True)
            _add_object(ole, ap + ["__substg1.0_3701000D"], att["message"], embedded=True)
        else:
            fixed_a.append((0x3705, PT_LONG, 1))
            sa = {0x3707001F: text(att["filename"]), 0x3704001F: text(att["filename"][:12]),
                  0x370E001F: text(att["media_type"]), 0x37010102: att["data"]}
        for tag, data in sa.items():
            ole.addEntry(ap + [f"__substg1.0_{tag:08X}"], data)
        ole.addEntry(ap + ["__properties_version1.0"], _props(b"\0" * 8, fixed_a, sa))


def msg_bytes(m: dict) -> bytes:
    """An Outlook .msg for message dict `m`: subject, body, from_name, from_email, recipients
    [(name, email, 1=To/2=Cc/3=Bcc)], date (naive UTC), message_id, optional in_reply_to, headers
    (transport headers text) and attachments [{filename, media_type, data} | {message: dict}]."""
    from extract_msg import OleWriter  # a project dependency; imported here so xlsx_bytes needs nothing

    ole = OleWriter()
    ole.addEntry(["__nameid_version1.0"], storage=True)
    for tag in ("00020102", "00030102", "00040102"):
        ole.addEntry(["__nameid_version1.0", f"__substg1.0_{tag}"], b"")
    _add_object(ole, [], m, embedded=False)
    buf = io.BytesIO()
    ole.write(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# The release
# --------------------------------------------------------------------------------------

SYNTH = base.SYNTH_LINE
USAGE_COLUMNS = ["account_ref", "user_email", "period_start", "period_end", "searches", "source"]
MONTHS_2019_2020 = [(2019, m) for m in range(1, 13)] + [(2020, 1), (2020, 2)]


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _vendor_figure(rng: random.Random, logged: int) -> int:
    """A vendor total that deliberately differs from the logged count (kept side by side, never merged)."""
    figure = logged + round(logged * rng.choice([0.08, 0.12, 0.15, -0.05])) + rng.choice([-2, -1, 1, 2, 3])
    figure = max(figure, 0)
    return figure + 1 if figure == logged else figure


def usage_rows(rng: random.Random) -> tuple[list[dict], dict]:
    """Monthly vendor totals for the five heaviest roster accounts, and the logged counts they contradict."""
    # build_search_log consumes the same rng stream as generate_sample.generate(): replay it exactly.
    replay = random.Random(base.SEED)
    accts = base.build_accounts(replay)
    log = base.build_search_log(replay, accts)
    per_account: dict[str, int] = {}
    monthly: dict[tuple[str, int, int], int] = {}
    for r in log:
        ref = r["account"]["ref"]
        per_account[ref] = per_account.get(ref, 0) + 1
        key = (ref, r["utc"].year, r["utc"].month)
        monthly[key] = monthly.get(key, 0) + 1
    top = sorted(per_account, key=lambda ref: (-per_account[ref], ref))[:5]
    by_ref = {a["ref"]: a for a in accts}
    rows, logged = [], {}
    for ref in sorted(top):
        for year, month in MONTHS_2019_2020:
            count = monthly.get((ref, year, month), 0)
            if count == 0 and (year, month) < (by_ref[ref]["created_utc"].year, by_ref[ref]["created_utc"].month):
                continue
            logged[(ref, year, month)] = count
            rows.append({"account_ref": ref, "user_email": by_ref[ref]["email"],
                         "period_start": f"{year}-{month:02d}-01", "period_end": _month_end(year, month).isoformat(),
                         "searches": _vendor_figure(rng, count), "source": "vendor usage report (synthetic)"})
    return rows, logged


def usage_xlsx(rows: list[dict]) -> bytes:
    about = [[SYNTH], ["Vendor usage report: monthly searches per account, as stated by the vendor."],
             ["Figures are invented and deliberately differ from the search log of release "
              "nypd-clearview-2021-06-supplemental; both are kept."]]
    sheets = [("About", about)]
    for year in (2019, 2020):
        body = [[r[c] for c in USAGE_COLUMNS] for r in rows if r["period_start"].startswith(str(year))]
        sheets.append((f"Usage {year}", [USAGE_COLUMNS] + body))
    return xlsx_bytes(sheets)


def usage_jsonl(rng: random.Random, rows: list[dict]) -> bytes:
    """A vendor-portal export of the last five months, figures again slightly different, one bad line."""
    lines = []
    recent = [r for r in rows if r["period_start"] >= "2019-10-01"]
    for i, r in enumerate(recent):
        total = max(r["searches"] + rng.choice([-1, 1, 2]), 0)
        web = rng.randint(0, total)
        obj = {**r, "searches": total, "source": "vendor portal export (synthetic)",
               "by_client": {"web": web, "ios": total - web}}
        lines.append(json.dumps(obj, ensure_ascii=False, sort_keys=False))
        if i == 6:  # a line cut off mid-object, as in a truncated export
            lines.append(json.dumps({**r, "source": "vendor portal export (synthetic)"})[:57])
    return ("\n".join(lines) + "\n").encode("utf-8")


def _msg_id(rng: random.Random, domain: str) -> str:
    return f"{rng.getrandbits(48):012x}.{rng.getrandbits(32):08x}@{domain}"


def _transport_headers(m: dict) -> str:
    def fmt(rtype: int) -> str:
        return ", ".join(n if n.startswith("[REDACTED") else f"{n} <{e}>" for n, e, t in m["recipients"] if t == rtype)
    lines = [f"From: {m['from_name']} <{m['from_email']}>", f"To: {fmt(1)}"]
    if fmt(2):
        lines.append(f"Cc: {fmt(2)}")
    lines += [f"Subject: {m['subject']}", f"Date: {base.rfc5322_date(m['date'], 'ny')}",
              f"Message-ID: <{m['message_id']}>"]
    if m.get("in_reply_to"):
        lines += [f"In-Reply-To: <{m['in_reply_to']}>", f"References: <{m['in_reply_to']}>"]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "X-Synthetic-Sample: true"]
    return "\r\n".join(lines) + "\r\n\r\n"


def messages(rng: random.Random, rows: list[dict]) -> dict[str, dict]:
    P = base.P
    person = lambda key, rtype: (P[key]["name"], P[key]["email"], rtype)  # noqa: E731
    jan = [r for r in rows if r["period_start"] == "2020-01-01"]
    summary = "account_ref,searches\n" + "".join(f"{r['account_ref']},{r['searches']}\n" for r in jan)
    report = dict(
        subject="Monthly usage report - January 2020", from_name="Clearview Support",
        from_email=P["support"]["email"], recipients=[person("vayle", 1), person("kaczmar", 2)],
        date=dt.datetime(2020, 2, 3, 14, 5, 0), message_id=_msg_id(rng, "clearview.example"),
        body=f"{SYNTH}\r\n\r\nHello,\r\n\r\nAttached are last month's search totals for your department's "
             "most active accounts.\r\n\r\nClearview Support\r\n",
        attachments=[dict(filename="usage_january_2020.csv", media_type="text/csv",
                          data=(f"# {SYNTH}\n" + summary).encode())])
    report["headers"] = _transport_headers(report)
    forward = dict(
        subject="FW: Monthly usage report - January 2020", from_name=P["vayle"]["name"],
        from_email=P["vayle"]["email"], recipients=[person("whitcombe", 1)],
        date=dt.datetime(2020, 2, 4, 15, 40, 0), message_id=_msg_id(rng, "nypd.example"),
        body=f"{SYNTH}\r\n\r\nCounsel - the vendor's monthly report is attached as sent. Their totals are not "
             "the same as our own log.\r\n\r\n" + base.sig("vayle", redact_phone=False).replace("\n", "\r\n") + "\r\n",
        attachments=[dict(message=report)])  # sent item: no transport headers
    reply = dict(
        subject="RE: FW: Monthly usage report - January 2020", from_name=P["whitcombe"]["name"],
        from_email=P["whitcombe"]["email"],
        recipients=[person("vayle", 1), ("[REDACTED 87(2)(b)]", "", 2)],
        date=dt.datetime(2020, 2, 4, 19, 12, 0), message_id=_msg_id(rng, "nypd.example"),
        in_reply_to=forward["message_id"],
        body=f"{SYNTH}\r\n\r\nKeep both sets of figures; do not correct either. [REDACTED 87(2)(g)]\r\n",
    )
    reply["headers"] = _transport_headers(reply)
    itt = [r for r in rows if r["period_start"] == "2019-12-01"]
    figures = "".join(f"  {r['account_ref']}: {r['searches']}\r\n" for r in itt)
    team = dict(
        subject="Search totals for December 2019", from_name=P["castellan"]["name"],
        from_email=P["castellan"]["email"], recipients=[person("pryle", 1), person("castellan", 3)],
        date=dt.datetime(2020, 1, 8, 16, 20, 0), message_id=_msg_id(rng, "clearview.example"),
        body=f"{SYNTH}\r\n\r\nHi,\r\n\r\nDecember totals by account, from our usage dashboard:\r\n"
             f"{figures}\r\nPriya\r\n")  # the vendor's sent copy: no transport headers, a Bcc
    return {"emails/NYPD-CV-OFF-0001.msg": report, "emails/NYPD-CV-OFF-0002.msg": forward,
            "emails/NYPD-CV-OFF-0003.msg": reply, "emails/NYPD-CV-OFF-0004.msg": team}


NOTES = """\
SYNTHETIC SAMPLE generated by raw/_generator/gen_office_release.py (see raw/README.md). Every person is a
pseudonym from generate_sample.py; addresses use reserved .example domains. The request number
FOIL-2020-056-07391 has invented digits. All figures are invented (provenance synthetic_modeled).
Release content: four Outlook .msg emails under emails/ (NYPD-CV-OFF-0002 carries NYPD-CV-OFF-0001 as an
attached message), records/usage_report.xlsx (an About sheet and monthly totals per account in sheets
"Usage 2019" and "Usage 2020") and records/usage_report.jsonl (a vendor-portal export of the last five
months, one line deliberately truncated). The vendor's monthly totals deliberately differ from the
search log of nypd-clearview-2021-06-supplemental, and the two vendor files differ from each other:
conflicting figures are kept side by side, never reconciled. No wording here is quoted from a source.
"""


def manifest() -> bytes:
    return base.release_yaml(RELEASE_ID, REQUEST_ID, RELEASED_ON, 'Office-format production: Outlook messages and vendor usage reports (synthetic)', [], NOTES,
                           GENERATOR_NAME, GENERATOR_VERSION, SEED)


def build() -> dict[str, bytes]:
    rng = random.Random(SEED)
    rows, _logged = usage_rows(rng)
    files = {"release.yaml": manifest(),
             "records/usage_report.xlsx": usage_xlsx(rows),
             "records/usage_report.jsonl": usage_jsonl(rng, rows)}
    for name, m in messages(rng, rows).items():
        files[name] = msg_bytes(m)
    return files


def generate(out: Path) -> None:
    base.write_release_files(out / RELEASE_ID, build())


def main(argv=None) -> int:
    return base.run_cli(argv, __doc__, generate, [RELEASE_ID], "office release")


if __name__ == "__main__":
    sys.exit(main())
