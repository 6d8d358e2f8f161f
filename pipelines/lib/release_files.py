"""The files of a release folder, and reading them without ever leaving it.

A release reads nothing outside itself. The listing never follows a symbolic link (a link to a file or a
folder, a dangling link or a link loop is one `symlink` entry), and named pipes, sockets and devices are
entries too: every name in the folder ends as a document or a quarantine row with a reason, never
silently skipped. Regular files are opened with `open_regular`, which refuses anything that is not a
regular file reached without a symbolic link below the root, so a link swapped in after the listing is
refused as well.

Load files (Concordance DAT) resolve the paths they reference against a *read root*: the release folder
for files on disk, the archive's own extraction folder for members of a zip. The ingest says which with
`read_root(...)`; readers ask `current_read_root()`.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

MANIFEST_NAME = "release.yaml"  # = manifest.MANIFEST_NAME (not imported: readers import this module)

KINDS = ("file", "symlink", "fifo", "socket", "device", "other")
COPY_HINT = "copy the file into the release folder if it belongs to the production"


class UnsafeFile(OSError):
    """A path that must not be read: a symbolic link, not a regular file, or outside the root.

    The message is a quarantine reason users understand. An OSError without an errno, so callers that
    treat OSError as "unreadable" keep doing so and `transient.is_transient` never takes it for a
    machine failure."""


@dataclass(frozen=True)
class Entry:
    rel: str              # POSIX path relative to the release folder
    path: Path            # the folder as given / rel (never resolved through a link)
    kind: str             # 'file' | 'symlink' | 'fifo' | 'socket' | 'device' | 'other'
    reason: str | None = None   # None for regular files; else why it is not read (the quarantine reason)
    target: str | None = None   # a symbolic link's target text, as stored in the link
    size: int = 0               # bytes of a regular file when listed (how the ingest shares out the work)

    @property
    def is_file(self) -> bool:
        return self.kind == "file"


# --------------------------------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------------------------------

def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _symlink_entry(rel: str, path: Path, full: str, root: str) -> Entry:
    try:
        target = os.readlink(full)
    except OSError:
        target = "?"
    shown = f"symbolic link (-> {target})"
    try:
        st = os.stat(full)  # follows the link (stat never opens: safe for a pipe or a device)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Entry(rel, path, "symlink", f"{shown}: a link loop, not read", target)
        return Entry(rel, path, "symlink", f"{shown}: points to nothing (dangling link), not read", target)
    if stat.S_ISDIR(st.st_mode):
        return Entry(rel, path, "symlink", f"symbolic link to a folder (-> {target}): not read; copy the files "
                                           "into the release folder if they belong to the production", target)
    real = os.path.realpath(full)
    if _inside(real, root) and stat.S_ISREG(st.st_mode):
        inner = os.path.relpath(real, root).replace(os.sep, "/")
        if not any(part.startswith(".") for part in inner.split("/")) and inner != MANIFEST_NAME:
            return Entry(rel, path, "symlink", f"{shown}: not read; the file it points to is read as {inner}", target)
    return Entry(rel, path, "symlink", f"{shown}: not read; {COPY_HINT}", target)


def _kind_of(mode: int) -> tuple[str, str | None]:
    if stat.S_ISREG(mode):
        return "file", None
    if stat.S_ISFIFO(mode):
        return "fifo", "not a regular file (named pipe): not read"
    if stat.S_ISSOCK(mode):
        return "socket", "not a regular file (socket): not read"
    if stat.S_ISCHR(mode):
        return "device", "not a regular file (character device): not read"
    if stat.S_ISBLK(mode):
        return "device", "not a regular file (block device): not read"
    return "other", "not a regular file: not read"


def list_entries(folder: Path) -> list[Entry]:
    """Every name below the release folder, sorted by rel, without following any symbolic link.

    The release folder itself is resolved first (it may be a link, e.g. raw/ on another disk). The
    manifest (`release.yaml` at the top) and hidden names (any part starting with '.') are left out. A
    sub-folder that cannot be listed is one 'other' entry, so its files are not lost silently."""
    folder = Path(folder)
    root = os.path.realpath(folder)
    entries: list[Entry] = []
    stack = [""]
    while stack:
        prefix = stack.pop()
        here = os.path.join(root, *prefix.split("/")) if prefix else root
        try:
            with os.scandir(here) as it:
                items = list(it)
        except OSError as exc:
            if not prefix:
                raise
            reason = f"folder could not be listed ({exc.strerror or exc.__class__.__name__}): its files were not read"
            entries.append(Entry(prefix, folder / prefix, "other", reason))
            continue
        for item in items:
            if item.name.startswith("."):
                continue
            rel = f"{prefix}/{item.name}" if prefix else item.name
            if rel == MANIFEST_NAME:
                continue
            path = folder / rel
            try:
                st = item.stat(follow_symlinks=False)
            except OSError as exc:  # vanished or unreadable between scandir and lstat
                entries.append(Entry(rel, path, "other", f"could not be examined ({exc.strerror or exc}): not read"))
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(rel)
            elif stat.S_ISLNK(st.st_mode):
                entries.append(_symlink_entry(rel, path, item.path, root))
            else:
                kind, reason = _kind_of(st.st_mode)
                entries.append(Entry(rel, path, kind, reason, size=st.st_size if kind == "file" else 0))
    # the order of sorted(Path) over the old rglob listing: by path parts
    entries.sort(key=lambda e: tuple(e.rel.split("/")))
    return entries


def release_files(folder: Path) -> list[Path]:
    """The regular files of the release (manifest and hidden names excluded), as folder / rel."""
    return [e.path for e in list_entries(folder) if e.kind == "file"]


# --------------------------------------------------------------------------------------------------
# Opening without leaving the root
# --------------------------------------------------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)


class RegularFiles:
    """Opens regular files inside one root, as `open_regular` does, for many files in a row: the root is
    resolved once, and the folder of the last file opened is kept open, so the files of one folder (how a
    listing comes) cost one open each rather than a walk from the root each.

    Every folder below the (resolved) root is opened with O_NOFOLLOW relative to its parent, and the file
    itself is checked, then opened with O_NOFOLLOW relative to its folder, so a link swapped in anywhere
    below the root is refused, not followed. A folder kept open stays the folder that was checked: if its
    name is later swapped for a link, files are still read from the folder itself, never through the link.
    Use as a context manager (or call `close`)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.real_root = os.path.realpath(root)
        self._bases = (os.path.abspath(root), self.real_root)
        self._folder: tuple[tuple[str, ...], int] | None = None  # (parts below the root, descriptor)

    def __enter__(self) -> RegularFiles:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._folder is not None:
            os.close(self._folder[1])
            self._folder = None

    def parts(self, path: Path) -> list[str]:
        """The components of path below the root, found lexically (no link below the root is resolved):
        path may be spelled through the root as given or through the resolved root."""
        absolute = os.path.abspath(path)
        for base in self._bases:
            if _inside(absolute, base) and absolute != base:
                return absolute[len(base.rstrip(os.sep)) + 1:].split(os.sep)
        raise UnsafeFile(f"{path}: outside the release folder ({self.real_root}); not read")

    def open(self, path: Path) -> BinaryIO:
        """path opened for reading in binary mode, if it is a regular file inside the root reached without
        a symbolic link. Raises UnsafeFile (a link, not a regular file, outside the root);
        FileNotFoundError if it does not exist."""
        parts = self.parts(path)
        if any(p in ("", ".", "..") for p in parts):
            raise UnsafeFile(f"{path}: path with '..' or an empty part; not read")
        folder, name = self._open_folder(parts[:-1]), parts[-1]
        shown = "/".join(parts)
        try:  # refuse a pipe or a device before opening it (opening one can block or act)
            mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", shown) from None
        if stat.S_ISLNK(mode):
            raise UnsafeFile(f"{shown}: symbolic link; not read")
        if not stat.S_ISREG(mode):
            raise UnsafeFile(f"{shown}: {_not_regular(mode)}; not read")
        fd = _open_below(folder, name, _FILE_FLAGS, shown)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UnsafeFile(f"{shown}: {_not_regular(st.st_mode)}; not read")
            # (No second check by name: every component was opened with O_NOFOLLOW from the resolved
            # root's descriptor, so the descriptor is a regular file inside the root whatever the name
            # points to now.)
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def sha256(self, path: Path) -> str:
        """SHA-256 of a regular file inside the root (`open`'s checks)."""
        with self.open(path) as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()

    def _open_folder(self, parts: list[str]) -> int:
        """A descriptor of the folder below the root at parts (kept until the next folder is asked for)."""
        key = tuple(parts)
        if self._folder is not None and self._folder[0] == key:
            return self._folder[1]
        fd = os.open(self.real_root, _DIR_FLAGS)
        try:
            for i, part in enumerate(parts):
                new = _open_below(fd, part, _DIR_FLAGS, "/".join(parts[:i + 1]))
                os.close(fd)
                fd = new
        except BaseException:
            os.close(fd)
            raise
        self.close()
        self._folder = (key, fd)
        return fd


