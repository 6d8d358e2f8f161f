"""MIME as a mail client shows it: which parts make the body, charsets that lie, Apple Mail .emlx, and the
fast path (fast-mail-parser) giving exactly the standard library's body."""
from __future__ import annotations

import email
import json
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32

import pytest

from pipelines.readers import FileStats, UnreadableFile
from pipelines.readers import email_message as em
from pipelines.readers.emlx import PARTIAL_DEFECT, AppleEmlxReader

from .conftest import eml

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
HEADERS = {"From": "Ann Officer <ann@nypd.example>", "To": "vic@clearview.example", "Subject": "Parts",
           "Date": "Mon, 01 Oct 2018 10:00:00 -0400", "Message-ID": "<parts@nypd.example>"}


def message(root) -> bytes:
    for name, value in HEADERS.items():
        root[name] = value
    return root.as_bytes()


def text(body: str, subtype: str = "plain", charset: str = "utf-8", **params) -> MIMEText:
    part = MIMEText(body, subtype, charset)
    for name, value in params.items():
        part.add_header(name.replace("_", "-").title(), value)
    return part


def multipart(subtype: str, *parts) -> MIMEMultipart:
    root = MIMEMultipart(subtype)
    for part in parts:
        root.attach(part)
    return root


def both(data: bytes) -> dict:
    """The payload, after checking the fast path read it and gives what the standard library gives."""
    fast = em._fast_observation(data, 0, 0)
    assert fast is not None, "the fast path should read this message"
    slow = em._observation(email.message_from_bytes(data, policy=compat32), 0, 0)
    assert json.dumps(fast.payload, sort_keys=True) == json.dumps(slow.payload, sort_keys=True)
    return fast.payload


def test_alternative_plain_wins_over_html():
    p = both(message(multipart("alternative", text("Plain words.\n"), text("<p>HTML <b>words</b></p>", "html"))))
    assert p["body_text"] == "Plain words.\n"
    assert p["body_html"] == "<p>HTML <b>words</b></p>" and p["attachments"] == []  # kept, not shown
    assert p["body_parts"] == [{"media_type": "text/plain", "charset": "utf-8", "decoded_as": "utf-8", "bytes": 13}]


def test_of_two_plain_alternatives_the_last_is_shown():
    """RFC 2046 orders alternatives from the plainest to the preferred (a real Thunderbird message)."""
    p = both(message(multipart("alternative", text("Section one\n"), text("Section two\n"))))
    assert p["body_text"] == "Section two\n"


def test_html_only_is_converted_and_kept():
    html = ("<html><head><style>p {color: red}</style><title>t</title></head><body>"
            "<p>Hello&nbsp;<b>world</b> &amp; all</p><div>line two<br>line three</div>"
            "<ul><li>one</li><li>two</li></ul><script>alert(1)</script></body></html>")
    p = both(message(multipart("alternative", text(html, "html"))))
    assert p["body_text"] == "Hello world & all\n\nline two\nline three\n\n- one\n- two"
    assert p["body_html"] == html
    assert [bp["media_type"] for bp in p["body_parts"]] == ["text/html"]


def test_single_part_html_message():
    p = both(message(text("<p>Only&#160;HTML</p>", "html")))
    assert p["body_text"] == "Only HTML" and p["body_html"] == "<p>Only&#160;HTML</p>"


def test_mixed_keeps_every_inline_text_part_in_order_and_lists_the_attachment_between():
    pdf = MIMEApplication(b"%PDF-1.4 memo", "pdf")
    pdf.add_header("Content-Disposition", "attachment", filename="memo.pdf")
    root = multipart("mixed", text("First part.\n"), pdf, text("Second part.\n", content_disposition="inline"))
    p = both(message(root))
    assert p["body_text"] == "First part.\n\nSecond part.\n"
    assert [bp["media_type"] for bp in p["body_parts"]] == ["text/plain", "text/plain"]
    (att,) = p["attachments"]
    assert (att["filename"], att["media_type"], att["size_bytes"]) == ("memo.pdf", "application/pdf", 13)


