"""Archives inside releases (zip, tar plain or compressed, 7z, a single gzip/bzip2/xz stream): safe,
bounded extraction of members to a scratch folder.

Members are read by the ordinary readers and cited as `<archive path>!/<member path>`. Anything that
could escape the scratch folder (absolute paths, `..`, symbolic and hard links, devices) or blow up
(bombs: huge totals or compression ratios, too many members) is refused with a reason instead of being
extracted; an encrypted archive is refused as a whole ("password required: ...").

One small interface for every format (`open_archive`):
- `plan()`: every file member, each extractable or carrying the reason it is refused (raises
  UnsafeArchive when the archive as a whole is refused, BadArchive when it cannot be read);
- `extract(member, dest)`: stream one member into dest, enforcing its declared size (sizes can lie);
- `extract_all(members, dest)`: every extractable member, in one pass where the format needs it (tar
  streams, solid 7z blocks); a member that fails gets its `refusal` set instead of a path.

`plan(zf)` / `extract(zf, member, dest)` are the zip functions the ingest used before (kept for callers).
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

MAX_MEMBERS = int(os.environ.get("FOIL_ZIP_MAX_MEMBERS", "100000"))
MAX_TOTAL_BYTES = int(os.environ.get("FOIL_ZIP_MAX_BYTES", str(8 << 30)))
MAX_RATIO = float(os.environ.get("FOIL_ZIP_MAX_RATIO", "200"))
SMALL_BYTES = 1 << 20  # a member this small is never refused for its ratio
SEPARATOR = "!/"
CHUNK = 1 << 20

SEVEN_Z_MAGIC = b"7z\xbc\xaf\x27\x1c"
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_TAR_NAMES = (".tar", ".tgz", ".tbz", ".tbz2", ".txz", ".tar.gz", ".tar.bz2", ".tar.xz")
_STREAM_SUFFIXES = {"gzip": (".gz", ".tgz"), "bzip2": (".bz2", ".tbz2", ".tbz"), "xz": (".xz", ".txz")}


class UnsafeArchive(Exception):
    """The archive as a whole is refused (the reason becomes its quarantine reason)."""


class BadArchive(Exception):
    """The archive (or a member) cannot be read: corrupt, truncated, unsupported; the message says why."""


@dataclass
class Member:
    name: str                 # normalised POSIX path inside the archive
    info: Any | None          # the format's own entry (ZipInfo, TarInfo, 7z file entry); None when refused
    refusal: str | None = None
    size: int = 0             # declared (uncompressed) size in bytes; 0 when unknown


# --------------------------------------------------------------------------------------------------
# Which archive a file is
# --------------------------------------------------------------------------------------------------

def archive_kind(path: Path, head: bytes | None = None) -> str | None:
    """'zip' (by name, as before), '7z', 'tar' (plain or compressed; by content or name), 'compressed'
    (gzip/bzip2/xz: a tar inside, or one compressed file), or None for anything else. `head`: the file's
    first bytes (at least 512) when the caller has read them already."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if head is None:
        try:
            with path.open("rb") as fh:
                head = fh.read(512)
        except OSError:
            return None
    if not head:
        return None
    if head.startswith(SEVEN_Z_MAGIC):
        return "7z"
    if head.startswith((b"\x1f\x8b", b"\xfd7zXZ\x00")) or re.match(rb"BZh[1-9]", head):
        return "compressed"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if name.endswith(_TAR_NAMES):
        return "tar"
    return None


def open_archive(path: Path, kind: str) -> "Archive":
    """The archive at path (kind from archive_kind). Raises BadArchive / UnsafeArchive."""
    if kind == "zip":
        return ZipArchive(path)
    if kind == "7z":
        return SevenZipArchive(path)
    if kind == "tar":
        return TarArchive(path)
    if kind == "compressed":
        codec = _codec_of(path)
        try:
            return TarArchive(path, codec)
        except BadArchive:
            return StreamArchive(path, codec)  # not a tar inside: one compressed file
    raise ValueError(f"unknown archive kind {kind!r}")


