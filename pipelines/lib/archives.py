"""Zip archives inside releases: safe, bounded extraction of members to a scratch folder.

Members are read by the ordinary readers and cited as `<archive path>!/<member path>`. Anything that
could escape the scratch folder (absolute paths, `..`, symlinks) or blow up (zip bombs: huge totals or
compression ratios, too many members) is refused with a reason instead of being extracted.
"""
from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_MEMBERS = int(os.environ.get("FOIL_ZIP_MAX_MEMBERS", "100000"))
MAX_TOTAL_BYTES = int(os.environ.get("FOIL_ZIP_MAX_BYTES", str(8 << 30)))
MAX_RATIO = float(os.environ.get("FOIL_ZIP_MAX_RATIO", "200"))
SEPARATOR = "!/"


class UnsafeArchive(Exception):
    """The archive as a whole is refused (the reason becomes its quarantine reason)."""


@dataclass
class Member:
    name: str                 # normalised POSIX path inside the archive
    info: zipfile.ZipInfo | None
    refusal: str | None = None


def plan(zf: zipfile.ZipFile) -> list[Member]:
    """Every file member, each either extractable or carrying the reason it is refused."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise UnsafeArchive(f"zip has {len(infos)} members (limit {MAX_MEMBERS})")
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise UnsafeArchive(f"zip expands to {total} bytes (limit {MAX_TOTAL_BYTES}); refused as a possible zip bomb")
    members = []
    for info in infos:
        raw = info.filename.replace("\\", "/")
        path = PurePosixPath(raw)
        mode = info.external_attr >> 16
        if raw.startswith("/") or ".." in path.parts or (len(raw) > 1 and raw[1] == ":"):
            members.append(Member(raw, None, "member path escapes the archive; refused"))
        elif stat.S_ISLNK(mode):
            members.append(Member(raw, None, "symbolic link member; refused"))
        elif info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > (1 << 20):
            members.append(Member(raw, None, f"compression ratio {info.file_size / info.compress_size:.0f}:1 "
                                             f"over the limit {MAX_RATIO:.0f}:1; refused as a possible zip bomb"))
        elif info.flag_bits & 0x1:
            members.append(Member(raw, None, "encrypted member; cannot be read without the password"))
        else:
            members.append(Member(str(path), info))
    return members


def extract(zf: zipfile.ZipFile, member: Member, dest: Path) -> Path:
    """Stream one member to dest, enforcing its declared size (declared sizes can lie)."""
    target = dest / member.name
    target.parent.mkdir(parents=True, exist_ok=True)
    limit, written = member.info.file_size, 0
    with zf.open(member.info) as src, target.open("wb") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            written += len(chunk)
            if written > limit:
                raise UnsafeArchive(f"member {member.name} expands beyond its declared size; refused")
            out.write(chunk)
    return target
