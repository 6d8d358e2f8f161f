"""The listing of a release folder and reading its files: nothing outside the release is ever read."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pipelines.lib import release_files as rf
from pipelines.lib.release_files import (Entry, RegularFiles, UnsafeFile, current_read_root, entry_fingerprint,
                                         entry_sha256, list_entries, open_regular, read_root, release_files, root_for,
                                         sha256_of)

from .conftest import write_release

SECRET = b"outside secret: must never be read"


def old_release_files(folder: Path) -> list[Path]:
    """The listing before issue #14 (rglob + is_file), for the order and the regular-file semantics."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() != "release.yaml"
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    return folder


@pytest.fixture
def release(raw: Path, outside: Path) -> Path:
    folder = write_release(raw, "rel-links", files={
        "a.txt": b"a", "a-b.txt": b"dash", "sub/b.txt": b"b", "sub/deeper/c.txt": b"c", "Z.txt": b"upper",
        ".hidden.txt": b"h", ".git/config": b"g", "sub/.DS_Store": b"d", "sub/.cache/x.txt": b"x",
    })
    os.symlink("/etc/passwd", folder / "passwd")
    os.symlink(outside / "secret.txt", folder / "sub" / "secret-link.txt")
    os.symlink("sub/b.txt", folder / "inner-link.txt")
    os.symlink(outside, folder / "linked-dir")
    os.symlink("/etc", folder / "sub" / "etc")
    os.symlink("no-such-file", folder / "dangling.txt")
    os.symlink("loop-b", folder / "loop-a")
    os.symlink("loop-a", folder / "loop-b")
    os.symlink("self", folder / "self")
    os.mkfifo(folder / "sub" / "pipe")
    return folder


def by_rel(entries: list[Entry]) -> dict[str, Entry]:
    return {e.rel: e for e in entries}


def test_entries_cover_every_name_without_following_links(release: Path, outside: Path):
    entries = list_entries(release)
    got = by_rel(entries)
    assert {rel: e.kind for rel, e in got.items()} == {
        "Z.txt": "file", "a-b.txt": "file", "a.txt": "file", "sub/b.txt": "file", "sub/deeper/c.txt": "file",
        "passwd": "symlink", "sub/secret-link.txt": "symlink", "inner-link.txt": "symlink",
        "linked-dir": "symlink", "sub/etc": "symlink", "dangling.txt": "symlink", "loop-a": "symlink",
        "loop-b": "symlink", "self": "symlink", "sub/pipe": "fifo",
    }
    # nothing below a linked folder is listed; manifest and hidden names are left out
    assert not any(rel.startswith(("linked-dir/", "sub/etc/")) for rel in got)
    assert [e.rel for e in entries] == sorted(got, key=lambda rel: tuple(rel.split("/")))
    for entry in entries:
        assert entry.path == release / entry.rel
        assert (entry.reason is None) == (entry.kind == "file")
        assert entry.is_file == (entry.kind == "file")

    assert got["passwd"].reason == ("symbolic link (-> /etc/passwd): not read; copy the file into the release "
                                    "folder if it belongs to the production")
    assert got["passwd"].target == "/etc/passwd"
    assert got["sub/secret-link.txt"].reason.startswith(f"symbolic link (-> {outside / 'secret.txt'}): not read")
    assert got["inner-link.txt"].reason == "symbolic link (-> sub/b.txt): not read; the file it points to is read as sub/b.txt"
    assert got["linked-dir"].reason.startswith(f"symbolic link to a folder (-> {outside}): not read")
    assert got["sub/etc"].reason.startswith("symbolic link to a folder (-> /etc)")
    assert got["dangling.txt"].reason == "symbolic link (-> no-such-file): points to nothing (dangling link), not read"
    assert got["loop-a"].reason == "symbolic link (-> loop-b): a link loop, not read"
    assert got["self"].reason == "symbolic link (-> self): a link loop, not read"
    assert got["sub/pipe"].reason == "not a regular file (named pipe): not read"


