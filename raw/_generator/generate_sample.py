#!/usr/bin/env python3
"""Deterministic generator of the SYNTHETIC sample FOIL releases in raw/.

Every person, address, number, password and message here is invented (pseudonyms,
RFC 2606 ``.example`` domains, 555-01xx phone numbers, documentation IP ranges).
The story is modelled on the public reporting summarised in
shared reference ``foil-facts.md``; see raw/README.md.

Usage:
    python raw/_generator/generate_sample.py [--out raw] [--check]

``--check`` regenerates into a temporary directory and exits 1 (naming the
differing files) if the files under --out differ from a fresh generation.

Stdlib only. No wall clock, no environment input: output depends on SEED only.
"""
from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import filecmp
import io
import json
import math
import random
import re
import shutil
import sys
import tempfile
from pathlib import Path

GENERATOR_NAME = "raw/_generator/generate_sample.py"
GENERATOR_VERSION = "1.0.0"
SEED = 20210405

REL_INITIAL = "nypd-clearview-2021-04-initial"
REL_SUPP = "nypd-clearview-2021-06-supplemental"
REL_RERELEASE = "nypd-clearview-2021-09-rerelease"
RELEASES = [REL_INITIAL, REL_SUPP, REL_RERELEASE]
REQUEST_ID = "FOIL-2020-056-04817"  # invented digits
REQUESTER = "Avery Quill (pseudonym; legal-aid requester)"

TRIAL_END_UTC = dt.datetime(2019, 4, 1, 4, 0)  # end of 2019-03-31 in New York
LOG_END_UTC = dt.datetime(2020, 2, 29, 23, 59, 59)  # last allowed search instant
STATEMENT_DATE = dt.date(2020, 1, 20)  # sample's "no institutional relationship" email

SYNTH_LINE = "SYNTHETIC SAMPLE - invented correspondence for software testing; not a real record."

# --------------------------------------------------------------------------------------
# Time helpers (US Eastern DST rules since 2007, computed without tz database)
# --------------------------------------------------------------------------------------


def _nth_sunday(year: int, month: int, n: int) -> dt.date:
    d = dt.date(year, month, 1)
    d += dt.timedelta(days=(6 - d.weekday()) % 7)
    return d + dt.timedelta(weeks=n - 1)


def ny_offset_hours(local: dt.datetime) -> int:
    start = dt.datetime.combine(_nth_sunday(local.year, 3, 2), dt.time(2))
    end = dt.datetime.combine(_nth_sunday(local.year, 11, 1), dt.time(2))
    return -4 if start <= local < end else -5


def ny_to_utc(local: dt.datetime) -> dt.datetime:
    return local - dt.timedelta(hours=ny_offset_hours(local))


def utc_to_ny(utc: dt.datetime) -> dt.datetime:
    std = utc - dt.timedelta(hours=5)  # local standard time
    start = dt.datetime.combine(_nth_sunday(std.year, 3, 2), dt.time(2))
    end = dt.datetime.combine(_nth_sunday(std.year, 11, 1), dt.time(1))  # 02:00 EDT = 01:00 EST
    return std + dt.timedelta(hours=1) if start <= std < end else std


DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def rfc5322_date(utc: dt.datetime, zone: str) -> str:
    if zone == "utc":
        t, off = utc, 0
    else:
        t = utc_to_ny(utc)
        off = round((t - utc).total_seconds() / 3600)
    sign = "-" if off < 0 else "+"
    return (f"{DAYS[t.weekday()]}, {t.day:02d} {MONTHS[t.month - 1]} {t.year} "
            f"{t:%H:%M:%S} {sign}{abs(off):02d}00")


def outlook_date(utc: dt.datetime) -> str:
    t = utc_to_ny(utc)
    hour = t.hour % 12 or 12
    ampm = "AM" if t.hour < 12 else "PM"
    return f"{DAYS[t.weekday()]}, {MONTHS[t.month - 1]} {t.day}, {t.year} {hour}:{t.minute:02d} {ampm}"


def asctime(utc: dt.datetime) -> str:
    return f"{DAYS[utc.weekday()]} {MONTHS[utc.month - 1]} {utc.day:2d} {utc:%H:%M:%S} {utc.year}"


