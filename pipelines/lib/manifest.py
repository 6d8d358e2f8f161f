"""Release manifests (`raw/<release_id>/release.yaml`): parsing and validation.

Errors name the folder and the field so whoever prepared the release knows what to fix; a bad
manifest rejects only its own release.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MANIFEST_NAME = "release.yaml"
RELEASE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
REQUIRED = ("release_id", "agency", "request_id", "released_on")


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


def load_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(folder, MANIFEST_NAME, "missing manifest")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ManifestError(folder, MANIFEST_NAME, f"not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ManifestError(folder, MANIFEST_NAME, "must be a mapping of keys to values")
    for key in REQUIRED:
        if data.get(key) in (None, ""):
            raise ManifestError(folder, key, "required field is missing or empty")
    for key in ("release_id", "agency", "request_id"):
        if not isinstance(data[key], str):
            raise ManifestError(folder, key, "must be a string")
    if not RELEASE_ID_RE.match(data["release_id"]):
        raise ManifestError(folder, "release_id", "use lower-case letters, digits, '.', '_' or '-'")
    if data["release_id"] != folder.name:
        raise ManifestError(folder, "release_id", f"{data['release_id']!r} must equal the folder name {folder.name!r}")
    released_on = data["released_on"]
    if isinstance(released_on, dt.datetime) or not isinstance(released_on, (dt.date, str)):
        raise ManifestError(folder, "released_on", "must be a date YYYY-MM-DD")
    if isinstance(released_on, str):
        try:
            released_on = dt.date.fromisoformat(released_on)
        except ValueError:
            raise ManifestError(folder, "released_on", f"{data['released_on']!r} is not a date YYYY-MM-DD") from None
    data["released_on"] = released_on
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


def scan_releases(raw_dir: Path) -> tuple[list[Manifest], list[ManifestError]]:
    """Every release folder under raw_dir: valid manifests (ordered by date, then id) and errors."""
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw folder {raw_dir} does not exist (set FOIL_RAW_DIR or pass --raw)")
    good, bad = [], []
    for folder in sorted(p for p in raw_dir.iterdir() if is_release_folder(p)):
        try:
            good.append(load_manifest(folder))
        except ManifestError as err:
            bad.append(err)
    good.sort(key=lambda m: (m.released_on, m.release_id))
    return good, bad
