"""Redaction boxes on a scanned page: find them, read the exemption code printed on or beside them, and
put a marker where each sits in the OCR text. What a box hides is never guessed.

Two styles are found among the connected ink components of the binarised page:
* solid: a filled rectangle (black marker, a box tool) — most of its bounding box is ink; a code printed
  in white inside it shows as holes and is read by OCR on the inverted crop;
* outlined: a white box with a border — ink on all four edges, nearly none of the component inside
  (a code printed inside is separate components, i.e. OCR words inside the box).
A code printed just left or right of a box on the same line is taken from the OCR words.

The marker `[REDACTED BOX p<page>-<n> <code>]` replaces the box (and the code words it took) in the line
it sits on, or stands on a line of its own; models match it back to the box's row in `redactions`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

# written forms of exemption codes, OCR confusions included: (b)(6) read as (5)(6) or (b)(G), §87(2)(b)
# read as $87(2)(b) or S87(2)(b); a code may be split over two or three OCR words
_B = r"[\(\[{]?\s*[bB5h6]\s*[\)\]}]"
_FEDERAL = _B + r"\s*[\(\[{]\s*(?P<n>[1-9GSlI])\s*[\)\]}](?:\s*[\(\[{]\s*(?P<x>[A-Fa-f])\s*[\)\]}])?"
_NY = r"(?:[§$S]{1,2}\s*)?8\s*7\s*[\(\[{]\s*[2Z]\s*[\)\]}]\s*[\(\[{]\s*(?P<y>[a-jA-J])\s*[\)\]}]" \
      r"(?:\s*[\(\[{]\s*(?P<r>i{1,3}|iv)\s*[\)\]}])?"
CODE_RE = re.compile(rf"^(?:(?P<federal>{_FEDERAL})|(?P<ny>{_NY}))[.,;:]?$")
_DIGIT = {"G": "6", "S": "5", "l": "1", "I": "1"}

# Size limits in inches (scaled by the page's dpi): a box at least as tall as small print and a few
# characters wide; smaller components are letters, rules and speckle.
MIN_HEIGHT_IN, MIN_WIDTH_IN = 0.08, 0.2
SOLID_FILL = 0.75     # ink share of the bounding box for a filled rectangle
EDGE_INK = 0.85       # ink share of each edge line for an outlined box
INSIDE_INK = 0.03     # the outline component's own ink share inside its border


@dataclass
class Box:
    left: int
    top: int
    right: int
    bottom: int
    style: str                      # solid | outlined
    has_inner_text: bool = False    # holes in a solid box (white print) worth reading
    code: str | None = None
    header_field: str | None = None
    number: int = 0
    marker: str = ""
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)  # its ink (holes filled, if solid)

    def payload(self) -> dict:
        return {"box": self.number, "left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom,
                "style": self.style, "code": self.code, "header_field": self.header_field, "marker": self.marker}


@dataclass
class Word:
    text: str
    left: int
    top: int
    right: int
    bottom: int
    conf: float


@dataclass
class Line:
    words: list[Word] = field(default_factory=list)

    @property
    def top(self) -> int:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> int:
        return max(w.bottom for w in self.words)

    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def normalise_code(text: str) -> str | None:
    """An OCR'd exemption code in its printed form ('(b)(6)', '(b)(7)(C)', '§87(2)(b)'), or None."""
    match = CODE_RE.match(text.strip())
    if not match:
        return None
    if match.group("federal"):
        n = _DIGIT.get(match.group("n"), match.group("n"))
        x = match.group("x")
        return f"(b)({n})" + (f"({x.upper()})" if x else "")
    r = match.group("r")
    return f"§87(2)({match.group('y').lower()})" + (f"({r})" if r else "")


def trim_code(text: str) -> str:
    """OCR text of a box's inside without spaces and the edge marks around a code ('| §87(2)(b) |')."""
    return re.sub(r"^[^§$S(\[{8]+|[^)\]}]+$", "", text.replace(" ", "").replace("\n", ""))