def iso_z(utc: dt.datetime) -> str:
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_local(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, "%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------------------
# People (all pseudonyms)
# --------------------------------------------------------------------------------------

FIS = "FIS"
ITT = "Identity Theft Team"
IAB = "IAB"
INTEL = "Intelligence Bureau/Counterterrorism"
JTTF = "JTTF-assigned"
PDS = "Precinct Detective Squad"
DB = "Detective Bureau"
DCPI = "DCPI"
LEGAL = "Legal Bureau"

UNIT_LONG = {
    FIS: "Facial Identification Section",
    ITT: "Identity Theft Team",
    IAB: "Internal Affairs Bureau",
    INTEL: "Intelligence Bureau / Counterterrorism",
    JTTF: "Intelligence Bureau (assigned to Joint Terrorism Task Force)",
    PDS: "Precinct Detective Squad",
    DB: "Detective Bureau",
    DCPI: "Office of the Deputy Commissioner, Public Information",
    LEGAL: "Legal Bureau",
}

# key: (display name, rank/title, unit, personal email or None)
NYPD_STAFF = [
    ("vayle", "Hector Vayle", "Lieutenant", FIS, None),
    ("solberg", "Renata Solberg", "Detective", FIS, None),
    ("kaczmar", "Owen Kaczmar", "Sergeant", FIS, None),
    ("brannock", "Lila Brannock", "Detective", FIS, None),
    ("quist", "Mara Quist", "Detective", FIS, None),
    ("rennard", "Tobias Rennard", "Police Officer", FIS, None),
    ("fallowmere", "Curtis Fallowmere", "Detective", ITT, None),
    ("pryle", "Joanna Pryle", "Sergeant", ITT, None),
    ("tamberlane", "Ravi Tamberlane", "Detective", ITT, None),
    ("ashgrove", "Noel Ashgrove", "Detective", ITT, "noel.ashgrove.nyc@gmail.example"),
    ("durrand", "Keisha Durrand", "Police Officer", ITT, None),
    ("corrigan", "Ansel Corrigan", "Detective", ITT, None),
    ("okaforlund", "Bettina Okafor-Lund", "Detective", ITT, "b.okaforlund@yahoo.example"),
    ("velasquezorr", "Samir Velasquez-Orr", "Police Officer", ITT, None),
    ("threlkeld", "Amos Threlkeld", "Deputy Commissioner", IAB, None),
    ("marwick", "Sonia Marwick", "Detective", IAB, None),
    ("ostrowe", "Graham Ostrowe", "Lieutenant", IAB, None),
    ("venn", "Paula Venn", "Sergeant", IAB, None),
    ("fairbrook", "Leonard Fairbrook", "Deputy Commissioner", INTEL, None),
    ("callowayhind", "Ruth Calloway-Hind", "Inspector", INTEL, None),
    ("dorrance", "Felix Dorrance", "Detective", INTEL, None),
    ("strode", "Imani Strode", "Detective", INTEL, None),
    ("halloran", "Victor Halloran", "Sergeant", INTEL, None),
    ("edevane", "Morgan Edevane", "Deputy Inspector", JTTF, None),
    ("wynant", "Carla Wynant", "Detective", JTTF, None),
    ("pasko", "Dmitri Pasko", "Sergeant", JTTF, None),
    ("arvelostamm", "Luis Arvelo-Stamm", "Detective", PDS, None),
    ("holmquist", "Greta Holmquist", "Detective", PDS, None),
    ("bexley", "Jamal Bexley", "Police Officer", PDS, "jbexley.nyc@gmail.example"),
    ("ferrantelyle", "Rosa Ferrante-Lyle", "Detective", PDS, None),
    ("mabry", "Colin Mabry", "Detective", PDS, None),
    ("thorsby", "Anika Thorsby", "Sergeant", PDS, None),
    ("oyelaran", "Patrick Oyelaran", "Detective", PDS, None),
    ("kessling", "Nadia Kessling", "Police Officer", PDS, None),
    ("brightwater", "Hugo Brightwater", "Detective", PDS, None),
    ("halvorsen", "Warren Halvorsen", "Deputy Inspector", DB, None),
    ("vantongeren", "Eleanor Vantongeren", "Assistant Chief", DB, None),
    ("coyleames", "Brendan Coyle-Ames", "Sergeant", DCPI, None),
    ("whitcombe", "Agnes Whitcombe", "Agency Attorney", LEGAL, None),
    ("galloway", "Trent Galloway", "Police Officer", PDS, None),
]

# Signature affiliations (documented pattern, invented details: synthetic_modeled)
DUAL_AFFILIATION = {
    "tamberlane": ["Task Force Officer, HSI", "Homeland Security Investigations - New York"],
    "arvelostamm": ["Task Force Officer", "Homeland Security Investigations (HSI) - New York"],
}
HSI_TASK_FORCE_MEMBER = "corrigan"


def _build_people() -> dict:
    people = {}
    phone = 101
    for key, name, rank, unit, personal in NYPD_STAFF:
        first, last = name.split(" ", 1)
        people[key] = dict(key=key, name=name, rank=rank, unit=unit, org="NYPD",
                           email=f"{first.lower()}.{last.lower()}@nypd.example",
                           personal=personal, phone=f"212-555-0{phone:03d}"[:12])
        phone += 1
    others = [
        ("varga", "Hollis Varga", "Founder & CEO", "Clearview AI", "hollis@clearview.example", "646-555-0150"),
        ("castellan", "Priya Castellan", "Customer Success", "Clearview AI", "priya@clearview.example", "646-555-0151"),
        ("okonkwobarr", "Dev Okonkwo-Barr", "Sales", "Clearview AI", "dev@clearview.example", "646-555-0152"),
        ("lindqvist", "Tess Lindqvist", "Communications", "Clearview AI", "tess@clearview.example", "646-555-0153"),
        ("support", "Clearview Support", "", "Clearview AI", "support@clearview.example", ""),
        ("pellham", "Gordon Pellham", "Vice President, Operations", "RealEstate Example LLC",
         "gordon.pellham@realestate.example", "212-555-0190"),
        ("kolowski", "Brett Kolowski", "Special Agent", "ICE/HSI", "brett.kolowski@ice.example", "646-555-0171"),
        ("ventrano", "Marisol Ventrano", "Special Agent", "ICE/HSI", "marisol.ventrano@ice.example", "646-555-0172"),
        ("ashbyruiz", "Dwayne Ashby-Ruiz", "Special Agent", "ICE/HSI", "dwayne.ashby-ruiz@ice.example", "646-555-0173"),
        ("dunmore", "Keith Dunmore", "Special Agent, JTTF", "FBI", "keith.dunmore@fbi.example", "212-555-0180"),
        ("test01", "FIS Test Account 01", "", FIS, "fis.test01@nypd.example", ""),
        ("test02", "FIS Test Account 02", "", FIS, "fis.test02@nypd.example", ""),
    ]
    for key, name, title, org, email, ph in others:
        people[key] = dict(key=key, name=name, rank=title, unit=org if key.startswith("test") else None,
                           org="NYPD" if key.startswith("test") else org, email=email, personal=None, phone=ph)
    return people


P = _build_people()


def addr(spec: str) -> str:
    """'key' -> work address, 'key/alt' -> personal address."""
    key, _, alt = spec.partition("/")
    return P[key]["personal"] if alt else P[key]["email"]


def name_of(spec: str) -> str:
    return P[spec.partition("/")[0]]["name"]


def R(code: str, text: str, mode: str = "") -> str:
    """Redaction marker. b is lifted in the re-release unless mode '!';
    other codes stay unless mode '^'."""
    return "{{" + code + mode + "|" + text + "}}"


def sig(key: str, redact_name: bool = False, redact_phone: bool = True, alt: bool = False) -> str:
    p = P[key]
    name = R("b", p["name"]) if redact_name else p["name"]
    if p["org"] == "NYPD":
        lines = [name, f"{p['rank']}, {UNIT_LONG[p['unit']]}", "New York City Police Department"]
        if key in DUAL_AFFILIATION:
            lines += DUAL_AFFILIATION[key]
        if alt:
            lines.append("Sent from my personal phone")
        elif p["phone"]:
            ph = f"Tel: {p['phone']}"
            lines.append(R("b", ph) if redact_phone else ph)
    elif p["org"] == "Clearview AI":
        lines = [p["name"]] if key == "support" else [p["name"], f"{p['rank']}, Clearview AI", p["email"]]
    else:
        lines = [p["name"], p["rank"], p["org"], f"Tel: {p['phone']}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Accounts (roster ground truth)
# --------------------------------------------------------------------------------------
# (person spec, created (NY local 'YYYY-MM-DD HH:MM') or random window, tier, device, role)
# tiers: heavy / medium / light / zero ; windows for random creation times
W_TRIAL = ("2018-12-03", "2019-03-29")
W_DEC = ("2018-12-03", "2018-12-28")
W_JAN = ("2019-01-02", "2019-01-31")
W_FEB = ("2019-02-01", "2019-02-28")
W_MAR = ("2019-03-01", "2019-03-29")

ACCOUNT_SPECS = [
    ("vayle", "2018-12-04 10:12", "medium", "department", "administrator"),
    ("solberg", "2018-12-04 10:31", "heavy", "department", "user"),
    ("kaczmar", "2018-12-05 09:47", "heavy", "department", "user"),
    ("halvorsen", W_DEC, "light", "department", "user"),
    ("quist", W_DEC, "light", "department", "user"),
    ("rennard", "2018-12-12 16:05", "light", "department", "user"),
    ("fallowmere", "2018-12-13 11:20", "heavy", "department", "user"),
    ("pryle", "2018-12-13 11:26", "medium", "department", "user"),
    ("durrand", "2018-12-17 18:42", "light", "department", "user"),
    ("tamberlane", "2018-12-18 09:03", "heavy", "department", "user"),
    ("ashgrove/alt", "2019-01-05 21:14", "medium", "personal", "user"),
    ("brannock", "2019-01-08 14:40", "medium", "department", "user"),
    ("edevane", "2019-01-10 08:55", "medium", "department", "user"),
    ("arvelostamm", W_JAN, "heavy", "department", "user"),
    ("dorrance", W_JAN, "light", "department", "user"),
    ("strode", "2019-01-16 12:18", "heavy", "personal", "user"),
    ("fairbrook", "2019-01-23 15:33", "light", "department", "user"),
    ("okaforlund/alt", "2019-01-23 19:02", "medium", "personal", "user"),
    ("bexley/alt", "2019-01-30 22:47", "medium", "personal", "user"),
    ("velasquezorr", "2019-02-04 10:09", "light", "department", "user"),
    ("holmquist", "2019-02-06 13:25", "medium", "personal", "user"),
    ("marwick", W_FEB, "light", "department", "user"),
    ("callowayhind", W_FEB, "light", "department", "user"),
    ("corrigan", "2019-02-15 09:38", "light", "department", "user"),
    ("ostrowe", W_FEB, "light", "department", "user"),
    ("kessling", "2019-02-26 20:11", "zero", "personal", "user"),
    ("wynant", W_MAR, "light", "department", "user"),
    ("ferrantelyle", W_MAR, "light", "department", "user"),
    ("mabry", "2019-05-14 10:52", "medium", "department", "user"),
    ("venn", ("2019-06-03", "2019-06-28"), "light", "department", "user"),
    ("halloran", ("2019-08-05", "2019-08-30"), "medium", "department", "user"),
    ("oyelaran", "2019-09-10 16:20", "light", "department", "user"),
    ("pasko", ("2019-10-07", "2019-10-31"), "light", "personal", "user"),
    ("thorsby", ("2019-12-02", "2019-12-20"), "light", "department", "user"),
    ("test01", "2020-02-06 11:02", "light", "department", "user"),
    ("test02", "2020-02-06 11:09", "light", "department", "user"),
    ("brightwater", ("2020-02-10", "2020-02-21"), "light", "unknown", "user"),
]

TOTAL_SEARCHES = 5100


def _rand_local(rng: random.Random, window) -> dt.datetime:
    a = dt.date.fromisoformat(window[0])
    b = dt.date.fromisoformat(window[1])
    while True:
        d = a + dt.timedelta(days=rng.randrange((b - a).days + 1))
        if d.weekday() < 5:
            break
    return dt.datetime.combine(d, dt.time(rng.randrange(8, 19), rng.randrange(60)))


def build_accounts(rng: random.Random) -> list[dict]:
    accts = []
    for spec, created, tier, device, role in ACCOUNT_SPECS:
        key = spec.partition("/")[0]
        local = parse_local(created) if isinstance(created, str) else _rand_local(rng, created)
        local = local.replace(second=rng.randrange(60))
        accts.append(dict(spec=spec, key=key, name=P[key]["name"], unit=P[key]["unit"],
                          email=addr(spec), created_utc=ny_to_utc(local), tier=tier,
                          device=device, role=role))
    accts.sort(key=lambda a: (a["created_utc"], a["email"]))
    for i, a in enumerate(accts, 1):
        a["ref"] = f"cv-nypd-{i:04d}"
    return accts


def build_search_log(rng: random.Random, accts: list[dict]) -> list[dict]:
    # --- heavy-tailed per-account counts, summing to TOTAL_SEARCHES
    counts = {}
    for a in accts:
        if a["tier"] == "zero":
            counts[a["ref"]] = 0
        elif a["tier"] == "light":
            counts[a["ref"]] = rng.randint(1, 19)
        elif a["tier"] == "medium":
            counts[a["ref"]] = rng.randint(45, 240)
    heavy = [a for a in accts if a["tier"] == "heavy"]
    weights = [rng.uniform(0.5, 2.0) for _ in heavy]
    remaining = TOTAL_SEARCHES - sum(counts.values())
    alloc = [int(remaining * w / sum(weights)) for w in weights]
    alloc[0] += remaining - sum(alloc)
    for a, n in zip(heavy, alloc):
        counts[a["ref"]] = n

    trial_end_date = dt.date(2019, 3, 31)
    last_day = dt.date(2020, 2, 29)
    rows = []
    for a in accts:
        n = counts[a["ref"]]
        if n == 0:
            continue
        personal = a["device"] == "personal"
        if personal:
            ips = [f"198.51.100.{rng.randrange(2, 254)}", f"203.0.113.{rng.randrange(2, 254)}"]
            clients, cw = ["ios", "android", "web"], [0.6, 0.35, 0.05]
        else:
            ips = [f"192.0.2.{rng.randrange(2, 254)}", f"192.0.2.{rng.randrange(2, 254)}",
                   f"203.0.113.{rng.randrange(2, 254)}"]
            clients, cw = ["web", "ios", "android"], [0.65, 0.25, 0.10]
        start_local = utc_to_ny(a["created_utc"]).date()
        days = [start_local + dt.timedelta(days=i) for i in range((last_day - start_local).days + 1)]
        dw = []
        for d in days:
            if d <= trial_end_date:
                w = 1.0
            else:
                w = 0.30 * math.exp(-(d - trial_end_date).days / 240.0) + 0.06
            if d.weekday() >= 5:
                w *= 0.55
            dw.append(w)
        for _ in range(n):
            while True:
                d = rng.choices(days, weights=dw)[0]
                if rng.random() < 0.82:
                    hour = rng.randrange(8, 20)
                else:
                    hour = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 20, 21, 22, 23])
                local = dt.datetime.combine(d, dt.time(hour, rng.randrange(60), rng.randrange(60)))
                utc = ny_to_utc(local)
                if a["created_utc"] < utc <= LOG_END_UTC:
                    break
            rows.append(dict(account=a, utc=utc, client=rng.choices(clients, weights=cw)[0],
                             ip=rng.choice(ips), results=rng.random() < 0.78,
                             offset_form=rng.random() < 0.25))
    rows.sort(key=lambda r: (r["utc"], r["account"]["ref"]))
    for i, r in enumerate(rows, 1):
        r["ref"] = f"cvs-{i:06d}"
    return rows


