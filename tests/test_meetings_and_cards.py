"""Calendar invitations (.ics) feed `contacts` as meetings; contact cards (.vcf) feed people resolution.

One small release built through the real CLI: an invitation from an NYPD organizer to two attendees (one
at the vendor), a vCard for the vendor attendee and one email from that attendee."""
from __future__ import annotations

import json

from .conftest import eml, run_foil, write_release

ICS = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//SYNTHETIC SAMPLE//EN\r\n"
    "METHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:demo-1@nypd.example\r\n"
    "SUMMARY:Facial recognition demo\r\n"
    "DTSTART:20181102T140000Z\r\n"
    "DTEND:20181102T150000Z\r\n"
    "ORGANIZER;CN=Ann Officer:mailto:ann@nypd.example\r\n"
    "ATTENDEE;CN=Vic Vendor;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:vic@clearview.example\r\n"
    "ATTENDEE;CN=Lee Detective;ROLE=OPT-PARTICIPANT:mailto:lee@nypd.example\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
).encode()

VCF = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Vic Vendor\r\n"
    "N:Vendor;Vic;;;\r\n"
    "EMAIL;TYPE=work:Vic@Clearview.example\r\n"
    "ORG:Clearview AI\r\n"
    "TITLE:Sales\r\n"
    "END:VCARD\r\n"
).encode()


def _query(warehouse, sql: str) -> list[dict]:
    proc = run_foil("query", "--warehouse", str(warehouse), "--format", "json", sql)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_invitation_is_meeting_contacts_and_card_joins_the_senders_person(raw, tmp_path):
    write_release(raw, "cal-cards-2021", files={
        "calendar/demo.ics": ICS,
        "contacts/vic.vcf": VCF,
        "mail/from_vic.eml": eml("vic-1@clearview.example", subject="Following up on the demo",
                                 sender="Vic Vendor <vic@clearview.example>", to="Ann Officer <ann@nypd.example>",
                                 date="Mon, 05 Nov 2018 09:00:00 -0500"),
    })
    warehouse = tmp_path / "wh" / "analytics.duckdb"
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(warehouse))
    assert proc.returncode == 0, proc.stdout + proc.stderr

    meetings = _query(warehouse, """
        select f.emails[1] as from_email, t.emails[1] as to_email, c.occurred_at::varchar as occurred_at,
               c.subject, c.recipient_field, c.message_id, c.direction, c.date_quality, c.citation
        from contacts c
        join people f on f.person_id = c.from_person_id
        join people t on t.person_id = c.to_person_id
        where c.channel = 'meeting'
        order by to_email""")
    assert [(m["from_email"], m["to_email"]) for m in meetings] == [
        ("ann@nypd.example", "lee@nypd.example"), ("ann@nypd.example", "vic@clearview.example")]
    for m in meetings:
        assert m["occurred_at"].startswith("2018-11-02 14:00:00"), m
        assert m["subject"] == "Facial recognition demo"
        assert m["recipient_field"] == "attendee" and m["message_id"] is None
        assert m["date_quality"] == "ok"
        assert m["citation"].startswith("cal-cards-2021 / calendar/demo.ics")
    assert {m["to_email"]: m["direction"] for m in meetings} == {
        "lee@nypd.example": "internal", "vic@clearview.example": "agency_to_vendor"}

    # the email's sender, the card and the attendee are one person
    people = _query(warehouse, """
        select p.person_id, p.display_name, p.address_evidence::json::varchar as evidence, p.org_evidence::json::varchar as orgs,
               (select list(distinct c.from_person_id) from contacts c where c.channel = 'email') as email_senders,
               (select list(distinct c.to_person_id) from contacts c where c.channel = 'meeting') as attendees
        from people p where list_contains(p.emails, 'vic@clearview.example')""")
    assert len(people) == 1
    vic = people[0]
    assert vic["person_id"] in vic["email_senders"] and vic["person_id"] in vic["attendees"]
    assert vic["display_name"] == "Vic Vendor"
    evidence = json.loads(vic["evidence"])
    seen = {e["seen_in"]: e for e in evidence}
    assert {"header", "calendar", "contact_card"} <= set(seen), evidence
    assert seen["contact_card"]["citation"].startswith("cal-cards-2021 / contacts/vic.vcf")
    assert {"org_id": "clearview", "seen_in": "contact_card"}.items() <= next(
        o for o in json.loads(vic["orgs"]) if o["seen_in"] == "contact_card").items()