def _open_below(dir_fd: int, name: str, flags: int, shown: str) -> int:
    """os.open of one component relative to its folder, its errors told as what they mean here."""
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and _is_link(dir_fd, name)):
            raise UnsafeFile(f"{shown}: symbolic link; not read") from exc
        if exc.errno == errno.ENOTDIR:
            raise NotADirectoryError(exc.errno, exc.strerror, shown) from None
        if exc.errno == errno.ENXIO:  # a socket
            raise UnsafeFile(f"{shown}: not a regular file (socket); not read") from exc
        raise


def _not_regular(mode: int) -> str:
    return (_kind_of(mode)[1] or "not a regular file: not read").replace(": not read", "")


def open_regular(path: Path, root: Path) -> BinaryIO:
    """Open path for reading in binary mode, only if it is a regular file inside root reached without a
    symbolic link (RegularFiles.open, for one file). Raises UnsafeFile (a link, not a regular file,
    outside root); FileNotFoundError if it does not exist."""
    with RegularFiles(root) as files:
        return files.open(path)


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def sha256_of(path: Path, root: Path) -> str:
    """SHA-256 of a regular file inside root (open_regular's checks; raises UnsafeFile otherwise)."""
    with RegularFiles(root) as files:
        return files.sha256(path)


def entry_fingerprint(entry: Entry) -> str:
    """What identifies a non-regular entry for change detection: `link:<target>`, `fifo:`, `socket:`,
    `device:`, `other:<reason>`. (A regular file is identified by its content: sha256_of.)"""
    if entry.kind == "symlink":
        return f"link:{entry.target}"
    if entry.kind == "other":
        return f"other:{entry.reason}"
    return f"{entry.kind}:"