def test_text_attachment_is_an_attachment_and_a_named_text_part_shown_inline_is_body():
    attached = text("not body", content_disposition='attachment; filename="notes.txt"')
    inline = text("shown inline", content_disposition='inline; filename="shown.txt"')
    p = both(message(multipart("mixed", text("Body."), attached, inline)))
    assert p["body_text"] == "Body.\n\nshown inline"
    assert [(a["filename"], a["media_type"]) for a in p["attachments"]] == [("notes.txt", "text/plain")]


def test_nested_mixed_alternative_related():
    image = MIMEImage(PNG, "png")
    image.add_header("Content-ID", "<logo>")
    related = multipart("related", text('<p>Rich <img src="cid:logo"> text</p>', "html"), image)
    alternative = multipart("alternative", text("Plain text.\n"), related)
    report = MIMEApplication(b"xlsx bytes", "vnd.ms-excel")
    report.add_header("Content-Disposition", "attachment", filename="report.xls")
    p = both(message(multipart("mixed", alternative, report, text("Sent from my phone"))))
    assert p["body_text"] == "Plain text.\n\nSent from my phone"
    assert p["body_html"] == '<p>Rich <img src="cid:logo"> text</p>'  # the HTML alternative, kept
    # the HTML alternative's inline image is not shown, but it is part of the message: listed
    assert [a["media_type"] for a in p["attachments"]] == ["image/png", "application/vnd.ms-excel"]


def test_alternative_without_plain_shows_the_related_html_and_its_image_is_an_attachment():
    image = MIMEImage(PNG, "png")
    related = multipart("related", text("<div>From related</div>", "html"), image)
    p = both(message(multipart("mixed", multipart("alternative", related), text("Tail."))))
    assert p["body_text"] == "From related\n\nTail."
    assert p["body_html"] == "<div>From related</div>"
    assert [a["media_type"] for a in p["attachments"]] == ["image/png"]


def test_blank_plain_alternative_gives_way_to_html():
    p = both(message(multipart("alternative", text("\r\n"), text("<p>The real text</p>", "html"))))
    assert p["body_text"] == "The real text"


def test_attached_message_is_still_an_attached_message():
    inner = email.message_from_bytes(eml("inner@x", subject="Inner", body="INNER BODY"), policy=compat32)
    data = message(multipart("mixed", text("See attached."), MIMEMessage(inner)))
    assert em._fast_observation(data, 0, 0) is None  # attached messages take the standard library's walk
    obs, next_index = em.message_observations(data, index=0, offset=0, next_index=1)
    outer, attached = (o.payload for o in obs)
    assert next_index == 2 and outer["body_text"] == "See attached."
    assert "INNER BODY" not in outer["body_text"]
    assert [a["media_type"] for a in outer["attachments"]] == ["message/rfc822"]
    assert attached["attached_to_index"] == 0 and attached["subject"] == "Inner" and "INNER BODY" in attached["body_text"]


def lying(charset: str, body: bytes, cte: str = "8bit") -> bytes:
    return (b"From: a@b.example\r\nSubject: charset\r\nDate: Mon, 01 Oct 2018 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            + (f'Content-Type: text/plain; charset="{charset}"\r\n' if charset else "Content-Type: text/plain\r\n").encode()
            + f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode() + body)


@pytest.mark.parametrize("charset, body, expected, defect", [
    ("unknown-8bit", "café — ok".encode(), "café — ok", "charset: declared unknown-8bit (unknown charset), decoded as utf-8"),
    ("x-user-defined", b"caf\xe9 \x93q\x94", "café “q”", "charset: declared x-user-defined (unknown charset), decoded as cp1252"),
    ("us-ascii", "naïve".encode(), "naïve", "charset: declared us-ascii (bytes invalid for it), decoded as utf-8"),
    ("iso-8859-1", b"\x93quoted\x94 caf\xe9", "“quoted” café", "charset: declared iso-8859-1 (cp1252 bytes), decoded as cp1252"),
    ("iso-8859-1", "café".encode(), "café", "charset: declared iso-8859-1 (utf-8 bytes), decoded as utf-8"),
    ("utf-8", b"caf\xe9", "café", "charset: declared utf-8 (bytes invalid for it), decoded as cp1252"),
    ("utf-8", b"\x81\x8d", "\x81\x8d", "charset: declared utf-8 (bytes invalid for it), decoded as latin-1"),
    ("base64", b"caf\xc3\xa9", "café", "charset: declared base64 (unknown charset), decoded as utf-8"),
    ("", "café".encode(), "café", "charset: none declared (8-bit bytes), decoded as utf-8"),
])
def test_lying_charsets_decode_with_a_recorded_fallback(charset, body, expected, defect):
    p = both(lying(charset, body + b"\r\n"))
    assert p["body_text"] == expected + "\n"
    assert defect in p["defects"]
    (part,) = p["body_parts"]
    assert part["charset"] == (charset or None) and part["decoded_as"] == defect.rsplit(" ", 1)[1]