def find_boxes(ink: np.ndarray, dpi: int) -> list[Box]:
    """Solid and outlined rectangles among the connected ink components (`ink`: True where dark)."""
    from scipy import ndimage

    labels, count = ndimage.label(ink, structure=np.ones((3, 3), bool))
    if not count:
        return []
    min_h, min_w = max(6, round(MIN_HEIGHT_IN * dpi)), max(12, round(MIN_WIDTH_IN * dpi))
    boxes = []
    for index, region in enumerate(ndimage.find_objects(labels), 1):
        if region is None:
            continue
        rows, cols = region
        h, w = rows.stop - rows.start, cols.stop - cols.start
        if h < min_h or w < min_w or h > ink.shape[0] * 0.9 or w > ink.shape[1] * 0.95:
            continue
        mine = labels[region] == index
        fill = mine.mean()
        box = Box(cols.start, rows.start, cols.stop, rows.stop, "solid", mask=mine)
        if fill >= SOLID_FILL:
            inner = mine[h // 5: h - h // 5, w // 20: w - w // 20]
            box.has_inner_text = bool(inner.size > 0 and (~inner).mean() > 0.02)
            box.mask = ndimage.binary_fill_holes(mine)
            boxes.append(box)
        elif _outlined(mine):
            box.style = "outlined"
            boxes.append(box)
    boxes.sort(key=lambda b: (b.top, b.left))
    return boxes


def _outlined(mine: np.ndarray) -> bool:
    """A rectangle's border: every column (but the ends) has ink near its top and its bottom and little
    between; every row likewise near its left and right. Measured per column and row, so a border
    skewed by a degree or two still counts, and a filled or lettered shape does not."""
    h, w = mine.shape
    if h < 8 or w < 8 or mine.mean() > 0.5:
        return False

    def spans(a: np.ndarray, length: int) -> float:
        """Share of lines (rows of `a`) with ink within the outer 30% at both ends and a gap between."""
        any_ink = a.any(axis=1)
        first = np.where(any_ink, a.argmax(axis=1), length)
        last = np.where(any_ink, length - 1 - a[:, ::-1].argmax(axis=1), -1)
        edge = 0.3 * length
        ok = (first < edge) & (last >= length - edge) & (a.sum(axis=1) <= 0.5 * length)
        return ok.mean()

    cols = mine[:, w // 20: w - w // 20].T
    rows = mine[h // 5: h - h // 5]
    return spans(cols, h) >= EDGE_INK and spans(rows, w) >= EDGE_INK and _inside_share(mine) <= INSIDE_INK


def _inside_share(mine: np.ndarray) -> float:
    """The component's own ink inside its border: per row, between the first and last ink (skew-safe)."""
    h, w = mine.shape
    band = max(2, min(h, w) // 8)
    inner = mine[band * 2: h - band * 2]
    if inner.size == 0:
        return 0.0
    first = inner.argmax(axis=1)
    last = w - 1 - inner[:, ::-1].argmax(axis=1)
    cols = np.arange(w)
    between = (cols[None, :] > first[:, None] + band) & (cols[None, :] < last[:, None] - band)
    return float((inner & between).sum() / max(1, between.sum()))


def erase(grey: np.ndarray, ink: np.ndarray, boxes: list[Box]) -> None:
    """Whiten each box's own ink in place (`grey` uint8, `ink` bool) so OCR reads the words around and
    inside it, not the box: a solid box becomes blank, an outlined box keeps the code printed inside.
    Only the box's pixels go, so letters touching a skewed box's bounding rectangle stay."""
    from scipy import ndimage

    for box in boxes:
        region = (slice(box.top, box.bottom), slice(box.left, box.right))
        mask = box.mask if box.mask is not None else _frame(box)
        if box.mask is not None:
            mask = ndimage.binary_dilation(mask, iterations=1)  # and the anti-aliased rim around it
        grey[region][mask] = 255
        ink[region][mask] = False


def _frame(box: Box) -> np.ndarray:
    """A box found elsewhere (no component mask): all of it if solid, a band along its edges if outlined."""
    h, w = box.bottom - box.top, box.right - box.left
    mask = np.ones((h, w), bool)
    if box.style == "outlined":
        band = max(2, min(h, w) // 12) + 1
        mask[band:h - band, band:w - band] = False
    return mask


def place(lines: list[Line], boxes: list[Box], page: int, labels: re.Pattern | None = None) -> list[Line]:
    """Lines with each box's marker in place; sets each box's number, code (unless read already),
    header field and marker. `labels` matches a header line ('To: ...'), naming the field it hides."""
    lines = [Line(list(line.words)) for line in lines if line.words]
    for number, box in enumerate(boxes, 1):
        box.number = number
        cy = (box.top + box.bottom) / 2
        line = next((ln for ln in lines if ln.top - 2 <= cy <= ln.bottom + 2), None)
        if line is None:
            line = Line()
            at = sum(1 for ln in lines if ln.top < box.top)
            lines.insert(at, line)
        inside = [w for w in line.words if box.left <= (w.left + w.right) / 2 <= box.right]
        code_words = _code_beside(line, box, inside)
        if box.code is None and code_words:
            box.code = normalise_code(" ".join(w.text for w in code_words).replace(" ", ""))
        taken = {id(w) for w in inside + code_words}
        kept = [w for w in line.words if id(w) not in taken]
        box.marker = f"[REDACTED BOX p{page}-{number}" + (f" {box.code}" if box.code else "") + "]"
        marker = Word(box.marker, box.left, box.top, box.right, box.bottom, -1.0)
        at = sum(1 for w in kept if w.left < box.left)
        line.words = kept[:at] + [marker] + kept[at:]
        if labels is not None and line.words and line.words[0] is not marker:
            match = labels.match(line.text())
            if match:
                box.header_field = next((k for k, v in match.groupdict().items() if v is not None and k != "value"), None)
    return lines


def _code_beside(line: Line, box: Box, inside: list[Word]) -> list[Word]:
    """The OCR words forming an exemption code inside the box, or right (else left) beside it within
    about three box heights."""
    if inside and normalise_code("".join(w.text for w in inside)):
        return inside
    gap = 3 * (box.bottom - box.top)
    right = [w for w in line.words if w not in inside and 0 <= w.left - box.right <= gap]
    left = [w for w in line.words if w not in inside and 0 <= box.left - w.right <= gap]
    for side, nearest_first in ((right, lambda w: w.left), (left, lambda w: -w.right)):
        side = sorted(side, key=nearest_first)
        for n in (1, 2, 3):
            words = sorted(side[:n], key=lambda w: w.left)
            if len(words) == n and normalise_code("".join(w.text for w in words)):
                return words
    return []