def test_release_files_are_the_regular_files_in_the_old_order(raw: Path, release: Path):
    assert release_files(release) == [
        release / "Z.txt", release / "a-b.txt", release / "a.txt", release / "sub/b.txt", release / "sub/deeper/c.txt"]
    assert set(old_release_files(release)) - set(release_files(release)) == {
        release / "passwd", release / "sub/secret-link.txt", release / "inner-link.txt"}  # what the old one followed
    # without links: the same list in the same order (by path parts: "sub/b.txt" before "sub-x.txt")
    plain = write_release(raw, "rel-plain", files={"sub-x.txt": b"s", "sub/b.txt": b"b", "a.txt": b"a",
                                                   "B/c.txt": b"c", ".h/x": b"h", "sub/release.yaml": b"r"})
    assert release_files(plain) == old_release_files(plain)
    assert [p.relative_to(plain).as_posix() for p in release_files(plain)] == [
        "B/c.txt", "a.txt", "sub/b.txt", "sub/release.yaml", "sub-x.txt"]


def test_a_release_folder_that_is_itself_a_link_is_listed_through_its_name(release: Path, tmp_path: Path):
    alias = tmp_path / "raw-elsewhere"
    alias.symlink_to(release.parent)
    folder = alias / release.name
    entries = list_entries(folder)
    assert [e.rel for e in entries] == [e.rel for e in list_entries(release)]
    assert all(e.path == folder / e.rel for e in entries)
    assert sha256_of(folder / "sub/b.txt", folder) == hashlib.sha256(b"b").hexdigest()
    assert sha256_of(release / "sub/b.txt", folder) == hashlib.sha256(b"b").hexdigest()


def test_a_folder_that_cannot_be_listed_is_an_entry(raw: Path, monkeypatch):
    folder = write_release(raw, "rel-locked", files={"open.txt": b"o", "locked/x.txt": b"x"})
    real_scandir = os.scandir

    def scandir(path):
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(rf.os, "scandir", scandir)
    got = by_rel(list_entries(folder))
    assert got["open.txt"].kind == "file" and "locked/x.txt" not in got
    assert got["locked"].kind == "other"
    assert got["locked"].reason == "folder could not be listed (Permission denied): its files were not read"
    assert entry_fingerprint(got["locked"]).startswith("other:")


def test_open_regular_reads_regular_files_only(release: Path, outside: Path):
    with open_regular(release / "sub/deeper/c.txt", release) as fh:
        assert fh.read() == b"c"
    assert sha256_of(release / "a.txt", release) == hashlib.sha256(b"a").hexdigest()
    for rel in ("passwd", "sub/secret-link.txt", "inner-link.txt", "dangling.txt", "loop-a", "self"):
        with pytest.raises(UnsafeFile, match="symbolic link"):
            open_regular(release / rel, release)
    with pytest.raises(UnsafeFile, match="symbolic link"):      # a linked folder on the way
        open_regular(release / "linked-dir" / "secret.txt", release)
    with pytest.raises(UnsafeFile, match="symbolic link"):
        open_regular(release / "sub" / "etc" / "hostname", release)
    with pytest.raises(UnsafeFile, match="named pipe"):         # refused before opening: never blocks
        open_regular(release / "sub" / "pipe", release)
    with pytest.raises(UnsafeFile, match="outside"):
        open_regular(outside / "secret.txt", release)
    with pytest.raises(UnsafeFile, match="outside"):
        open_regular(release / ".." / ".." / "outside" / "secret.txt", release)
    with pytest.raises(FileNotFoundError):
        open_regular(release / "sub" / "missing.txt", release)
    assert issubclass(UnsafeFile, OSError) and UnsafeFile("x").errno is None  # not a transient failure


def test_regular_files_opens_many_files_with_open_regulars_checks(release: Path, outside: Path):
    """One RegularFiles for a whole listing (how the ingest reads a release) answers as open_regular does
    for every entry, keeps at most one folder open, and leaves none open when closed."""
    fds_before = len(os.listdir("/proc/self/fd"))
    with RegularFiles(release) as files:
        for entry in list_entries(release):
            try:
                expected = ("ok", sha256_of(entry.path, release))
            except (OSError, UnsafeFile) as exc:
                expected = (type(exc).__name__, str(exc))
            try:
                got = ("ok", files.sha256(entry.path))
            except (OSError, UnsafeFile) as exc:
                got = (type(exc).__name__, str(exc))
            assert got == expected, entry.rel
            assert len(os.listdir("/proc/self/fd")) <= fds_before + 1
        assert files.sha256(release / "sub/deeper/c.txt") == hashlib.sha256(b"c").hexdigest()
        with pytest.raises(UnsafeFile, match="outside"):
            files.open(outside / "secret.txt")
    assert len(os.listdir("/proc/self/fd")) == fds_before