@pytest.mark.parametrize("charset, body, expected", [
    ("iso-8859-1", b"caf\xe9", "café"), ("windows-1252", b"\x93q\x94", "“q”"), ("us-ascii", b"plain", "plain"),
    ("UTF-8", "café".encode(), "café"),
])
def test_honest_charsets_record_nothing(charset, body, expected):
    p = both(lying(charset, body))
    assert p["body_text"] == expected and p["defects"] == []
    assert p["body_parts"][0]["decoded_as"] == charset.lower()


def test_lying_charset_in_quoted_printable_and_in_an_html_part():
    p = both(lying("unknown-8bit", b"caf=C3=A9=\r\n ok\r\n", cte="quoted-printable"))
    assert p["body_text"] == "café ok\n"
    html = text("x", "html")
    html.set_payload(b"<p>caf\xe9</p>")
    html.replace_header("Content-Type", 'text/html; charset="us-ascii"')
    del html["Content-Transfer-Encoding"]
    html["Content-Transfer-Encoding"] = "8bit"
    p = both(message(multipart("alternative", html)))
    assert p["body_text"] == "café" and p["body_html"] == "<p>café</p>"
    assert "charset: declared us-ascii (bytes invalid for it), decoded as cp1252" in p["defects"]


def test_rfc2231_charset_parameter():
    data = (b"From: a@b.example\r\nSubject: x\r\nDate: Mon, 01 Oct 2018 10:00:00 +0000\r\n"
            b"Content-Type: text/plain; charset*=utf-8''iso-8859-1\r\n\r\ncaf\xe9\r\n")
    p = both(data)
    assert p["body_text"] == "café\n" and p["body_parts"][0]["charset"] == "iso-8859-1" and p["defects"] == []


def test_crlf_and_lf_bodies_read_alike_on_both_paths():
    crlf = both(message(multipart("mixed", text("one\r\ntwo\r\n"), text("three\r\n"))))
    assert crlf["body_text"] == "one\ntwo\n\nthree\n"
    qp = (b"From: a@b.example\nSubject: x\nDate: Mon, 01 Oct 2018 10:00:00 +0000\n"
          b"Content-Transfer-Encoding: quoted-printable\n\nsoft=\nbreak\nline two=3D\n")
    assert both(qp)["body_text"] == "softbreak\nline two=\n"


@pytest.mark.parametrize("data", [
    # no closing boundary: the parsers disagree on the last part's trailing newline
    b"From: a@b\nSubject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n--b\n\nlast\n",
    # a multipart without a boundary
    b"From: a@b\nSubject: x\nContent-Type: multipart/mixed\n\nno boundary here\n",
    # base64 without padding: the fast parser refuses it
    b"From: a@b\nSubject: x\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ\n",
])
def test_messages_the_fast_path_could_read_differently_go_to_the_standard_library(data):
    assert em._fast_observation(data, 0, 0) is None
    p = em.message_observation(data, 0).payload
    assert p["body_text"].strip()


def test_multipart_without_boundary_is_read_as_text():
    p = em.message_observation(b"From: a@b\nSubject: x\nContent-Type: multipart/mixed\n\nno boundary here\n", 0).payload
    assert p["body_text"] == "no boundary here\n"
    assert "mime: multipart/mixed without parts, read as text/plain" in p["defects"]


