"""Release manifests (`raw/<release_id>/release.yaml`): parsing and validation.

Errors name the folder and the field so whoever prepared the release knows what to fix; a bad
manifest rejects only its own release (a `supersedes` cycle rejects every release in it).
Whatever a manifest contains, the only exception that leaves this module for it is ManifestError.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MANIFEST_NAME = "release.yaml"
RELEASE_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
REQUIRED = ("release_id", "agency", "request_id", "released_on")
# A real manifest is a few KB; the limits keep a hostile one cheap to refuse.
MAX_MANIFEST_BYTES = 64 * 1024
MAX_NESTING = 32


class ManifestError(ValueError):
    def __init__(self, folder: Path, field_name: str, problem: str):
        self.folder, self.field, self.problem = folder, field_name, problem
        super().__init__(
            f"release folder {folder}: {field_name}: {problem} "
            f"(fix {folder / MANIFEST_NAME}; see docs/releases.md)"
        )


@dataclass(frozen=True)
class Manifest:
    folder: Path
    release_id: str
    agency: str
    request_id: str
    released_on: dt.date
    sha256: str
    data: dict[str, Any] = field(repr=False)

    def payload(self) -> dict[str, Any]:
        """The manifest as a JSON-able dict (dates as ISO strings), unknown keys kept."""
        out = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.data.items()}
        out.setdefault("supersedes", [])
        out.setdefault("synthetic", False)
        return out


def is_release_folder(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith(("_", "."))


# ---------------------------------------------------------------- YAML
class _Refused(yaml.YAMLError):
    """Valid YAML that a manifest may not use; carries the field to blame."""

    def __init__(self, field_name: str, problem: str):
        super().__init__(problem)
        self.field, self.problem = field_name, problem


def _line(node_or_event) -> int:
    return node_or_event.start_mark.line + 1


class _ManifestLoader(yaml.SafeLoader):
    """SafeLoader for manifests: no anchors/aliases, no duplicate keys, no merge keys, dates kept as text."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        # Refusing the first anchor means an alias bomb is never expanded, however it is built.
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
            raise _Refused(MANIFEST_NAME, f"YAML anchors and aliases (&name, *name) are not allowed "
                                          f"(line {_line(event)}); write each value out in full")
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise _Refused(MANIFEST_NAME, f"nested more than {MAX_NESTING} levels deep (line {_line(event)})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(MANIFEST_NAME, f"merge keys (<<) are not allowed (line {_line(key_node)}); "
                                              "write the keys out in full")
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # SafeConstructor refuses it with its own message
            if key in first_line:
                raise _Refused(str(key)[:60], f"key given twice (lines {first_line[key]} and {_line(key_node)}); "
                                         "keep only one")
            first_line[key] = _line(key_node)
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node, deep=False):
        # SafeConstructor lets ValueError/KeyError escape for e.g. `!!int x`, `0b_` or `!!bool maybe`.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.tag} value ({exc})", node.start_mark) from None