def searched_at_text(r: dict) -> str:
    if not r["offset_form"]:
        return iso_z(r["utc"])
    local = utc_to_ny(r["utc"])
    off = round((local - r["utc"]).total_seconds() / 3600)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"-{abs(off):02d}:00"


# --------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------

MARK_RE = re.compile(r"\{\{(b|e\(iv\)|f|g|i)([!^]?)\|(.*?)\}\}", re.S)
TOKEN_RE = re.compile(r"\[REDACTED (?:§|POL )?87 ?\(2\)\((b|e|f|g|i)\)(\(iv\))?\]")
CODE_TEXT = {"b": "87(2)(b)", "e(iv)": "87(2)(e)(iv)", "f": "87(2)(f)", "g": "87(2)(g)", "i": "87(2)(i)"}
HEADER_TOKEN = "[REDACTED 87(2)(b)]"


def token(code: str, rng: random.Random) -> str:
    x = rng.random()
    c = CODE_TEXT[code]
    if x < 0.82:
        return f"[REDACTED {c}]"
    if x < 0.88:
        return f"[REDACTED §{c}]"
    if x < 0.94:
        return f"[REDACTED POL {c}]"
    return f"[REDACTED {c.replace('87(2)', '87 (2)')}]"


def apply_marks(text: str, level: str, salt: str) -> str:
    rng = random.Random(f"{SEED}:{salt}")

    def sub(m):
        code, mode, inner = m.group(1), m.group(2), m.group(3)
        tok = token(code, rng)  # drawn for every marker: same form in every release
        lifted = level == "rerelease" and ((code == "b" and mode != "!") or mode == "^")
        return inner if lifted else tok

    return MARK_RE.sub(sub, text)


class Msg:
    def __init__(self, key, when, frm, to, subject, body, cc=(), parent=None, zone="ny",
                 attachments=(), html=None, quote=False, from_redacted=False, tags=None):
        self.key = key
        if isinstance(when, str):  # NY local time; seconds drawn from a per-message seed
            sec = random.Random(f"{SEED}:sec:{key}").randrange(60)
            self.utc = ny_to_utc(parse_local(when)) + dt.timedelta(seconds=sec)
        else:
            self.utc = when
        self.frm, self.to, self.cc = frm, list(to), list(cc)
        self.subject, self.body = subject, body
        self.parent, self.zone = parent, zone
        self.attachments, self.html, self.quote = list(attachments), html, quote
        self.from_redacted = from_redacted
        self.tags = tags or {}
        self.msgid = None
        self.file = None
        self.release = None

    # recipients: 'spec' visible, ('spec', 'L') redacted-then-lifted, ('spec', 'K') always redacted
    def _addr_list(self, items, level):
        out = []
        for it in items:
            spec, mode = (it, "") if isinstance(it, str) else it
            hidden = mode == "K" or (mode == "L" and level != "rerelease")
            out.append(HEADER_TOKEN if hidden else f"{name_of(spec)} <{addr(spec)}>")
        return ", ".join(out)

    def from_header(self, level):
        if self.from_redacted:
            return HEADER_TOKEN
        return f"{name_of(self.frm)} <{addr(self.frm)}>"

    def references(self):
        chain, p = [], self.parent
        while p is not None:
            chain.insert(0, p.msgid)
            p = p.parent
        return chain

    def body_text(self, level):
        text = apply_marks(self.body, level, self.key)
        if self.quote and self.parent is not None:
            p = self.parent
            text += ("\n\n-----Original Message-----\n"
                     f"From: {p.from_header(level)}\n"
                     f"Sent: {outlook_date(p.utc)}\n"
                     f"To: {p._addr_list(p.to, level)}\n"
                     + (f"Cc: {p._addr_list(p.cc, level)}\n" if p.cc else "")
                     + f"Subject: {p.subject}\n\n"
                     + p.body_text(level).split("\n", 2)[2])
        return f"{SYNTH_LINE}\n\n{text.strip()}\n"

    def render(self, level: str) -> bytes:
        h = [f"From: {self.from_header(level)}", f"To: {self._addr_list(self.to, level)}"]
        if self.cc:
            h.append(f"Cc: {self._addr_list(self.cc, level)}")
        h += [f"Subject: {self.subject}", f"Date: {rfc5322_date(self.utc, self.zone)}",
              f"Message-ID: {self.msgid}"]
        if self.parent is not None:
            refs = self.references()
            h += [f"In-Reply-To: {refs[-1]}", f"References: {' '.join(refs)}"]
        h += ["MIME-Version: 1.0", "X-Synthetic-Sample: true"]
        body = self.body_text(level)
        cte = "7bit" if body.isascii() else "8bit"
        plain = ['Content-Type: text/plain; charset="utf-8"', f"Content-Transfer-Encoding: {cte}"]
        if not self.attachments and self.html is None:
            out = h + plain + ["", body]
        else:
            kind = "alternative" if self.html is not None else "mixed"
            b = f"=_synthetic_{self.key}_{kind}"
            out = h + [f'Content-Type: multipart/{kind}; boundary="{b}"', "",
                       "This is a multi-part message in MIME format.", f"--{b}"] + plain + ["", body]
            if self.html is not None:
                out += [f"--{b}", 'Content-Type: text/html; charset="utf-8"',
                        "Content-Transfer-Encoding: 7bit", "", self.html]
            for fname, ctype, data in self.attachments:
                b64 = base64.encodebytes(data).decode("ascii").rstrip("\n")
                out += [f"--{b}", f'Content-Type: {ctype}; name="{fname}"',
                        f'Content-Disposition: attachment; filename="{fname}"',
                        "Content-Transfer-Encoding: base64", "", b64]
            out += [f"--{b}--", ""]
        return ("\n".join(out)).encode("utf-8")

    def redaction_text(self, level):
        """Header address fields + decoded text/plain body (what redaction counts cover)."""
        parts = [self.from_header(level), self._addr_list(self.to, level),
                 self._addr_list(self.cc, level), self.body_text(level)]
        return "\n".join(parts)


# --------------------------------------------------------------------------------------
# The story
# --------------------------------------------------------------------------------------

