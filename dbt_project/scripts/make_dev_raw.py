"""Write a tiny two-release raw/ tree for developing the dbt project before the real sample exists.

    .venv/bin/python dbt_project/scripts/make_dev_raw.py /tmp/foil_dev_raw
    .venv/bin/python -c "from pipelines.lib.ingest import ingest_all; ingest_all('/tmp/foil_dev_raw', '/tmp/dbt_dev.duckdb')"

Every name and address is invented (.example domains only); the data exists to exercise each rule:
provisioning, invitation, usage mention, plaintext password, meeting, referral by Cc and by body mention,
dual affiliation, redactions in body/subject/addresses, a missing Message-ID, a thread whose root is
missing, a re-release that lifts a redaction, and a quarantined file.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import sys
from email.message import EmailMessage
from pathlib import Path


def msg(mid, frm, to, subject, body, when, cc=None, in_reply_to=None, references=None):
    m = EmailMessage()
    if mid:
        m["Message-ID"] = f"<{mid}>"
    m["From"] = frm
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    m["Date"] = email.utils.format_datetime(dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc))
    if in_reply_to:
        m["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        m["References"] = " ".join(f"<{r}>" for r in references)
    m.set_content(body)
    return m


def mbox(messages):
    out = []
    for m in messages:
        text = m.as_string().replace("\nFrom ", "\n>From ")
        out.append("From MAILER-DAEMON Thu Jan  1 00:00:00 2019\n" + text.rstrip("\n") + "\n\n")
    return "".join(out)


KIM = "Det. Dana Kim <det.kim@nypd.example>"
REFERRAL_BODY = (
    "Please set up an account for my HSI colleague, and also j.lee@fbi.example.\n"
    "Call me at {phone}.\n\nDet. Dana Kim\nFacial Identification Section\n"
)


def initial():
    return [
        msg("intro-1@realestate.example", "Pat Broker <pat@realestate.example>", "Insp. Lee Ortiz <l.ortiz@nypd.example>",
            "Introduction: Clearview AI", "Lee, meet the Clearview team.\n\nPat\n", "2018-10-15T15:00:00",
            cc="Casey Vendor <casey@clearview.example>"),
        msg("meet-1@clearview.example", "Casey Vendor <casey@clearview.example>", "Insp. Lee Ortiz <l.ortiz@nypd.example>",
            "Re: Introduction: Clearview AI - meeting next week", "Happy to meet on Tuesday.\n\n"
            "On Mon, Pat wrote:\n> Lee, meet the Clearview team.\n", "2018-10-16T15:00:00",
            in_reply_to="intro-1@realestate.example", references=["intro-1@realestate.example"]),
        msg("ready-1@clearview.example", "Clearview Support <support@clearview.example>", KIM,
            "Your Clearview account is ready", "Username: det.kim@nypd.example\nPassword: hunter2x\n"
            "See if you can reach 100 searches.\n", "2018-12-05T14:00:00"),
        msg("usage-1@clearview.example", "Clearview Support <support@clearview.example>", KIM,
            "Your week on Clearview", "You have run 1,057 searches so far. Keep going!\n", "2019-01-10T12:00:00"),
        msg("refer-1@nypd.example", KIM, "Casey Vendor <casey@clearview.example>", "Access for a colleague",
            REFERRAL_BODY.format(phone="[REDACTED 87(2)(b)]"), "2019-02-01T16:30:00",
            cc="TFO Sam Ruiz <s.ruiz@ice.example>"),
        msg("ready-2@clearview.example", "Clearview Support <support@clearview.example>", "TFO Sam Ruiz <s.ruiz@ice.example>",
            "Your Clearview account is ready", "Username: s.ruiz@ice.example\nPassword: x9x9x9\n", "2019-02-03T09:00:00"),
        msg("jttf-2@nypd.example", "PO Robin Bell <r.bell@nypd.example>", KIM, "Re: JTTF request",
            "Can you run this one?\n\nPO Robin Bell\nTask Force Officer, HSI\n", "2019-05-02T23:10:00",
            in_reply_to="jttf-missing@nypd.example", references=["jttf-root@nypd.example", "jttf-missing@nypd.example"]),
        msg(None, '"[REDACTED 87(2)(b)]" <redacted@invalid>', KIM, "[REDACTED 87 (2)(b)] follow-up",
            "Technique: [REDACTED §87(2)(e)(iv)]. Draft: [REDACTED POL 87(2)(g)].\n", "2019-07-04T03:00:00"),
        msg("invite-1@clearview.example", "Clearview <invites@clearview.example>", "Robin <robin.b@gmail.example>",
            "You've been invited to Clearview", "Your colleague invited you.\n", "2019-06-20T18:00:00"),
    ]


ROSTER = """account_ref,vendor,agency,unit,holder_name,holder_email,role,created_at,status,device
A1,Clearview AI,NYPD,FIS,Dana Kim,det.kim@nypd.example,user,2018-12-05T13:00:00,trial,department
A2,Clearview AI,NYPD,IAB,Robin Bell,r.bell@nypd.example,user,2019-06-01 10:00:00,active,personal
A3,Clearview AI,NYPD,FIS,Ada Sgt,sgt.ada@gmail.example,user,2018-11-20T09:00:00Z,trial,personal
"""

SEARCH_LOG = """search_ref,account_ref,user_email,searched_at,client,ip,results_returned
S1,A1,det.kim@nypd.example,2018-12-06T01:00:00,ios,192.0.2.10,true
S2,A1,det.kim@nypd.example,2018-12-07T02:00:00,web,192.0.2.10,false
S3,A2,r.bell@nypd.example,2019-06-02T03:00:00,android,198.51.100.7,true
S4,A9,x.nine@nypd.example,2019-08-01T04:00:00,web,203.0.113.5,true
"""


def write(root: Path):
    rel1 = root / "dev-initial"
    (rel1 / "emails").mkdir(parents=True, exist_ok=True)
    (rel1 / "release.yaml").write_text(
        "release_id: dev-initial\nagency: NYPD\nrequest_id: FOIL-2020-056-00000\nreleased_on: 2021-04-05\n"
        "title: Dev fixture, initial\nsynthetic: true\nsupersedes: []\nnotes: dbt dev fixture.\n")
    (rel1 / "emails" / "clearview.mbox").write_text(mbox(initial()))
    (rel1 / "accounts.csv").write_text(ROSTER)
    (rel1 / "searches.csv").write_text(SEARCH_LOG)
    (rel1 / "notes.txt").write_text("not a supported file\n")

    rel2 = root / "dev-supplemental"
    rel2.mkdir(parents=True, exist_ok=True)
    (rel2 / "release.yaml").write_text(
        "release_id: dev-supplemental\nagency: NYPD\nrequest_id: FOIL-2020-056-00000\nreleased_on: 2021-09-01\n"
        "title: Dev fixture, less-redacted re-release\nsynthetic: true\nsupersedes: [dev-initial]\n")
    lifted = msg("refer-1@nypd.example", KIM, "Casey Vendor <casey@clearview.example>", "Access for a colleague",
                 REFERRAL_BODY.format(phone="212-555-0100"), "2019-02-01T16:30:00", cc="TFO Sam Ruiz <s.ruiz@ice.example>")
    (rel2 / "refer-1.eml").write_text(lifted.as_string())


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/foil_dev_raw"))
