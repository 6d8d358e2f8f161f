"""Redaction boxes on page images (readers/redaction_boxes.py): found by shape, their codes read however
OCR mangles them, a marker put where each sits, and the header field a box hides named. No OCR here:
pages are drawn as pixel arrays and words are given as OCR would give them."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.readers import redaction_boxes as rb
from pipelines.readers.printed_pdf import LABEL_RE

DPI = 200


def page(height: int = 600, width: int = 1000) -> np.ndarray:
    return np.zeros((height, width), bool)


def letters(ink: np.ndarray, top: int, left: int, count: int, size: int = 20) -> None:
    """Glyph-like strokes: small, thin, separate components (never boxes)."""
    for i in range(count):
        x = left + i * (size + 6)
        ink[top:top + size, x:x + 3] = True
        ink[top + size - 3:top + size, x:x + size // 2] = True


def test_a_filled_box_and_a_bordered_box_are_found_and_text_is_not():
    ink = page()
    letters(ink, 50, 40, 12)
    ink[100:140, 200:520] = True                      # solid
    ink[300:360, 100:400] = False
    ink[300:303, 100:400] = ink[357:360, 100:400] = True  # outlined: 3 px border
    ink[300:360, 100:103] = ink[300:360, 397:400] = True
    letters(ink, 320, 150, 5)                          # a code printed inside the border
    ink[500:502, 40:900] = True                        # a horizontal rule is not a box
    boxes = rb.find_boxes(ink, DPI)
    assert [(b.style, b.left, b.top, b.right, b.bottom) for b in boxes] == [
        ("solid", 200, 100, 520, 140), ("outlined", 100, 300, 400, 360)]


def test_white_print_on_a_solid_box_is_noticed_for_reading():
    ink = page()
    ink[100:150, 200:600] = True
    ink[115:135, 250:262] = False  # white strokes of a printed code
    ink[115:135, 280:292] = False
    box, = rb.find_boxes(ink, DPI)
    assert box.style == "solid" and box.has_inner_text


def test_a_skewed_box_is_still_a_box():
    from PIL import Image

    img = Image.new("L", (1000, 600), 255)
    img.paste(0, (200, 100, 560, 150))
    rotated = np.array(img.rotate(0.8, fillcolor=255)) < 128
    boxes = rb.find_boxes(rotated, DPI)
    assert len(boxes) == 1 and boxes[0].style == "solid"


@pytest.mark.parametrize("written, canonical", [
    ("(b)(6)", "(b)(6)"), ("(5)(6)", "(b)(6)"), ("(b)(G)", "(b)(6)"), ("[b](6)", "(b)(6)"),
    ("(b)(7)(C)", "(b)(7)(C)"), ("(b)(7)(c),", "(b)(7)(C)"), ("§87(2)(b)", "§87(2)(b)"),
    ("$87(2)(b)", "§87(2)(b)"), ("S87(Z)(b)", "§87(2)(b)"), ("87(2)(e)(iv)", "§87(2)(e)(iv)"),
])
def test_exemption_codes_are_read_through_ocr_confusions(written, canonical):
    assert rb.normalise_code(written) == canonical


@pytest.mark.parametrize("text", ["(b)", "b6", "87", "Phone:", "(212)", "2019"])
def test_other_words_are_not_codes(text):
    assert rb.normalise_code(text) is None


def words(*specs) -> rb.Line:
    return rb.Line([rb.Word(t, left, top, left + w, top + 30, 95.0) for t, left, top, w in specs])


def test_markers_replace_the_box_and_take_the_code_beside_it_and_name_the_header():
    to_line = words(("To:", 40, 100, 40), ("Lee", 100, 100, 50), ("Marsh", 160, 100, 80), ("x#", 300, 102, 30),
                    ("(b)(6)", 560, 100, 90))
    body = words(("Call", 40, 300, 60), ("me", 110, 300, 40), ("at", 160, 300, 30))
    boxes = [rb.Box(260, 95, 540, 135, "solid"), rb.Box(200, 295, 420, 335, "solid", code="§87(2)(b)"),
             rb.Box(100, 500, 400, 560, "outlined")]
    lines = rb.place([to_line, body], boxes, page=3, labels=LABEL_RE)
    assert [line.text() for line in lines] == [
        "To: Lee Marsh [REDACTED BOX p3-1 (b)(6)]",   # the junk OCR read on the box and the code are taken
        "Call me at [REDACTED BOX p3-2 §87(2)(b)]",
        "[REDACTED BOX p3-3]",                         # a box on no line stands on its own line
    ]
    assert [(b.number, b.code, b.header_field) for b in boxes] == [(1, "(b)(6)", "to"), (2, "§87(2)(b)", None),
                                                                  (3, None, None)]


def test_a_code_printed_inside_an_outlined_box_is_its_code():
    line = words(("Subject:", 40, 100, 120), ("(b)(7)(C)", 320, 100, 120))
    box = rb.Box(300, 90, 470, 140, "outlined")
    lines = rb.place([line], [box], page=1, labels=LABEL_RE)
    assert lines[0].text() == "Subject: [REDACTED BOX p1-1 (b)(7)(C)]"
    assert (box.code, box.header_field) == ("(b)(7)(C)", "subject")


def test_erasing_keeps_what_is_printed_inside_a_bordered_box():
    grey = np.full((200, 400), 255, np.uint8)
    ink = np.zeros((200, 400), bool)
    for arr, value in ((grey, 0), (ink, True)):
        arr[50:53, 50:350] = arr[147:150, 50:350] = value
        arr[50:150, 50:53] = arr[50:150, 347:350] = value
        arr[90:110, 150:160] = value  # a printed code stroke
    rb.erase(grey, ink, [rb.Box(50, 50, 350, 150, "outlined")])
    assert not ink[50:53].any() and ink[90:110, 150:160].all() and (grey[90:110, 150:160] == 0).all()
