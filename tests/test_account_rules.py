"""Account detection generalises beyond the sample's one sentence (issue #15).

One small release built through the real CLI: vendor provisioning notices and invitations written in
wordings unlike the sample's ("Your Clearview account is ready"), a colleague's forward of a vendor
invitation, and vendor mail that must not create accounts (a newsletter, a sales pitch, a meeting offer)
plus an internal email about Clearview accounts. Dates fall in every contract phase of
seeds/contract_periods.csv (Clearview–NYPD trial 2018-12-01 … 2019-03-31).
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from .conftest import eml, run_foil, write_release

SUPPORT = "Clearview AI Support <support@clearview.example>"
SIG = "\n\nSYNTHETIC SAMPLE - invented correspondence for software testing; not a real record."


def date(day: str, time: str = "10:00:00") -> str:
    """An RFC 5322 date in UTC from 'YYYY-MM-DD'."""
    import datetime as dt
    d = dt.date.fromisoformat(day)
    return f"{d.strftime('%a, %d %b %Y')} {time} +0000"


# holder -> (file, message) ; every holder's account must exist with the phase given in EXPECTED
POSITIVES = {
    "p01.arden@nypd.example": eml(
        "p01@clearview.example", sender=SUPPORT, to="Pat Arden <p01.arden@nypd.example>", date=date("2018-11-20"),
        subject="=?utf-8?q?Welcome_to_Clearview_AI_=E2=80=94_your_account_has_been_activated?=",
        body="Hi Pat,\n\nThanks for joining. You can start searching right away from the web or the mobile app." + SIG),
    "p02.belko@nypd.example": eml(
        "p02@clearview.example", sender="Clearview <noreply@app.clearview.example>", to="p02.belko@nypd.example",
        date=date("2018-11-28"), subject="Your Clearview login is ready",
        body="Hello,\n\nSign in with your work email at https://app.clearview.example and run your first search." + SIG),
    "p03.corde@nypd.example": eml(
        "p03@clearview.example", sender=SUPPORT, to="p03.corde@nypd.example", date=date("2018-12-10"),
        subject="You've been invited to join Clearview AI",
        body="Det. Una Vell has invited you to Clearview AI.\n\nAccept the invitation to create your login." + SIG),
    "p04.dunmore@nypd.example": eml(
        "p04@clearview.example", sender=SUPPORT, to="p04.dunmore@nypd.example", date=date("2019-01-07"),
        subject="Finish setting up your account",
        body="You're almost there. Click the link below to set your password and start searching." + SIG),
    "p05.esker@nypd.example": eml(
        "p05@clearview.example", sender=SUPPORT, to="p05.esker@nypd.example", date=date("2019-01-15"),
        subject="Here are your credentials",
        body="As requested:\n\nUsername: p05.esker@nypd.example\nTemporary password: Zx81-qqT\n\n"
             "You will be asked to change it at first login." + SIG),
    "p06.farro@nypd.example": eml(
        "p06@clearview.example", sender=SUPPORT, to="p06.farro@nypd.example", date=date("2019-02-01"),
        subject="Your trial access is now active",
        body="Good news: your department trial access is now active. Log in at app.clearview.example." + SIG),
    "p07.galt@nypd.example": eml(
        "p07@clearview.example", sender=SUPPORT, to="p07.galt@nypd.example", date=date("2019-04-10"),
        subject="Activate your account",
        body="An administrator created a Clearview account for you. Click here to activate it and choose a password." + SIG),
    "p08.hollins@nypd.example": eml(
        "p08@clearview.example", sender=SUPPORT, to="p08.hollins@nypd.example", date=date("2019-05-02"),
        subject="Clearview AI: verify your email",
        body="Please verify your email address to complete your registration.\n"
             "Click the button below to confirm." + SIG),
    "p09.ivers@nypd.example": eml(
        "p09@clearview.example", sender=SUPPORT, to="p09.ivers@nypd.example", date=date("2019-06-11"),
        subject="Getting started",
        body="Your new Clearview AI account has been created. To get started, sign in to Clearview with your agency email." + SIG),
    "p10.jessop@nypd.example": eml(
        "p10@clearview.example", sender=SUPPORT, to="p10.jessop@nypd.example", date=date("2019-09-03"),
        subject="Account created",
        body="We've set up a Clearview login for you.\n\nLogin: p10.jessop@nypd.example\nPassword: Kq2!vvwP" + SIG),
    # personal address: no agency, so the vendor's periods apply (after the trial)
    "p12.lorne@gmail.example": eml(
        "p12@clearview.example", sender=SUPPORT, to="p12.lorne@gmail.example", date=date("2019-10-21"),
        subject="You now have access to Clearview",
        body="Your Clearview account has been approved. Log in at app.clearview.example with your email." + SIG),
    # a colleague forwards the vendor's invitation: the invitee holds the account, from the forward's date
    "p11.kemble@nypd.example": eml(
        "p11@nypd.example", sender="Dana Kim <kim@nypd.example>", to="Lou Kemble <p11.kemble@nypd.example>",
        date=date("2019-03-20"), subject="Fwd: You've been invited to Clearview AI",
        body="Lou - this one is for you, use it for the pattern cases.\n\n"
             "---------- Forwarded message ---------\n"
             "From: Clearview AI <invites@clearview.example>\n"
             "Date: Tue, 19 Mar 2019 at 16:02\n"
             "Subject: You've been invited to Clearview AI\n"
             "To: <p11.kemble@nypd.example>\n\n"
             "Dana Kim invited you to join Clearview AI, the search engine for faces.\n"
             "Accept the invitation here: https://app.clearview.example/invite/accept" + SIG),
}

EXPECTED = {
    "p01.arden@nypd.example": "before_trial",
    "p02.belko@nypd.example": "before_trial",
    "p03.corde@nypd.example": "trial",
    "p04.dunmore@nypd.example": "trial",
    "p05.esker@nypd.example": "trial",
    "p06.farro@nypd.example": "trial",
    "p07.galt@nypd.example": "after_trial",
    "p08.hollins@nypd.example": "after_trial",
    "p09.ivers@nypd.example": "after_trial",
    "p10.jessop@nypd.example": "after_trial",
    "p11.kemble@nypd.example": "trial",
    "p12.lorne@gmail.example": "after_trial",
}

NEGATIVES = {
    "n01.newsletter": eml(
        "n01@clearview.example", sender="Clearview AI <news@clearview.example>", to="n01.moss@nypd.example",
        date=date("2019-02-10"), subject="Clearview AI newsletter - new features",
        body="Welcome to the Clearview AI newsletter! This month: video frame upload and faster results.\n"
             "Log in at app.clearview.example to try them.\n\nUnsubscribe | Manage preferences" + SIG),
    "n02.pitch": eml(
        "n02@clearview.example", sender="Clearview AI <sales@clearview.example>", to="n02.nolan@nypd.example",
        date=date("2018-10-15"), subject="How to solve crimes instantly with face search",
        body="Clearview is like Google search for faces. Sign up today and get started with Clearview in minutes: "
             "your account is one click away. Request a demo for your squad." + SIG),
    "n03.internal": eml(
        "n03@nypd.example", sender="Lt. Ola Prentice <o.prentice@nypd.example>",
        to="n03.quade@nypd.example, n03.rusk@nypd.example", date=date("2019-01-20"), subject="Clearview accounts",
        body="All,\n\nClearview accounts are for FIS casework only. If your Clearview account is ready, log in at the "
             "app and set your password before Friday.\n\nLt. Prentice" + SIG),
    "n04.meeting": eml(
        "n04@clearview.example", sender="Hollis Varga <hollis@clearview.example>", to="n04.stroud@nypd.example",
        date=date("2018-11-02"), subject="Following up",
        body="Thanks for your time. I'd be glad to set up a few trial logins for your team once we meet." + SIG),
}
NOT_HOLDERS = {"n01.moss@nypd.example", "n02.nolan@nypd.example", "n03.quade@nypd.example", "n03.rusk@nypd.example",
               "n04.stroud@nypd.example", "o.prentice@nypd.example", "kim@nypd.example",
               "support@clearview.example", "invites@clearview.example"}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("account_rules")
    raw = root / "raw"
    files = {f"emails/{holder.split('@')[0]}.eml": msg for holder, msg in POSITIVES.items()}
    files |= {f"emails/{name}.eml": msg for name, msg in NEGATIVES.items()}
    write_release(raw, "acct-rules-2021-04", files=files)
    wh = root / "wh" / "analytics.duckdb"
    proc = run_foil("build", "--raw", str(raw), "--warehouse", str(wh))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return wh


def accounts(wh: Path) -> dict[str, tuple]:
    with duckdb.connect(str(wh), read_only=True) as con:
        rows = con.execute("""select a.holder_email, a.created_phase, a.vendor, a.source_kind, a.agency,
                                     m.subject, cast(a.created_at as date)
                              from accounts a left join messages m on m.message_id = a.provisioning_message_id""").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_every_provisioning_wording_is_an_account_with_its_holder_and_phase(warehouse):
    found = accounts(warehouse)
    assert len(POSITIVES) >= 10
    missing = sorted(set(EXPECTED) - set(found))
    assert not missing, f"no account for {missing}"
    assert {h: found[h][0] for h in EXPECTED} == EXPECTED
    for holder in EXPECTED:
        phase, vendor, source_kind, agency, subject, _ = found[holder]
        assert (vendor, source_kind) == ("clearview", "email"), holder
        assert subject is not None, f"{holder}: the account cites no provisioning email"
    assert found["p01.arden@nypd.example"][3] == "nypd"
    assert found["p12.lorne@gmail.example"][3] is None  # personal address: no agency, the vendor's periods


def test_a_forwarded_invitation_gives_the_invitee_the_account(warehouse):
    phase, _, _, agency, subject, created = accounts(warehouse)["p11.kemble@nypd.example"]
    assert subject == "Fwd: You've been invited to Clearview AI"
    assert (phase, agency, str(created)) == ("trial", "nypd", "2019-03-20")


def test_newsletter_pitch_meeting_offer_and_internal_mail_make_no_account(warehouse):
    found = accounts(warehouse)
    assert not NOT_HOLDERS & set(found), sorted(NOT_HOLDERS & set(found))
    assert set(found) == set(EXPECTED)