CASES = [
    message(multipart("alternative", text("Plain"), text("<p>HTML</p>", "html"))),
    message(multipart("mixed", text("a"), MIMEApplication(b"x" * 50, "octet-stream"), text("b"), text("<i>c</i>", "html"))),
    message(multipart("mixed", multipart("alternative", text(""), multipart("related", text("<p>r</p>", "html"),
                                                                          MIMEImage(PNG, "png"))))),
    message(multipart("signed", text("signed text"), MIMEBase("application", "pgp-signature"))),
    lying("unknown-8bit", b"caf\xe9\r\n"), lying("x-mac-klingon", "ok ü".encode()),
    eml("plain@x"), eml("plain@x").replace(b"\r\n", b"\n"),
]


@pytest.mark.parametrize("data", CASES)
def test_fast_path_and_standard_library_give_identical_payloads(data, monkeypatch):
    fast = em.message_observation(data, 0).payload
    assert em._fast_observation(data, 0, 0) is not None
    monkeypatch.setattr(em, "_fast_observation", lambda *a: None)  # force the standard-library fallback
    slow = em.message_observation(data, 0).payload
    for key in ("body_text", "body_html", "body_parts", "attachments", "defects", "subject", "from", "to"):
        assert fast[key] == slow[key], key


def emlx(message_bytes: bytes, plist: bytes | None = None) -> bytes:
    plist = plist if plist is not None else (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
        b'"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n<dict>\n'
        b"\t<key>flags</key>\n\t<integer>8590195713</integer>\n</dict>\n</plist>\n")
    return f"{len(message_bytes)}        \n".encode() + message_bytes + plist


def read(path):
    stats = FileStats()
    out = [dict(row, payload=json.loads(row["payload"])) for b in AppleEmlxReader().batches(path, stats) for row in b.to_pylist()]
    return stats, out


def test_emlx_reads_the_message_between_length_line_and_plist(tmp_path):
    inner = email.message_from_bytes(eml("inner@x", subject="Inner"), policy=compat32)
    msg = message(multipart("mixed", text("Body of the emlx."), MIMEMessage(inner))).replace(b"\r\n", b"\n")
    path = tmp_path / "12345.emlx"
    path.write_bytes(emlx(msg))
    reader = AppleEmlxReader()
    assert reader.accepts(path, path.read_bytes()[:4096]) and reader.name == "emlx"
    stats, out = read(path)
    assert (stats.expected_items, stats.extracted_items) == (2, 2)
    top = out[0]["payload"]
    assert top["body_text"] == "Body of the emlx." and top["subject"] == "Parts" and top["defects"] == []
    assert "plist" not in top["body_text"] and "flags" not in json.dumps(top)
    assert out[0]["source_offset"] == len(f"{len(msg)}        \n")
    assert out[1]["payload"]["attached_to_index"] == 0


def test_partial_emlx_is_read_and_its_missing_attachments_are_a_defect(tmp_path):
    path = tmp_path / "12346.partial.emlx"
    msg = message(multipart("mixed", text("Partial body."))).replace(b"\r\n", b"\n")
    path.write_bytes(emlx(msg))
    assert AppleEmlxReader().accepts(path, b"")
    _, (row,) = read(path)
    assert row["payload"]["body_text"] == "Partial body." and PARTIAL_DEFECT in row["payload"]["defects"]


def test_emlx_wrapper_problems_are_defects_or_a_quarantine_reason(tmp_path):
    msg = eml("w@x").replace(b"\r\n", b"\n")
    short = tmp_path / "short.emlx"
    short.write_bytes(f"{len(msg) + 50}\n".encode() + msg)
    (row,) = read(short)[1]
    assert any(d.startswith("emlx: length line says") for d in row["payload"]["defects"])
    broken = tmp_path / "broken.emlx"
    broken.write_bytes(emlx(msg, plist=b"<plist><dict><key>x"))
    (row,) = read(broken)[1]
    assert any(d.startswith("emlx: unreadable property list") for d in row["payload"]["defects"])
    for name, content in (("empty.emlx", b""), ("nolength.emlx", msg)):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(UnreadableFile):
            read(path)
