"""One message, one sender, however produced (issue #15 part 6), on a build of the whole sample.

The load-file release raw/nypd-clearview-2021-12-loadfile holds the email "Account for HSI colleague"
(Ravi Tamberlane to Brett Kolowski, 2019-03-11 09:05) twice: as load-file record NYPD-CV-001008
(VOL001/DATA/VOL001.dat, with the address) and printed from Outlook on page NYPD-CV-001104 of
VOL001/PDF/printed_emails.pdf (From "Tamberlane, Ravi", no address, Sent: without a zone); see
raw/_generator/gen_loadfile_release.py (D05 and MSG_C). Both copies must be one message with two
appearances, one sender (the person of ravi.tamberlane@nypd.example) and one contact. The same PDF prints
"Search results - trial accounts" and quotes it below the reply on the next page: one message too.
"""
from __future__ import annotations


import duckdb
import pytest

from .conftest import REPO, run_foil

LOADFILE = "nypd-clearview-2021-12-loadfile"
RAVI = "ravi.tamberlane@nypd.example"


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    wh = tmp_path_factory.mktemp("identity") / "wh" / "analytics.duckdb"
    proc = run_foil("build", "--raw", str(REPO / "raw"), "--warehouse", str(wh))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    connection = duckdb.connect(str(wh), read_only=True)
    yield connection
    connection.close()


def rows(con, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_printed_and_load_file_copies_are_one_message(con):
    found = rows(con, """
        select message_id, from_email, from_person_id, appearances, source_kinds, release_id
        from messages
        where subject = 'Account for HSI colleague' and sent_at::date = date '2019-03-11'
    """)
    assert len(found) == 1, found
    msg = found[0]
    assert msg["appearances"] == 2
    assert msg["source_kinds"] == ["load_file", "printed_pdf"]
    assert msg["from_email"] == RAVI
    assert msg["release_id"] == LOADFILE

    copies = rows(con, """
        select source_kind, source_bates, citation, is_current, from_email, from_name
        from message_appearances where message_id = ? order by source_kind
    """, [msg["message_id"]])
    assert [c["source_kind"] for c in copies] == ["load_file", "printed_pdf"]
    assert copies[0]["source_bates"] == "NYPD-CV-001008"
    assert copies[0]["citation"].startswith(f"{LOADFILE} / VOL001/DATA/VOL001.dat")
    assert copies[1]["source_bates"] == "NYPD-CV-001104"
    assert copies[1]["citation"].startswith(f"{LOADFILE} / VOL001/PDF/printed_emails.pdf")
    assert copies[1]["from_email"] is None and copies[1]["from_name"] == "Tamberlane, Ravi"
    assert sum(c["is_current"] for c in copies) == 1


def test_one_sender_with_evidence(con):
    sender = rows(con, """
        select m.from_person_id, p.person_id, p.emails, p.display_name, p.address_evidence
        from messages as m inner join people as p on p.person_id = m.from_person_id
        where m.subject = 'Account for HSI colleague' and m.sent_at::date = date '2019-03-11'
    """)
    assert len(sender) == 1
    assert sender[0]["emails"] == [RAVI]
    # no placeholder person for the printed name: every person named Tamberlane is the one with the address
    named = rows(con, "select person_id, emails from people where display_name ilike '%tamberlane%'")
    assert named == [{"person_id": sender[0]["person_id"], "emails": [RAVI]}]
    evidence = {(e["seen_in"], e["email"]): e for e in sender[0]["address_evidence"]}
    assert ("header", RAVI) in evidence
    assert ("name_match", RAVI) in evidence
    assert "VOL001/PDF/printed_emails.pdf" in evidence[("name_match", RAVI)]["citation"]


def test_one_contact_for_the_one_message(con):
    contacts = rows(con, """
        select c.to_person_id, c.from_person_id, m.from_person_id as sender
        from contacts as c inner join messages as m using (message_id)
        where m.subject = 'Account for HSI colleague' and m.sent_at::date = date '2019-03-11'
    """)
    assert len(contacts) == 1
    assert contacts[0]["from_person_id"] == contacts[0]["sender"]


def test_printed_message_and_its_quoted_copy_are_one_message(con):
    found = rows(con, """
        select message_id, appearances, from_email from messages
        where subject = 'Search results - trial accounts'
    """)
    assert len(found) == 1, found
    assert found[0]["appearances"] == 2
    assert found[0]["from_email"] == "renata.solberg@nypd.example"


def test_same_subject_other_day_stays_apart(con):
    # Ravi's own "Account for HSI colleague" of 2019-01-14 (native, with a Message-ID) is another message
    found = rows(con, """
        select distinct message_id from messages
        where subject = 'Account for HSI colleague' and from_email = ?
    """, [RAVI])
    assert len(found) == 2