# Dates stay strings (validated by _parse_date): SafeLoader would build a datetime and crash with a
# plain ValueError on an impossible date such as 2021-02-30.
_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ManifestLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def _read(folder: Path) -> bytes:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(folder, MANIFEST_NAME, "missing manifest")
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)  # never read more than the limit
        size = path.stat().st_size
    except OSError as exc:
        raise ManifestError(folder, MANIFEST_NAME, f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(folder, MANIFEST_NAME, f"is {max(size, len(raw))} bytes, larger than the "
                                                   f"{MAX_MANIFEST_BYTES}-byte limit; a manifest holds only "
                                                   "the keys described in docs/releases.md")
    return raw


def _parse(folder: Path, raw: bytes) -> Any:
    try:
        return yaml.load(raw, Loader=_ManifestLoader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as exc:
        raise ManifestError(folder, exc.field, exc.problem) from None
    except yaml.YAMLError as exc:
        raise ManifestError(folder, MANIFEST_NAME, f"not valid YAML ({exc})") from None


# ---------------------------------------------------------------- one manifest
def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_date(folder: Path, name: str, value: Any) -> dt.date:
    # fromisoformat alone also takes 20210405 or 2021-W14-1; the manifest format is YYYY-MM-DD only.
    if isinstance(value, str) and DATE_RE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ManifestError(folder, name, f"{_show(value)} is not a valid date YYYY-MM-DD (e.g. 2021-04-05)")


def load_manifest(folder: Path) -> Manifest:
    raw = _read(folder)
    data = _parse(folder, raw)
    if not isinstance(data, dict):
        raise ManifestError(folder, MANIFEST_NAME, "must be a mapping of keys to values")
    for key in REQUIRED:
        if data.get(key) in (None, ""):
            raise ManifestError(folder, key, "required field is missing or empty")
    for key in ("release_id", "agency", "request_id"):
        if not isinstance(data[key], str):
            raise ManifestError(folder, key, "must be a string")
    if not RELEASE_ID_RE.fullmatch(data["release_id"]):
        raise ManifestError(folder, "release_id", "use lower-case letters, digits, '.', '_' or '-'")
    if data["release_id"] != folder.name:
        raise ManifestError(folder, "release_id", f"{_show(data['release_id'])} must equal the folder name {folder.name!r}")
    released_on = data["released_on"] = _parse_date(folder, "released_on", data["released_on"])
    supersedes = data.get("supersedes", [])
    if supersedes is None:
        supersedes = []
    if not isinstance(supersedes, list) or not all(isinstance(s, str) for s in supersedes):
        raise ManifestError(folder, "supersedes", "must be a list of release ids")
    if data["release_id"] in supersedes:
        raise ManifestError(folder, "supersedes", "a release cannot supersede itself")
    data["supersedes"] = supersedes
    if "synthetic" in data and not isinstance(data["synthetic"], bool):
        raise ManifestError(folder, "synthetic", "must be true or false")
    for key in ("title", "requester", "notes"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise ManifestError(folder, key, "must be a string")
    return Manifest(
        folder=folder,
        release_id=data["release_id"],
        agency=data["agency"],
        request_id=data["request_id"],
        released_on=released_on,
        sha256=hashlib.sha256(raw).hexdigest(),
        data=data,
    )


# ---------------------------------------------------------------- across releases
def _reject_unknown_supersedes(manifests: list[Manifest], existing: set[str]) -> tuple[list[Manifest], list[ManifestError]]:
    """`supersedes` must name release folders that exist (a folder with a rejected manifest still exists)."""
    kept, errors = [], []
    for m in manifests:
        unknown = [s for s in m.data["supersedes"] if s not in existing]
        if unknown:
            names = ", ".join(_show(s) for s in unknown)
            errors.append(ManifestError(m.folder, "supersedes", f"{names}: no such release folder in "
                                                                f"{m.folder.parent}; list only existing release ids"))
        else:
            kept.append(m)
    return kept, errors


def _cycle_through(start: str, edges: dict[str, list[str]]) -> list[str] | None:
    """The shortest supersedes path start -> ... -> start, or None (breadth-first)."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in edges.get(node, []):
            if nxt == start:
                path = [node]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return None


def _reject_cycles(manifests: list[Manifest]) -> tuple[list[Manifest], list[ManifestError]]:
    """Releases that supersede each other have no order to apply them in: reject all of them."""
    edges = {m.release_id: m.data["supersedes"] for m in manifests}
    kept, errors = [], []
    for m in manifests:
        cycle = _cycle_through(m.release_id, edges)
        if cycle:
            errors.append(ManifestError(m.folder, "supersedes", f"releases supersede each other in a cycle "
                                                                f"({' -> '.join(cycle)}); remove one of these entries"))
        else:
            kept.append(m)
    return kept, errors


def scan_releases(raw_dir: Path) -> tuple[list[Manifest], list[ManifestError]]:
    """Every release folder under raw_dir: valid manifests (ordered by date, then id) and errors (by folder)."""
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw folder {raw_dir} does not exist (set FOIL_RAW_DIR or pass --raw)")
    folders = sorted(p for p in raw_dir.iterdir() if is_release_folder(p))
    good, bad = [], []
    for folder in folders:
        try:
            good.append(load_manifest(folder))
        except ManifestError as err:
            bad.append(err)
    good, unknown = _reject_unknown_supersedes(good, {f.name for f in folders})
    good, cyclic = _reject_cycles(good)
    good.sort(key=lambda m: (m.released_on, m.release_id))
    bad = sorted([*bad, *unknown, *cyclic], key=lambda e: e.folder.name)
    return good, bad