def test_a_folder_swapped_for_a_link_while_open_is_never_followed(release: Path, outside: Path):
    """The folder kept open is the one that was checked: after its name is swapped for a link to a folder
    outside, files are still read from the folder itself (or not found), never through the link; a
    folder walked anew through the link is refused."""
    (outside / "b.txt").write_bytes(SECRET)
    with RegularFiles(release) as files:
        assert files.open(release / "sub/b.txt").read() == b"b"
        (release / "sub").rename(release / "sub-moved")
        (release / "sub").symlink_to(outside)
        assert files.open(release / "sub/b.txt").read() == b"b"  # the checked folder, not the link's target
        assert files.open(release / "a.txt").read() == b"a"  # another folder: walked again from the root
        with pytest.raises(UnsafeFile, match="symbolic link"):
            files.open(release / "sub/b.txt")


def test_a_link_swapped_in_after_the_listing_is_refused(release: Path, outside: Path):
    entries = by_rel(list_entries(release))
    target = entries["sub/deeper/c.txt"]
    assert target.kind == "file"
    target.path.unlink()
    target.path.symlink_to(outside / "secret.txt")
    with pytest.raises(UnsafeFile, match="symbolic link"):
        sha256_of(target.path, release)
    with pytest.raises(UnsafeFile):
        entry_sha256(target, release)
    # a folder on the way swapped for a link to the outside
    moved = release / "sub" / "deeper-moved"
    (release / "sub" / "deeper").rename(moved)
    (release / "sub" / "deeper").symlink_to(outside)
    (outside / "c.txt").write_bytes(SECRET)
    with pytest.raises(UnsafeFile, match="symbolic link"):
        open_regular(release / "sub" / "deeper" / "c.txt", release)


def test_fingerprints_of_entries_that_are_not_read(release: Path):
    got = by_rel(list_entries(release))
    assert entry_fingerprint(got["passwd"]) == "link:/etc/passwd"
    assert entry_fingerprint(got["dangling.txt"]) == "link:no-such-file"
    assert entry_fingerprint(got["sub/pipe"]) == "fifo:"
    assert entry_sha256(got["passwd"], release) == hashlib.sha256(b"link:/etc/passwd").hexdigest()
    assert entry_sha256(got["a.txt"], release) == hashlib.sha256(b"a").hexdigest()
    (release / "passwd").unlink()
    (release / "passwd").symlink_to("/etc/shadow")
    changed = by_rel(list_entries(release))["passwd"]
    assert entry_sha256(changed, release) != entry_sha256(got["passwd"], release)
    assert "/etc/shadow" in changed.reason


def test_read_root_nests_and_root_for_never_widens(tmp_path: Path, raw: Path):
    folder = write_release(raw, "rel-root", files={"VOL001/DATA/x.dat": b"x"})
    dat = folder / "VOL001" / "DATA" / "x.dat"
    assert current_read_root() is None
    assert root_for(dat) == folder.resolve()                 # the manifest's folder
    loose = tmp_path / "loose" / "x.dat"
    loose.parent.mkdir()
    loose.write_bytes(b"x")
    assert root_for(loose) == loose.parent.resolve()         # no manifest: its own folder, not the parent
    scratch = tmp_path / "scratch" / f"{rf.SCRATCH_PREFIX}abc"
    (scratch / "VOL001" / "DATA").mkdir(parents=True)
    member = scratch / "VOL001" / "DATA" / "x.dat"
    member.write_bytes(b"x")
    assert root_for(member) == scratch.resolve()             # a zip's extraction folder
    with read_root(folder) as outer:
        assert outer == folder.resolve() == current_read_root() == root_for(dat)
        assert root_for(member) == scratch.resolve()         # not inside the read root: never widened to it
        with read_root(scratch / "VOL001"):
            assert root_for(member) == (scratch / "VOL001").resolve()
        assert current_read_root() == folder.resolve()
    assert current_read_root() is None