def entry_sha256(entry: Entry, root: Path | RegularFiles) -> str:
    """A file's content hash; for any other entry the hash of its fingerprint text (so a link whose
    target changes, or a pipe replaced by a file, shows as a change). `root`: the release folder, or
    the RegularFiles open on it."""
    if entry.kind == "file":
        return root.sha256(entry.path) if isinstance(root, RegularFiles) else sha256_of(entry.path, root)
    return hashlib.sha256(entry_fingerprint(entry).encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# The read root: where load files may resolve the paths they reference
# --------------------------------------------------------------------------------------------------

SCRATCH_PREFIX = "foil-zip-"  # the ingest's extraction folders (tempfile prefix in ingest._ingest_zip)
_READ_ROOT: ContextVar[Path | None] = ContextVar("foil_read_root", default=None)


@contextlib.contextmanager
def read_root(root: Path) -> Iterator[Path]:
    """Within the block, load files resolve referenced paths only inside root (resolved here). Nest it:
    the release folder around a release's files, the extraction folder around a zip's members."""
    resolved = Path(os.path.realpath(root))
    token = _READ_ROOT.set(resolved)
    try:
        yield resolved
    finally:
        _READ_ROOT.reset(token)


def current_read_root() -> Path | None:
    return _READ_ROOT.get()


def root_for(path: Path) -> Path:
    """The read root of a file: the current read root if the file is inside it; else the nearest folder
    above it that is a zip extraction folder or holds a release manifest; else the file's own folder.
    Never a folder wider than those (the old fallback, the file folder's parent, was the system
    temporary folder for a zip member)."""
    folder = Path(os.path.realpath(Path(path).parent))
    given = current_read_root()
    if given is not None and _inside(str(folder), str(given)):
        return given
    for candidate in (folder, *folder.parents):
        if candidate.name.startswith(SCRATCH_PREFIX) or (candidate / MANIFEST_NAME).is_file():
            return candidate
    return folder