def _codec_of(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
    for magic, codec in _COMPRESSED:
        if head.startswith(magic):
            return codec
    raise BadArchive("no gzip, bzip2 or xz signature")


# --------------------------------------------------------------------------------------------------
# Shared checks
# --------------------------------------------------------------------------------------------------

def _escapes(raw: str) -> bool:
    return raw.startswith("/") or ".." in PurePosixPath(raw).parts or (len(raw) > 1 and raw[1] == ":")


def _check_count_and_total(kind: str, count: int, total: int) -> None:
    if count > MAX_MEMBERS:
        raise UnsafeArchive(f"{kind} has {count} members (limit {MAX_MEMBERS})")
    if total > MAX_TOTAL_BYTES:
        raise UnsafeArchive(f"{kind} expands to {total} bytes (limit {MAX_TOTAL_BYTES}); refused as a possible zip bomb")


def _ratio_refusal(size: int, packed: int) -> str | None:
    if packed and size > SMALL_BYTES and size / packed > MAX_RATIO:
        return (f"compression ratio {size / packed:.0f}:1 over the limit {MAX_RATIO:.0f}:1; "
                "refused as a possible zip bomb")
    return None


def _copy_bounded(src: BinaryIO, target: Path, limit: int, name: str, what: str = "its declared size") -> Path:
    """Copy src to target, at most `limit` bytes; on more, remove the partial file and refuse."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with target.open("wb") as out:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                written += len(chunk)
                if written > limit:
                    raise UnsafeArchive(f"member {name} expands beyond {what}; refused")
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


class Archive:
    """One archive: plan its members, extract them (see the module docstring)."""

    kind: str = ""
    label: str = ""           # for reasons: "unreadable <label>: ..."
    media_type: str = "application/octet-stream"

    def plan(self) -> list[Member]:  # pragma: no cover - interface
        raise NotImplementedError

    def extract(self, member: Member, dest: Path) -> Path:  # pragma: no cover - interface
        raise NotImplementedError

    def extract_all(self, members: list[Member], dest: Path) -> dict[str, Path]:
        """Extract every member without a refusal; a failing member gets its refusal set."""
        from .transient import is_transient

        out = {}
        for member in members:
            if member.refusal is not None:
                continue
            try:
                out[member.name] = self.extract(member, dest)
            except (UnsafeArchive, BadArchive, zipfile.BadZipFile, tarfile.TarError, OSError, EOFError,
                    zlib.error, lzma.LZMAError, ValueError, RuntimeError) as exc:
                if is_transient(exc):
                    raise
                member.refusal = str(exc) or f"member unreadable ({exc.__class__.__name__})"
        return out

    def close(self) -> None:
        pass

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------------------
# zip
# --------------------------------------------------------------------------------------------------

def plan(zf: zipfile.ZipFile) -> list[Member]:
    """Every file member of a zip, each either extractable or carrying the reason it is refused."""
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
        if _escapes(raw):
            members.append(Member(raw, None, "member path escapes the archive; refused", info.file_size))
        elif stat.S_ISLNK(mode):
            members.append(Member(raw, None, "symbolic link member; refused", info.file_size))
        elif info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > SMALL_BYTES:
            members.append(Member(raw, None, f"compression ratio {info.file_size / info.compress_size:.0f}:1 "
                                             f"over the limit {MAX_RATIO:.0f}:1; refused as a possible zip bomb",
                                  info.file_size))
        elif info.flag_bits & 0x1:
            members.append(Member(raw, None, "encrypted member; cannot be read without the password", info.file_size))
        else:
            members.append(Member(str(path), info, None, info.file_size))
    return members


def extract(zf: zipfile.ZipFile, member: Member, dest: Path) -> Path:
    """Stream one zip member to dest, enforcing its declared size (declared sizes can lie)."""
    with zf.open(member.info) as src:
        return _copy_bounded(src, dest / member.name, member.info.file_size, member.name)


class ZipArchive(Archive):
    kind, label, media_type = "zip", "zip", "application/zip"

    def __init__(self, path: Path):
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
            raise BadArchive(str(exc)) from exc

    def plan(self) -> list[Member]:
        return plan(self.zf)

    def extract(self, member: Member, dest: Path) -> Path:
        return extract(self.zf, member, dest)

    def close(self) -> None:
        self.zf.close()


# --------------------------------------------------------------------------------------------------
# tar (plain, gzip, bzip2, xz)
# --------------------------------------------------------------------------------------------------

_TAR_MEDIA = {None: "application/x-tar", "gzip": "application/gzip", "bzip2": "application/x-bzip2",
              "xz": "application/x-xz"}
_TAR_MODE = {"gzip": "r:gz", "bzip2": "r:bz2", "xz": "r:xz"}


class TarArchive(Archive):
    """A tar, plain or compressed. Members are listed in one forward pass (stopping at the count and
    size limits) and extracted in archive order, so a compressed stream is decompressed about twice, never
    seeked backwards per member. Links, devices, pipes, absolute and `..` paths are refused."""

    kind = "tar"

    def __init__(self, path: Path, codec: str | None = None):
        self.path, self.codec = path, codec
        self.label = "tar" if codec is None else f"tar ({codec})"
        self.media_type = _TAR_MEDIA[codec]
        self.packed = path.stat().st_size
        try:
            self.tf = tarfile.open(path, _TAR_MODE[codec] if codec else "r:*")
        except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise
            raise BadArchive(f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__) from exc

    def plan(self) -> list[Member]:
        members, total, count = [], 0, 0
        try:
            for info in self.tf:
                if info.isdir():
                    continue
                count += 1
                total += max(info.size, 0)
                _check_count_and_total(self.label, count, total)
                members.append(self._member(info))
        except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise
            if not members:
                raise BadArchive(f"{exc.__class__.__name__}: {exc}") from exc
            # a truncated or corrupt tail: what was listed is kept, the rest is one refused entry
            members.append(Member(f"(after {members[-1].name})", None,
                                  f"archive unreadable after this point ({exc.__class__.__name__}: {exc})"))
        return members

    def _member(self, info: tarfile.TarInfo) -> Member:
        raw = info.name.replace("\\", "/")
        size = max(info.size, 0)
        if _escapes(raw):
            return Member(raw, None, "member path escapes the archive; refused", size)
        if info.issym():
            return Member(raw, None, f"symbolic link member (-> {info.linkname}); refused", 0)
        if info.islnk():
            return Member(raw, None, f"hard link member (-> {info.linkname}); refused", 0)
        if info.ischr() or info.isblk():
            return Member(raw, None, "device member; refused", 0)
        if info.isfifo():
            return Member(raw, None, "named pipe member; refused", 0)
        if not info.isreg():
            return Member(raw, None, "not a regular file member; refused", 0)
        if self.codec is not None and (refusal := _ratio_refusal(size, self.packed)):
            # the member alone expands to over MAX_RATIO times the whole compressed archive
            return Member(raw, None, refusal, size)
        name = str(PurePosixPath(raw))
        if name in ("", "."):
            return Member(raw, None, "member without a name; refused", size)
        return Member(name, info, None, size)

    def extract(self, member: Member, dest: Path) -> Path:
        src = self.tf.extractfile(member.info)
        if src is None:
            raise BadArchive(f"member {member.name} has no data")
        with src:
            return _copy_bounded(src, dest / member.name, member.info.size, member.name)

    def close(self) -> None:
        self.tf.close()


# --------------------------------------------------------------------------------------------------
# One compressed file (gzip / bzip2 / xz without a tar inside)
# --------------------------------------------------------------------------------------------------

_OPENERS = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}


class StreamArchive(Archive):
    """`report.eml.gz`: one member, the decompressed file, named without the compression suffix. Its size
    is unknown until decompressed, so extraction stops (refused as a possible bomb) past MAX_RATIO times
    the compressed size (at least SMALL_BYTES) or MAX_TOTAL_BYTES."""

    kind = "stream"

    def __init__(self, path: Path, codec: str):
        self.path, self.codec = path, codec
        self.label = f"{codec} file"
        self.media_type = _TAR_MEDIA[codec]
        self.packed = path.stat().st_size

    def plan(self) -> list[Member]:
        name = self.path.name
        for suffix in _STREAM_SUFFIXES[self.codec]:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)] + (".tar" if suffix.startswith(".t") else "")
                break
        else:
            name = name + ".decompressed"
        return [Member(name, self.codec, None, 0)]

    def extract(self, member: Member, dest: Path) -> Path:
        limit = min(MAX_TOTAL_BYTES, max(SMALL_BYTES, int(self.packed * MAX_RATIO)))
        try:
            with _OPENERS[self.codec](self.path, "rb") as src:
                return _copy_bounded(src, dest / member.name, limit, member.name,
                                     f"{limit} bytes (ratio limit {MAX_RATIO:.0f}:1); a possible zip bomb")
        except (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile) as exc:
            raise BadArchive(f"unreadable {self.label}: {exc.__class__.__name__}: {exc}") from exc
        except OSError as exc:
            if exc.errno is not None:
                raise
            raise BadArchive(f"unreadable {self.label}: {exc}") from exc


# --------------------------------------------------------------------------------------------------
# 7z
# --------------------------------------------------------------------------------------------------

class SevenZipArchive(Archive):
    """7z via py7zr. Extraction goes through a writer that enforces each member's declared size; all
    members are decompressed in one pass (solid blocks would otherwise be decompressed once per member)."""

    kind, label, media_type = "7z", "7z archive", "application/x-7z-compressed"

    def __init__(self, path: Path):
        import py7zr

        self.path = path
        self.packed = path.stat().st_size
        try:
            self.sz = py7zr.SevenZipFile(path, "r")
        except py7zr.PasswordRequired as exc:
            raise UnsafeArchive("password required: 7z archive with encrypted headers; cannot be read") from exc
        except (py7zr.Bad7zFile, py7zr.exceptions.ArchiveError, EOFError, lzma.LZMAError, ValueError,
                KeyError, IndexError, TypeError) as exc:
            raise BadArchive(f"{exc.__class__.__name__}: {exc}") from exc
        except OSError as exc:
            if exc.errno is not None:
                raise
            raise BadArchive(f"{exc.__class__.__name__}: {exc}") from exc

    def plan(self) -> list[Member]:
        try:
            files = [f for f in self.sz.files if not f.is_directory]
            encrypted = self.sz.needs_password()
        except Exception as exc:  # noqa: BLE001 - py7zr raises many kinds on a broken header
            raise BadArchive(f"{exc.__class__.__name__}: {exc}") from exc
        if encrypted:
            raise UnsafeArchive(f"password required: encrypted 7z archive ({len(files)} members); cannot be read")
        total = sum(int(f.uncompressed or 0) for f in files)
        _check_count_and_total(self.label, len(files), total)
        members = []
        for f in files:
            raw = f.filename.replace("\\", "/")
            size = int(f.uncompressed or 0)
            if _escapes(raw):
                members.append(Member(raw, None, "member path escapes the archive; refused", size))
            elif f.is_symlink or getattr(f, "is_junction", False):
                members.append(Member(raw, None, "symbolic link member; refused", 0))
            elif getattr(f, "is_socket", False) or not _regular_7z(f):
                members.append(Member(raw, None, "not a regular file member; refused", 0))
            elif refusal := _ratio_refusal(size, int(f.compressed or 0) or self.packed):
                members.append(Member(raw, None, refusal, size))
            else:
                members.append(Member(str(PurePosixPath(raw)), f, None, size))
        return members

    def extract(self, member: Member, dest: Path) -> Path:
        return self.extract_all([member], dest)[member.name]

    def extract_all(self, members: list[Member], dest: Path) -> dict[str, Path]:
        import py7zr

        from .transient import is_transient

        wanted = {m.info.filename: m for m in members if m.refusal is None}
        if not wanted:
            return {}
        factory = _BoundedFactory(dest, wanted)
        try:
            self.sz.reset()
            self.sz.extract(targets=list(wanted), factory=factory)
        except Exception as exc:  # noqa: BLE001 - a CRC error, a lie in a size, an unsupported method
            if is_transient(exc):
                raise
            reason = str(exc) if isinstance(exc, UnsafeArchive) else (
                f"member unreadable: {exc.__class__.__name__}: {exc}")
            if isinstance(exc, py7zr.exceptions.PasswordRequired):
                reason = "password required: encrypted member; cannot be read"
            for writer in factory.writers.values():
                writer.close()
            for filename, member in wanted.items():
                writer = factory.writers.get(filename)
                if writer is None or not writer.done or writer.failed:
                    member.refusal = writer.failed if writer is not None and writer.failed else reason
                    (dest / member.name).unlink(missing_ok=True)
        out = {}
        for filename, member in wanted.items():
            writer = factory.writers.get(filename)
            if member.refusal is None and writer is None and member.size == 0:
                target = dest / member.name  # an empty file: py7zr may never ask for a writer
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
                out[member.name] = target
            elif member.refusal is None and writer is not None and not writer.failed:
                writer.close()
                out[member.name] = dest / member.name
            elif member.refusal is None:
                member.refusal = writer.failed if writer is not None and writer.failed else "member not extracted"
        return out

    def close(self) -> None:
        self.sz.close()


def _regular_7z(f) -> bool:
    mode = f.posix_mode if hasattr(f, "posix_mode") else None
    return mode is None or stat.S_IFMT(mode) in (0, stat.S_IFREG)


def _bounded_writer_class():
    from py7zr.io import Py7zIO

    class BoundedWriter(Py7zIO):
        """Writes one 7z member to its file, refusing bytes beyond the declared size."""

        def __init__(self, target: Path, limit: int, name: str):
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fh = target.open("wb")
            self.target, self.limit, self.name = target, limit, name
            self.written, self.failed, self.done = 0, None, False

        def write(self, s) -> int:
            if self.failed:
                return len(s)
            self.written += len(s)
            if self.written > self.limit:
                self.failed = f"member {self.name} expands beyond its declared size; refused"
                self.fh.close()
                self.target.unlink(missing_ok=True)
                return len(s)
            return self.fh.write(s)

        def read(self, size=None) -> bytes:
            return b""

        def seek(self, offset, whence=0) -> int:
            return 0

        def flush(self) -> None:
            if not self.fh.closed:
                self.fh.flush()

        def size(self) -> int:
            return self.written

        def close(self) -> None:
            if not self.fh.closed:
                self.fh.close()
            self.done = True

    return BoundedWriter


class _BoundedFactory:
    def __init__(self, dest: Path, wanted: dict[str, Member]):
        self.dest, self.wanted, self.writers = dest, wanted, {}
        self._writer = _bounded_writer_class()

    def create(self, filename: str):
        member = self.wanted.get(filename) or self.wanted.get(filename.lstrip("/"))
        if member is None:  # py7zr names the output path; match it back to the member
            member = next((m for k, m in self.wanted.items() if filename.endswith("/" + k) or filename == k), None)
        if member is None:
            raise UnsafeArchive(f"unexpected member {filename!r} from the 7z decoder; refused")
        writer = self._writer(self.dest / member.name, member.size, member.name)
        self.writers[member.info.filename] = writer
        return writer