def password(rng: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
    return "".join(rng.choice(alphabet) for _ in range(10)) + rng.choice("!#$%&*")


def build_story(rng, accts, log):
    by_email = {a["email"]: a for a in accts}

    def searches_before(email, utc):
        a = by_email[email]
        return sum(1 for r in log if r["account"] is a and r["utc"] < utc)

    def provisioning(key, spec_or_email, when_utc=None, to_mode="", pw_mode=None, cc=(), extra=""):
        """Vendor credential email. spec is a person spec; when_utc defaults to account creation + minutes."""
        email = addr(spec_or_email)
        if when_utc is None:
            when_utc = by_email[email]["created_utc"] + dt.timedelta(minutes=rng.randint(2, 9),
                                                                     seconds=rng.randint(0, 59))
        pw = password(rng)
        user_line = f"Username: {R('b', email)}" if to_mode == "L" else f"Username: {email}"
        pw_line = f"Password: {R(pw_mode[0], pw, pw_mode[1:])}" if pw_mode else f"Password: {pw}"
        first = name_of(spec_or_email).split(" ")[0]
        greet = R("b", first) if to_mode == "L" else first
        body = (f"Hi {greet},\n\n"
                "Your Clearview account is ready. You can log in on the web or in the iOS and Android app "
                "with the details below.\n\n"
                f"{user_line}\n{pw_line}\n\n"
                "Try it on anything: a surveillance still, a social media photo, a suspect photo. "
                "See if you can reach 100 searches.\n"
                f"{extra}\n"
                "Questions? Just reply to this email.\n\n" + sig("support"))
        to = [(spec_or_email, to_mode)] if to_mode else [spec_or_email]
        return Msg(key, when_utc, "support", to, "Your Clearview account is ready", body, cc=cc, zone="utc",
                   tags=dict(kind="provisioning", username=email, password=pw,
                             password_visible=pw_mode is None))

    def invitation(key, inviter, invitee, html=False):
        email = addr(invitee)
        created = by_email[email]["created_utc"]
        when = created - dt.timedelta(hours=rng.randint(3, 20), minutes=rng.randint(0, 59))
        inv = name_of(inviter)
        body = (f"{inv} invited you to join Clearview, the search engine for faces used by law enforcement.\n\n"
                "Accept the invitation here: https://app.clearview.example/invite/accept\n\n"
                "Once you are in, use Invite Users to bring the rest of your team on board. "
                "Investigators who share Clearview solve more cases.\n\n" + sig("support"))
        html_text = None
        if html:
            html_text = ("<html><body><p>SYNTHETIC SAMPLE - invented correspondence for software testing; "
                         "not a real record.</p>"
                         f"<p><b>{inv}</b> invited you to join Clearview.</p>"
                         '<p><a href="https://app.clearview.example/invite/accept">Accept invitation</a></p>'
                         '<p><a href="https://app.clearview.example/invite">Invite Users</a></p>'
                         "<p>Clearview Support</p></body></html>")
        return Msg(key, when, "support", [invitee], "You've been invited to Clearview", body, zone="utc",
                   html=html_text, tags=dict(kind="invitation", inviter=addr(inviter), invitee=email))

    E = {}

    def add(m):
        if m.tags.get("kind") == "usage":  # "You have run N searches": N computed from the log
            n = searches_before(m.tags["account"], m.utc)
            assert n > 0, m.key
            m.body = m.body.replace("__N__", str(n))
            m.tags["searches"] = n
        E[m.key] = m
        return m

    # ---------------- Release 1: emails (.eml) ----------------
    add(Msg("E01", "2018-10-09 14:32", "pellham", [("halvorsen", "")], "Introduction: Clearview",
            f"Warren,\n\nAs promised at {R('b', 'the dinner on Thursday')}, I'd like to introduce you to "
            "Hollis Varga (cc'd), founder of Clearview. Their facial search tool has helped several "
            "agencies and I think your people would find it very useful.\n\n"
            f"Hollis, Warren is a Deputy Inspector with the NYPD. His cell is {R('b', '917-555-0134')}.\n\n"
            "I'll let you two take it from here.\n\n" + sig("pellham"),
            cc=["varga"], tags=dict(kind="introduction")))
    add(Msg("E02", "2018-10-10 08:17", "halvorsen", ["pellham"], "RE: Introduction: Clearview",
            "Gordon, thanks for the introduction.\n\nHollis, good to e-mail meet you. Happy to find a time "
            "to talk. I will loop in our Facial Identification Section.\n\n" + sig("halvorsen"),
            cc=["varga", ("vayle", "L")], parent=E["E01"], quote=True))
    add(Msg("E03", "2018-10-12 11:05", "varga", ["halvorsen"], "Clearview demo",
            "Warren,\n\nThanks for making time. A quick overview before we meet: Clearview searches a large "
            f"index of publicly available photos. {R('e(iv)', 'The index covers open social media and news sites and returns links to the source pages.')} "
            "Most searches return results in about a second.\n\n"
            "I'd be glad to set up a few trial logins for your team.\n\nBest,\n" + sig("varga"),
            parent=E["E02"]))
    add(Msg("E04", "2018-11-02 16:40", "varga", ["halvorsen"], "Meeting request - Clearview and NYPD",
            "Warren,\n\nCould we meet on Wednesday, November 14 at 10:30 AM? I can come to you - "
            f"the Detective Bureau conference room (Room 3B) at {R('f', 'headquarters, 8th floor')} would work, "
            "or the Example Cafe across the street if easier.\n\nI'll bring a laptop for a live demo.\n\n"
            "Hollis\n" + sig("varga"),
            cc=[("vayle", "L")], tags=dict(kind="meeting")))
    add(Msg("E05", "2018-11-05 09:12", "halvorsen", ["varga"], "RE: Meeting request - Clearview and NYPD",
            f"Hollis,\n\nNovember 14 at 10:30 AM in Room 3B works. {R('b', 'Lt. Hector Vayle')} from FIS and "
            f"{R('b', 'Assistant Chief Eleanor Vantongeren')} will join. Please check in at the front desk; "
            f"{R('f', 'visitor passes are issued at the side entrance')}.\n\n" + sig("halvorsen"),
            cc=[("vayle", "L"), ("vantongeren", "L")], parent=E["E04"], quote=True,
            tags=dict(kind="meeting")))
    add(Msg("E06", "2018-11-15 18:02", "varga", ["halvorsen"], "Thank you - meeting follow-up",
            "Warren,\n\nThank you and your team for the time yesterday. As discussed, we'd propose a trial "
            "starting in early December for FIS and any other units you think would benefit.\n\n"
            f"{R('g', 'On pricing, we would waive fees for the trial and revisit in March.', '^')}\n\n"
            "Best,\nHollis\n" + sig("varga"),
            cc=["vayle"]))
    add(Msg("E07", "2018-11-27 13:15", "varga", ["halvorsen", "vayle"], "Meeting: trial setup - Dec 3, 2:00 PM",
            "Warren, Hector,\n\nConfirming our meeting on Monday, December 3 at 2:00 PM at FIS "
            f"({R('f', 'Room 1208')}) to set up the trial accounts. I will bring the trial agreement.\n\n"
            "Hollis\n" + sig("varga"), tags=dict(kind="meeting")))
    pdf = (b"%PDF-1.4\n% SYNTHETIC SAMPLE - not a real document\n"
           b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
           b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
           b"% Trial agreement (invented): Clearview AI and NYPD FIS, trial December 2018 - March 2019.\n"
           b"trailer << /Root 1 0 R >>\n%%EOF\n")
    add(Msg("E08", "2018-12-03 17:48", "varga", ["vayle"], "Clearview trial agreement",
            "Hector,\n\nGood to see you today. Attached is the signed trial agreement. The trial runs from "
            "December 2018 through March 2019 at no cost. Accounts will come from support@clearview.example.\n\n"
            "Hollis\n" + sig("varga"),
            cc=["halvorsen"], attachments=[("Clearview_NYPD_trial_agreement_SYNTHETIC.pdf", "application/pdf", pdf)],
            tags=dict(kind="trial_agreement")))
    add(provisioning("E09", "vayle", extra="You are the administrator for your team and can invite colleagues."))
    add(provisioning("E10", "solberg"))
    add(provisioning("E11", "kaczmar", to_mode="L", pw_mode="i!"))
    guidance = ("SYNTHETIC SAMPLE - invented document\n"
                "FIS - Clearview trial guidance (draft)\n"
                "1. Trial accounts are for FIS investigators.\n"
                "2. A Clearview result is a lead only, not probable cause.\n"
                "3. Record each search in the case folder.\n").encode("ascii")
    add(Msg("E12", "2018-12-10 08:30", "vayle", ["solberg", "kaczmar", "quist"], "Clearview trial - guidance",
            "All,\n\nAttached is draft guidance for the trial. Please read before using the app.\n\n"
            f"{R('g', 'I have not cleared this with the Chief yet; treat it as interim.')}\n"
            f"{R('e(iv)', 'Run the probe image through the FIS system first and only then through Clearview.')}\n\n"
            + sig("vayle", redact_phone=True),
            cc=[("halvorsen", "K")],
            attachments=[("FIS_trial_guidance_SYNTHETIC.txt", "text/plain", guidance)]))
    add(invitation("E13", "solberg", "rennard", html=True))
    add(Msg("E14", "2018-12-19 15:10", "castellan", ["solberg"], "Checking in - Clearview trial",
            "Hi Renata,\n\nJust checking in. You have run __N__ searches so far - great start! "
            "Is there anything we can do to make the app more useful for FIS?\n\nPriya\n" + sig("castellan"),
            tags=dict(kind="usage", account=addr("solberg"))))
    add(Msg("E15", "2018-12-20 09:41", "solberg", ["castellan"], "RE: Checking in - Clearview trial",
            "Priya,\n\nThe app is working very well. We had a hit yesterday on "
            f"{R('e(iv)', 'a robbery pattern where the only image was a partial profile from a bodega camera')}.\n\n"
            f"{R('b', 'Renata')}\n" + sig("solberg", redact_name=True),
            parent=E["E14"], quote=True, tags=dict(kind="positive_results")))
    add(provisioning("E16", "brannock"))
    add(Msg("E17", "2019-01-15 19:26", "strode", ["castellan"], "Access on my personal phone",
            "Priya,\n\nA colleague showed me the app. Can I install it on my personal phone? I am in the "
            "field most of the day and my department phone does not allow app installs.\n\n"
            + sig("strode", alt=True),
            tags=dict(kind="personal_access_request", person=addr("strode"), via="personal device")))
    add(Msg("E18", "2019-01-16 10:03", "castellan", ["strode"], "RE: Access on my personal phone",
            "Hi Imani,\n\nYes - the app works on any iPhone or Android phone. I'll have support send you a "
            "login now.\n\nPriya\n" + sig("castellan"), parent=E["E17"], quote=True))
    add(provisioning("E19", "strode"))
    add(Msg("E20", "2019-01-22 17:55", "edevane", ["varga"], "Account for DC Intelligence",
            f"Hollis,\n\nAt the request of {R('b', 'our JTTF partners')}, could you set up an account for "
            f"Deputy Commissioner {R('b', 'Leonard Fairbrook')}, Intelligence Bureau? His address is "
            f"{R('b', 'leonard.fairbrook@nypd.example')}.\n\n" + sig("edevane"),
            cc=[("fairbrook", "L")]))
    add(provisioning("E21", "fairbrook", to_mode="L"))
    add(Msg("E22", "2019-01-29 23:05", "bexley/alt", ["support"], "Access request",
            "Hi,\n\nI'm a police officer with the NYPD. Guys in my squad are using Clearview. Can I get an "
            "account on this email? I mostly use my personal phone on patrol.\n\nThanks,\nJamal\n"
            + sig("bexley", alt=True),
            tags=dict(kind="personal_access_request", person=addr("bexley/alt"), via="personal email")))
    add(provisioning("E23", "bexley/alt"))
    add(Msg("E24", "2019-02-05 12:14", "holmquist", ["castellan"], "Using Clearview on personal device",
            "Priya,\n\nIs it OK to use Clearview on my own phone? The squad does not have department "
            f"smartphones for everyone. {R('b', 'My cell is 917-555-0141.')}\n\n" + sig("holmquist"),
            tags=dict(kind="personal_access_request", person=addr("holmquist"), via="personal device")))
    add(provisioning("E25", "holmquist"))
    add(Msg("E26", "2019-02-11 10:20", "arvelostamm", ["castellan"], "Account for HSI colleague",
            "Priya,\n\nPlease set up an account for my colleague at HSI, "
            f"{R('b', 'Marisol Ventrano <marisol.ventrano@ice.example>')}. She works with me on the task "
            "force and saw the results we have been getting.\n\n" + sig("arvelostamm"),
            cc=["ventrano"],
            tags=dict(kind="referral", referrer=addr("arvelostamm"), referred=addr("ventrano"), agency="ICE/HSI")))
    add(provisioning("E27", "ventrano", when_utc=ny_to_utc(parse_local("2019-02-12 09:31")), to_mode="L",
                     cc=["arvelostamm"]))
    add(Msg("E28", "2019-02-21 08:47", "marwick", ["edevane"], "Request - identification",
            f"Inspector,\n\nAs per Deputy Commissioner {R('b', 'Amos Threlkeld')}, please identify the Members "
            f"of service in the photo. {R('e(iv)', 'The photo was taken on an LIRR train and shows two males in plain clothes.')}\n\n"
            f"Attachment withheld {R('f', 'photo')}\n\n" + sig("marwick"),
            cc=[("threlkeld", "L")], tags=dict(kind="iab_request")))
    add(Msg("E29", "2019-02-21 13:22", "edevane", ["marwick"], "RE: Request - identification",
            f"Detective,\n\nResults: {R('b', 'PO John Example and PO Jane Example', '!')}. "
            f"{R('e(iv)', 'Both matched to public social media profiles; links attached.')}\n\n"
            + sig("edevane"),
            cc=[("threlkeld", "L")], parent=E["E28"], quote=True))
    add(invitation("E30", "bexley/alt", "kessling"))
    add(Msg("E31", "2019-03-04 15:36", "edevane", ["varga"], "FBI JTTF colleague",
            "Hollis,\n\nOne of the FBI agents on the task force would like to try the app: "
            "Keith Dunmore <keith.dunmore@fbi.example>. Can you reach out to him directly?\n\n" + sig("edevane"),
            tags=dict(kind="referral", referrer=addr("edevane"), referred=addr("dunmore"), agency="FBI")))
    add(Msg("E32", "2019-03-19 11:00", "castellan", ["arvelostamm"], "Your trial - usage",
            "Hi Luis,\n\nYou have run __N__ searches during the trial - one of our most active users. The "
            "department trial ends March 31, but your account will stay active while we sort out next "
            "steps.\n\nPriya\n" + sig("castellan"),
            tags=dict(kind="usage", account=addr("arvelostamm"))))
    add(Msg("E33", "2019-03-28 16:45", "vayle", ["halvorsen"], "Trial ending - FIS assessment",
            f"Inspector,\n\nSummary of the trial from the FIS side:\n"
            f"{R('g', 'Useful as a lead generator; accuracy on low-quality stills is unproven.', '^')}\n"
            f"{R('g', 'Recommend we do not adopt it without a policy review and sign-off from Legal.')}\n"
            f"{R('e(iv)', 'FIS ran it alongside the existing system on 40 open cases.')}\n\n" + sig("vayle"),
            cc=[("vantongeren", "L")]))
    add(provisioning("E34", "mabry"))
    add(provisioning("E35", "oyelaran"))
    add(Msg("E36", "2019-11-19 14:25", "castellan", ["strode"], "Checking in",
            "Hi Imani,\n\nYou have run __N__ searches since January. We just released a new version of the "
            "iOS app - update from the App Store.\n\nPriya\n" + sig("castellan"),
            tags=dict(kind="usage", account=addr("strode"))))
    add(Msg("E37", "2020-01-20 09:05", "coyleames", [("vantongeren", "L")], "Press inquiry - Clearview",
            f"Chief,\n\nA reporter ({R('b', 'name withheld')}) is asking whether NYPD uses Clearview. "
            "Proposed response: NYPD has no institutional relationship with Clearview AI.\n\n"
            f"{R('g', 'We should confirm with FIS how many accounts are still active before we send.')}\n\n"
            + sig("coyleames"),
            cc=["halvorsen", "vayle"], tags=dict(kind="statement")))
    add(Msg("E38", "2020-01-21 10:11", "vayle", ["coyleames"], "RE: Press inquiry - Clearview",
            f"Sergeant,\n\n{R('g', 'There are still active accounts outside FIS; I do not have a full list.')}\n\n"
            + sig("vayle"),
            cc=["halvorsen"], parent=E["E37"], quote=True, tags=dict(kind="statement")))
    add(provisioning("E39", "test01", extra="This test account was requested by FIS."))
    add(provisioning("E40", "test02", extra="This test account was requested by FIS."))
    add(Msg("E41", "2020-02-19 12:30", "whitcombe", ["vayle"], "Clearview accounts - inventory",
            "Lieutenant,\n\nPlease send Legal a list of all Clearview accounts held by members, including "
            f"the test accounts created this month. {R('g', 'We need this before responding to the press and the Council.')}\n\n"
            + sig("whitcombe", redact_name=True),
            from_redacted=True))
    add(Msg("E42", "2020-02-25 17:20", "varga", ["halvorsen"], "Following up on NYPD accounts",
            "Warren,\n\nFollowing up on our call. Since January new accounts require approval from a "
            "supervisor, and we can assign an administrator for the department to monitor use.\n\n"
            "Hollis\n" + sig("varga")))

    # ---------------- Release 2: identity-theft-team.mbox ----------------
    M = {}

    def madd(m):
        add(m)
        del E[m.key]
        M[m.key] = m
        return m

    team = ["fallowmere", "tamberlane", "ashgrove", "durrand", "corrigan", "okaforlund", "velasquezorr"]
    madd(Msg("M01", "2018-12-11 09:15", "pryle", team, "FIS trial - ITT participation",
             "Team,\n\nFIS has agreed to let us join the Clearview trial. Accounts will come directly from the "
             f"vendor. {R('g', 'Use it on open ID theft cases only until we hear otherwise.')}\n\n" + sig("pryle")))
    madd(provisioning("M02", "fallowmere"))
    madd(provisioning("M03", "pryle"))
    madd(Msg("M04", "2018-12-14 16:02", "fallowmere", ["pryle"], "first hits",
             f"Sarge,\n\nFirst day with it: {R('e(iv)', 'two hits on the ATM skimming case from bank camera stills')}.\n\n"
             + sig("fallowmere")))
    madd(invitation("M05", "fallowmere", "durrand"))
    madd(provisioning("M06", "tamberlane"))
    madd(Msg("M07", "2019-01-04 17:40", "ashgrove", ["castellan"], "Can I use my personal email",
             "Priya,\n\nOur department email blocks the app links on my phone. Can you set up my account on "
             "my personal address instead: noel.ashgrove.nyc@gmail.example?\n\n" + sig("ashgrove"),
             tags=dict(kind="personal_access_request", person=addr("ashgrove/alt"), via="personal email")))
    madd(Msg("M08", "2019-01-05 20:58", "castellan", ["ashgrove/alt"], "RE: Can I use my personal email",
             "Hi Noel,\n\nNo problem, support will send the login to your gmail.\n\nPriya\n" + sig("castellan"),
             cc=["ashgrove"], parent=M["M07"], quote=True))
    madd(provisioning("M09", "ashgrove/alt"))
    madd(Msg("M10", "2019-01-09 10:30", "castellan", ["fallowmere"], "Checking in - ITT",
             "Hi Curtis,\n\nYou have run __N__ searches in your first month. How is it going for the "
             "Identity Theft Team?\n\nPriya\n" + sig("castellan"),
             tags=dict(kind="usage", account=addr("fallowmere"))))
    madd(Msg("M11", "2019-01-10 08:52", "fallowmere", ["castellan"], "RE: Checking in - ITT",
             "Priya,\n\nWe continue to receive positive results. Several of the IDs have made arrests "
             f"possible, {R('e(iv)', 'mostly check fraud and account takeover suspects identified from bank video')}.\n\n"
             "I'm keeping a list of success stories for the bosses.\n\n" + sig("fallowmere"),
             cc=["pryle"], parent=M["M10"], quote=True, tags=dict(kind="positive_results")))
    madd(Msg("M12", "2019-01-14 13:05", "tamberlane", ["castellan"], "Account for HSI colleague",
             "Priya,\n\nPlease set up an account for my colleague at HSI, Brett Kolowski "
             "<brett.kolowski@ice.example>. He is on the same financial crimes task force.\n\n" + sig("tamberlane"),
             tags=dict(kind="referral", referrer=addr("tamberlane"), referred=addr("kolowski"), agency="ICE/HSI")))
    madd(provisioning("M13", "kolowski", when_utc=ny_to_utc(parse_local("2019-01-15 09:12")), cc=["tamberlane"]))
    madd(Msg("M14", "2019-01-22 18:30", "okaforlund/alt", ["castellan"], "Personal email for app",
             "Hi Priya,\n\nCould my login be on this yahoo address? I use my own phone for work apps.\n\n"
             "Bettina\n" + sig("okaforlund", alt=True),
             tags=dict(kind="personal_access_request", person=addr("okaforlund/alt"), via="personal email")))
    madd(provisioning("M15", "okaforlund/alt"))
    madd(Msg("M16", "2019-01-28 11:48", "fallowmere", ["pryle"], "FW: success stories",
             "Sarge,\n\nHere is what I have so far. Format below is from the note I keep on my desk.\n\n"
             "From the desk of Det. Curtis Fallowmere:\n"
             f"1. {R('e(iv)', 'Identity theft ring, Queens - suspect ID from bank video, arrest made')}\n"
             f"2. {R('e(iv)', 'Credit card fraud - suspect ID from store camera, arrest made')}\n"
             f"3. {R('b', 'Victim name')} - account takeover, case open\n\n" + sig("fallowmere"),
             tags=dict(kind="positive_results")))
    madd(provisioning("M17", "velasquezorr"))
    madd(Msg("M18", "2019-02-07 14:22", "corrigan", ["castellan"], "HSI task force - access",
             "Priya,\n\nI'm a member of the HSI task force as well as NYPD. Forwarding my colleague "
             "Dwayne Ashby-Ruiz <dwayne.ashby-ruiz@ice.example>, who would like access. Can you set him up?\n\n"
             + sig("corrigan"),
             cc=["ashbyruiz"],
             tags=dict(kind="referral", referrer=addr("corrigan"), referred=addr("ashbyruiz"), agency="ICE/HSI")))
    madd(Msg("M19", "2019-02-08 10:05", "castellan", ["corrigan"], "RE: HSI task force - access",
             "Hi Ansel,\n\nThanks - we'll reach out to HSI separately. Support is setting up your own account "
             "today.\n\nPriya\n" + sig("castellan"), parent=M["M18"], quote=True))
    madd(provisioning("M20", "corrigan"))
    madd(Msg("M21", "2019-03-01 09:00", "pryle", team, "Trial ends March 31",
             "Team,\n\nThe department trial ends March 31. "
             f"{R('g', 'No decision yet on whether we keep the accounts; keep documenting results.')}\n\n"
             + sig("pryle")))
    madd(Msg("M22", "2019-03-12 15:40", "castellan", ["tamberlane"], "Your usage",
             "Hi Ravi,\n\nYou have run __N__ searches so far. Thanks for being such an active user!\n\n"
             "Priya\n" + sig("castellan"),
             tags=dict(kind="usage", account=addr("tamberlane"))))
    madd(Msg("M23", "2019-03-29 12:12", "castellan", ["pryle"], "Continuing after the trial",
             "Hi Joanna,\n\nYour team's accounts will remain active after March 31 while the department "
             "decides. Let me know if anyone new needs access.\n\nPriya\n" + sig("castellan")))
    madd(Msg("M24", "2019-06-03 10:40", "fallowmere", ["pryle"], "Clearview still active",
             "Sarge,\n\nFYI the app still works for all of us. Are we OK to keep using it?\n\n" + sig("fallowmere")))
    madd(Msg("M25", "2019-08-20 13:30", "castellan", ["fallowmere"], "New features",
             "Hi Curtis,\n\nYou have run __N__ searches to date. We added video frame upload - give it a try.\n\n"
             "Priya\n" + sig("castellan"),
             tags=dict(kind="usage", account=addr("fallowmere"))))
    madd(Msg("M26", "2019-10-02 08:20", "pryle", team, "Reminder - case documentation",
             f"Team,\n\nReminder: {R('e(iv)', 'a Clearview result is a lead only; document the independent ID in the DD5')}. "
             f"{R('g', 'Legal has asked about our use.')}\n\n" + sig("pryle")))
    madd(Msg("M27", "2019-12-05 21:40", "okaforlund/alt", ["fallowmere"], "question",
             "Curtis - is your app still logging you out every day? Mine is.\n\nB.\n"
             + sig("okaforlund", alt=True)))
    madd(Msg("M28", "2020-01-21 08:30", "pryle", team, "FW: Press inquiry - Clearview",
             "Team,\n\nFYI, see below from DCPI. "
             f"{R('g', 'Hold off on new searches until we get guidance.')}\n\n" + sig("pryle"),
             parent=E["E37"], quote=True, tags=dict(kind="statement")))
    madd(Msg("M29", "2020-01-21 09:02", "fallowmere", ["pryle"], "RE: FW: Press inquiry - Clearview",
             "Understood. Does that include the open cases?\n\n" + sig("fallowmere"), parent=M["M28"]))
    madd(Msg("M30", "2020-02-10 15:00", "support", ["fallowmere"], "Clearview account update",
             "Hi Curtis,\n\nNew Clearview accounts for your agency now require approval from a supervisor. "
             "Your existing account is not affected.\n\n" + sig("support"), zone="utc"))

    return E, M


RERELEASED = ["E01", "E02", "E04", "E05", "E11", "E20", "E21", "E26", "E27", "E28", "E29", "E33", "E37"]


def assign_ids(rng: random.Random, msgs: list[Msg]):
    for m in sorted(msgs, key=lambda m: (m.utc, m.key)):
        domain = "clearview.example" if P[m.frm.partition("/")[0]]["org"] == "Clearview AI" else "nypd.example"
        m.msgid = f"<{m.utc:%Y%m%d%H%M%S}.{rng.getrandbits(48):012x}@{domain}>"


# --------------------------------------------------------------------------------------
# Manifests (hand-written YAML so output does not depend on the yaml library)
# --------------------------------------------------------------------------------------

COMMON_NOTES = """\
SYNTHETIC SAMPLE generated by raw/_generator/generate_sample.py (see raw/README.md). Every person is a
pseudonym; addresses use reserved .example domains, phones are 555-01xx, IPs come from documentation
ranges. The request number FOIL-2020-056-04817 has invented digits. Invented details (referrals,
affiliations, dates, counts, passwords) carry provenance synthetic_modeled, not documented.
Quoted or closely modelled wording and its source: "See if you can reach 100 searches." (quoted from MIT
Technology Review, 2021-04-09); "The app is working very well" and "We continue to receive positive
results" / "made arrests" (MIT Technology Review, 2021-04-09); "identify the Members of service in the
photo" (NY Post, Feb 2019 IAB email as reported); "no institutional relationship" (NYPD statement as
reported by BuzzFeed News, Apr 2021); "Invite Users" (BuzzFeed News, Jan 2020). The subjects "Your
Clearview account is ready" and "You've been invited to Clearview" and the sentence "You have run N
searches" are [UNVERIFIED] invented wording.
"""


def release_yaml(release_id, request_id, released_on, title, supersedes, notes, generator, version, seed) -> bytes:
    """A sample release's manifest (docs/releases.md), as every generator writes it."""
    lines = [
        f"release_id: {release_id}",
        "agency: NYPD",
        f"request_id: {request_id}",
        f"released_on: {released_on}",
        f"title: {json.dumps(title)}",
        f"requester: {json.dumps(REQUESTER)}",
        "synthetic: true",
        "supersedes: [" + ", ".join(supersedes) + "]",
        "notes: |",
    ] + ["  " + ln if ln else "" for ln in notes.rstrip("\n").split("\n")] + [
        "generator:",
        f"  name: {generator}",
        f'  version: "{version}"',
        f"  seed: {seed}",
        "provenance: synthetic_modeled",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def manifest(release_id, released_on, title, supersedes, extra_notes):
    return release_yaml(release_id, REQUEST_ID, released_on, title, supersedes, COMMON_NOTES + extra_notes,
                        GENERATOR_NAME, GENERATOR_VERSION, SEED)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

def mbox_bytes(msgs: list[Msg], level: str) -> bytes:
    out = []
    for m in msgs:
        raw = m.render(level).decode("utf-8")
        head, _, body = raw.partition("\n\n")
        body = re.sub(r"^(>*From )", r">\1", body, flags=re.M)  # mboxrd escaping
        sender = "MAILER-DAEMON" if m.from_redacted else addr(m.frm)
        text = f"From {sender} {asctime(m.utc)}\n{head}\n\n{body}"
        if not text.endswith("\n"):
            text += "\n"
        out.append(text + "\n")
    return "".join(out).encode("utf-8")


def count_tokens(text: str) -> dict:
    c = {}
    for m in TOKEN_RE.finditer(text):
        code = "87(2)(" + m.group(1) + ")" + (m.group(2) or "")
        c[code] = c.get(code, 0) + 1
    return dict(sorted(c.items()))


def add_counts(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return dict(sorted(out.items()))


def generate(out: Path) -> None:
    rng = random.Random(SEED)
    accts = build_accounts(rng)
    log = build_search_log(rng, accts)
    E, M = build_story(rng, accts, log)
    emails = sorted(E.values(), key=lambda m: (m.utc, m.key))
    mbox_msgs = sorted(M.values(), key=lambda m: (m.utc, m.key))
    assign_ids(rng, emails + mbox_msgs)
    for i, m in enumerate(emails, 1):
        m.file = f"emails/NYPD-CV-{i:04d}.eml"
        m.release = REL_INITIAL
    for m in mbox_msgs:
        m.file = "mailboxes/identity-theft-team.mbox"
        m.release = REL_SUPP

    files: dict[str, dict[str, bytes]] = {r: {} for r in RELEASES}

    # release 1
    files[REL_INITIAL]["release.yaml"] = manifest(
        REL_INITIAL, "2021-04-05", "Initial production, Clearview AI correspondence (synthetic)", [],
        f"Release content: {len(emails)} emails as .eml, heavily redacted under Public Officers Law 87(2).\n"
        "Redaction marks are cited per box, e.g. [REDACTED 87(2)(b)].\n")
    for m in emails:
        files[REL_INITIAL][m.file] = m.render("initial")

    # release 2
    roster = io.StringIO()
    w = csv.writer(roster, lineterminator="\n")
    w.writerow(["account_ref", "vendor", "agency", "unit", "holder_name", "holder_email", "role",
                "created_at", "status", "device"])
    counts = {a["ref"]: 0 for a in accts}
    last = {}
    for r in log:
        counts[r["account"]["ref"]] += 1
        last[r["account"]["ref"]] = r["utc"]
    for a in accts:
        if a["created_utc"] >= dt.datetime(2020, 1, 27):
            status = "trial"
        elif a["ref"] not in last or last[a["ref"]] < dt.datetime(2019, 9, 1):
            status = "disabled"
        else:
            status = "active"
        a["status"] = status
        w.writerow([a["ref"], "Clearview AI", "NYPD", a["unit"], a["name"], a["email"], a["role"],
                    iso_z(a["created_utc"]), status, a["device"]])
    slog = io.StringIO()
    w = csv.writer(slog, lineterminator="\n")
    w.writerow(["search_ref", "account_ref", "user_email", "searched_at", "client", "ip", "results_returned"])
    for r in log:
        w.writerow([r["ref"], r["account"]["ref"], r["account"]["email"], searched_at_text(r), r["client"],
                    r["ip"], "true" if r["results"] else "false"])
    files[REL_SUPP]["release.yaml"] = manifest(
        REL_SUPP, "2021-06-14", "Supplemental production: Identity Theft Team mailbox and vendor records (synthetic)",
        [],
        f"Release content: one mboxrd mailbox ({len(mbox_msgs)} messages), an account roster "
        f"({len(accts)} rows) and a search log\n({len(log)} rows), plus records/cover_letter.docx, "
        "a fake file that no reader takes (it is meant to be quarantined).\n"
        "Search volume parameter ~5,100 per MIT TR; the >11,000 figure is BuzzFeed's, not modelled.\n"
        "Account count ~36 modelled on the vendor's \"about 36 active accounts\" (NY Post, Jan 2020); the\n"
        ">30 (BuzzFeed) and ~50 (Legal Aid) figures are other sources and windows, not modelled here.\n")
    files[REL_SUPP]["mailboxes/identity-theft-team.mbox"] = mbox_bytes(mbox_msgs, "initial")
    files[REL_SUPP]["records/accounts_roster.csv"] = roster.getvalue().encode("utf-8")
    files[REL_SUPP]["records/search_log.csv"] = slog.getvalue().encode("utf-8")
    files[REL_SUPP]["records/cover_letter.docx"] = (
        b"SYNTHETIC SAMPLE - fake cover letter, not a real DOCX; no reader takes this file.\n")

    # release 3
    rer = [E[k] for k in RERELEASED]
    files[REL_RERELEASE]["release.yaml"] = manifest(
        REL_RERELEASE, "2021-09-20", "Re-release with fewer redactions, Clearview AI correspondence (synthetic)",
        [REL_INITIAL],
        f"Release content: {len(rer)} emails of the initial release re-produced with the same Message-ID,\n"
        "Date, From and Subject (same file names) and fewer redactions: personal names and addresses\n"
        "(87(2)(b)) are mostly lifted; technique, safety and IT redactions stay. The other emails of the\n"
        "initial release are not re-produced.\n")
    for m in rer:
        files[REL_RERELEASE][m.file] = m.render("rerelease")

    # ---- write
    out = Path(out)
    for r in RELEASES:
        d = out / r
        if d.exists():
            shutil.rmtree(d)
        for rel, data in files[r].items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
    key = answer_key(files, accts, log, emails, mbox_msgs, rer)
    (out / "_generator").mkdir(parents=True, exist_ok=True)
    (out / "_generator" / "answer_key.json").write_text(
        json.dumps(key, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------
# Answer key (computed from the generated structures and bytes)
# --------------------------------------------------------------------------------------

def answer_key(files, accts, log, emails, mbox_msgs, rer) -> dict:
    all_msgs = emails + mbox_msgs
    key = {"generator": {"name": GENERATOR_NAME, "version": GENERATOR_VERSION, "seed": SEED},
           "synthetic": True, "provenance": "synthetic_modeled"}

    # per release
    rel = {}
    level_of = {REL_INITIAL: "initial", REL_SUPP: "initial", REL_RERELEASE: "rerelease"}
    msgs_of = {REL_INITIAL: emails, REL_SUPP: mbox_msgs, REL_RERELEASE: rer}
    for r in RELEASES:
        fs = files[r]
        by_ext = {}
        for f in fs:
            ext = f.rsplit(".", 1)[-1]
            by_ext[ext] = by_ext.get(ext, 0) + 1
        red = {}
        for m in msgs_of[r]:
            red = add_counts(red, count_tokens(m.redaction_text(level_of[r])))
        variants = {}
        for m in msgs_of[r]:
            for t in TOKEN_RE.finditer(m.redaction_text(level_of[r])):
                variants[t.group(0)] = variants.get(t.group(0), 0) + 1
        rel[r] = {
            "files_total": len(fs),
            "files_by_extension": dict(sorted(by_ext.items())),
            "files_readable": sorted(f for f in fs if f.endswith((".eml", ".mbox", ".csv"))),
            "files_expected_quarantined": sorted(f for f in fs if not f.endswith((".eml", ".mbox", ".csv", ".yaml"))),
            "eml_messages": sum(1 for f in fs if f.endswith(".eml")),
            "mbox_messages": len(mbox_msgs) if r == REL_SUPP else 0,
            "email_messages_total": len(msgs_of[r]),
            "roster_rows": len(accts) if r == REL_SUPP else 0,
            "search_log_rows": len(log) if r == REL_SUPP else 0,
            "redactions_by_code": red,
            "redactions_total": sum(red.values()),
            "redaction_written_forms": dict(sorted(variants.items())),
            "messages_with_attachments": sum(1 for m in msgs_of[r] if m.attachments),
            "multipart_alternative_messages": sum(1 for m in msgs_of[r] if m.html is not None),
            "messages_with_in_reply_to": sum(1 for m in msgs_of[r] if m.parent is not None),
            "messages_with_from_redacted": sum(1 for m in msgs_of[r] if m.from_redacted),
            "mbox_escaped_from_lines": (files[r]["mailboxes/identity-theft-team.mbox"].decode().count("\n>From ")
                                        if r == REL_SUPP else 0),
        }
    key["releases"] = rel

    # accounts & searches
    per = {a["ref"]: [] for a in accts}
    for r in log:
        per[r["account"]["ref"]].append(r)
    after = [a for a in accts if a["created_utc"] >= TRIAL_END_UTC]
    feb20 = [a for a in accts if utc_to_ny(a["created_utc"]).strftime("%Y-%m") == "2020-02"]
    non_fis = [a for a in accts if a["unit"] != FIS]
    reach = []
    for a in accts:
        rows = per[a["ref"]]
        if len(rows) >= 100:
            t = rows[99]["utc"]
            reach.append({"account_ref": a["ref"], "holder_email": a["email"], "unit": a["unit"],
                          "searches": len(rows), "created_at": iso_z(a["created_utc"]),
                          "reached_100_at": iso_z(t),
                          "days_to_100": round((t - a["created_utc"]).total_seconds() / 86400, 2)})
    reach.sort(key=lambda x: -x["searches"])
    stmt_utc = ny_to_utc(dt.datetime.combine(STATEMENT_DATE, dt.time(0)))
    off_hours = sum(1 for r in log if not 8 <= utc_to_ny(r["utc"]).hour < 20)
    weekend = sum(1 for r in log if utc_to_ny(r["utc"]).weekday() >= 5)
    by_client, by_month = {}, {}
    for r in log:
        by_client[r["client"]] = by_client.get(r["client"], 0) + 1
        mo = r["utc"].strftime("%Y-%m")
        by_month[mo] = by_month.get(mo, 0) + 1
    by_unit = {}
    for a in accts:
        u = by_unit.setdefault(a["unit"], {"accounts": 0, "searches": 0})
        u["accounts"] += 1
        u["searches"] += len(per[a["ref"]])
    personal_email = [a for a in accts if not a["email"].endswith("@nypd.example")]
    key["accounts"] = {
        "total": len(accts),
        "by_unit": dict(sorted(by_unit.items())),
        "by_status": {s: sum(1 for a in accts if a["status"] == s) for s in ("active", "disabled", "trial")},
        "by_device": {d: sum(1 for a in accts if a["device"] == d) for d in ("department", "personal", "unknown")},
        "created_during_trial": sum(1 for a in accts if a["created_utc"] < TRIAL_END_UTC),
        "created_after_2019_03_31": {
            "count": len(after), "account_refs": [a["ref"] for a in after],
            "searches": sum(len(per[a["ref"]]) for a in after)},
        "created_in_feb_2020": [{"account_ref": a["ref"], "holder_email": a["email"]} for a in feb20],
        "test_accounts": [a["ref"] for a in accts if a["key"].startswith("test")],
        "personal_email_accounts": [{"account_ref": a["ref"], "holder_email": a["email"]} for a in personal_email],
        "personal_device_accounts": [{"account_ref": a["ref"], "holder_email": a["email"]}
                                     for a in accts if a["device"] == "personal"],
        "zero_search_accounts": [a["ref"] for a in accts if not per[a["ref"]]],
        "outside_fis": {"accounts": len(non_fis), "searches": sum(len(per[a["ref"]]) for a in non_fis),
                        "share_of_accounts": round(len(non_fis) / len(accts), 4),
                        "share_of_searches": round(sum(len(per[a["ref"]]) for a in non_fis) / len(log), 4)},
    }
    key["searches"] = {
        "total": len(log),
        "first_at": iso_z(log[0]["utc"]), "last_at": iso_z(log[-1]["utc"]),
        "accounts_with_100_or_more": reach,
        "accounts_under_20": sum(1 for a in accts if len(per[a["ref"]]) < 20),
        "after_2019_03_31": sum(1 for r in log if r["utc"] >= TRIAL_END_UTC),
        "on_or_after_statement_2020_01_20": sum(1 for r in log if r["utc"] >= stmt_utc),
        "weekend_new_york": weekend,
        "off_hours_new_york_before_08_or_from_20": off_hours,
        "results_returned_true": sum(1 for r in log if r["results"]),
        "by_client": dict(sorted(by_client.items())),
        "by_month_utc": dict(sorted(by_month.items())),
        "searched_at_with_offset_not_z": sum(1 for r in log if r["offset_form"]),
    }

    # emails
    def where(m):
        return {"release_id": m.release, "file": m.file, "message_id": m.msgid.strip("<>")}

    prov = [m for m in all_msgs if m.tags.get("kind") == "provisioning"]
    prov_to = {m.tags["username"]: m for m in prov}
    referrals = []
    for m in all_msgs:
        if m.tags.get("kind") != "referral":
            continue
        target = m.tags["referred"]
        pm = prov_to.get(target)
        visible = [r for r in RELEASES if any(target.encode() in b for b in files[r].values())]
        prov_visible = []
        if pm is not None:
            if target in pm._addr_list(pm.to, "initial"):
                prov_visible.append(pm.release)
            if pm.key in RERELEASED and target in pm._addr_list(pm.to, "rerelease"):
                prov_visible.append(REL_RERELEASE)
        referrals.append({**where(m), "date": iso_z(m.utc), "referrer_email": m.tags["referrer"],
                          "referred_email": target, "referred_agency": m.tags["agency"],
                          "later_provisioned": pm is not None,
                          "provisioning_message_id": pm.msgid.strip("<>") if pm else None,
                          "referred_email_visible_in_releases": visible,
                          "provisioning_to_header_visible_in_releases": prov_visible})
    key["emails"] = {
        "total_distinct_messages": len(all_msgs),
        "threads_with_replies": len({m.references()[0] for m in all_msgs if m.parent is not None}),
        "provisioning_emails": {
            "count": len(prov),
            "with_plaintext_password_line": sum(1 for m in prov if "Password:" in m.body),
            "password_value_visible_in_first_production": sum(1 for m in prov if m.tags["password_visible"]),
            "recipients_roster_accounts": sum(1 for m in prov if m.tags["username"] in {a["email"] for a in accts}),
            "recipients_non_nypd": sorted(m.tags["username"] for m in prov
                                          if m.tags["username"] not in {a["email"] for a in accts}),
            "messages": [{**where(m), "username": m.tags["username"]} for m in prov],
        },
        "invitation_emails": [{**where(m), "inviter": m.tags["inviter"], "invitee": m.tags["invitee"]}
                              for m in all_msgs if m.tags.get("kind") == "invitation"],
        "usage_mentions": [{**where(m), "account_email": m.tags["account"], "searches_stated": m.tags["searches"]}
                           for m in all_msgs if m.tags.get("kind") == "usage"],
        "referrals": referrals,
        "dual_affiliation_officers": [addr(k) for k in DUAL_AFFILIATION],
        "hsi_task_force_member": addr(HSI_TASK_FORCE_MEMBER),
        "personal_access_requests": [{**where(m), "person_email": m.tags["person"], "via": m.tags["via"]}
                                     for m in all_msgs if m.tags.get("kind") == "personal_access_request"],
        "positive_results": [where(m) for m in all_msgs if m.tags.get("kind") == "positive_results"],
        "meeting_emails": [where(m) for m in all_msgs if m.tags.get("kind") == "meeting"],
        "iab_request": [where(m) for m in all_msgs if m.tags.get("kind") == "iab_request"],
        "statement_emails": [where(m) for m in all_msgs if m.tags.get("kind") == "statement"],
        "from_redacted": [where(m) for m in all_msgs if m.from_redacted],
    }
    intro = next(m for m in all_msgs if m.tags.get("kind") == "introduction")
    meet = min((m for m in all_msgs if m.tags.get("kind") == "meeting"), key=lambda m: m.utc)
    first_acct = min(accts, key=lambda a: a["created_utc"])
    key["contact_chain"] = {
        "introduction": {**where(intro), "date": iso_z(intro.utc)},
        "first_meeting_email": {**where(meet), "date": iso_z(meet.utc)},
        "first_account_created_at": iso_z(first_acct["created_utc"]),
        "first_search_at": iso_z(log[0]["utc"]),
        "days_intro_to_first_search": round((log[0]["utc"] - intro.utc).total_seconds() / 86400, 2),
    }

    # re-release diff
    rr = []
    for m in rer:
        a = count_tokens(m.redaction_text("initial"))
        b = count_tokens(m.redaction_text("rerelease"))
        rr.append({"message_id": m.msgid.strip("<>"), "file": m.file,
                   "redactions_initial": sum(a.values()), "redactions_rerelease": sum(b.values()),
                   "lifted_by_code": {k: a[k] - b.get(k, 0) for k in a if a[k] - b.get(k, 0)},
                   "fewer_redactions": sum(b.values()) < sum(a.values())})
    key["rerelease"] = {"supersedes": [REL_INITIAL], "messages": rr,
                        "count": len(rr), "with_fewer_redactions": sum(1 for x in rr if x["fewer_redactions"])}
    return key


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------

def differing_files(expected: Path, actual: Path, roots: list[str]) -> list[str]:
    """Relative paths under `roots` (files or folders) that differ between two output trees."""
    names = set()
    for base in (expected, actual):
        for r in roots:
            p = base / r
            if p.is_file():
                names.add(r)
            elif p.is_dir():
                names.update(f.relative_to(base).as_posix() for f in p.rglob("*") if f.is_file())
    return sorted(n for n in names if not ((expected / n).is_file() and (actual / n).is_file()
                                           and filecmp.cmp(expected / n, actual / n, shallow=False)))


def write_release_files(folder: Path, files: dict[str, bytes]) -> None:
    """Replace a release folder with exactly these files."""
    if folder.exists():
        shutil.rmtree(folder)
    for rel, data in sorted(files.items()):
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def run_cli(argv, doc: str, generate_fn, roots: list[str], label: str) -> int:
    """`--out DIR` writes the output; `--check` regenerates into a temp dir and fails if DIR differs."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent),
                    help="raw folder to write (default: the folder above this script)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir and fail if --out differs")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate_fn(Path(tmp))
            diffs = differing_files(Path(tmp), out, roots)
        if diffs:
            print(f"{label} differs from a fresh generation:", file=sys.stderr)
            for d in diffs:
                print(f"  {d}", file=sys.stderr)
            return 1
        print(f"{label} is up to date")
        return 0
    generate_fn(out)
    print(f"wrote {', '.join(roots)} under {out}")
    return 0


def main(argv=None) -> int:
    return run_cli(argv, __doc__, generate, RELEASES + ["_generator/answer_key.json"], "sample")


if __name__ == "__main__":
    sys.exit(main())
