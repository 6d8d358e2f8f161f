"""Ingest releases into the event log: every file ends as a document or a quarantine row.

Outcomes are committed per whole file, in groups of files (one event-log segment write per group,
`_Writer`): a file's events and its outcome (`file_observed` or `file_quarantined`) land together or not at all, a
kill loses at most the current group, and the next build resumes after the last committed file.
Small files of a large release are read by the workers of a Dask cluster (lib/cluster.py), a group of
files per task, in order (`_read_chunk`); the files' bytes travel with the task to workers that do not
share this machine's folder. The build process alone writes.
Archives, files read with OCR, load files (they read the files they cite), large files and any file a
worker could not finish are read by the build process itself, so the events are the same either way. A
release is complete only once `release_ingested` follows all its outcomes; until then it is resumed,
never refused as changed. A reader that fails on the content quarantines that file alone; a transient
failure (interrupt, full disk, memory, I/O) fails the step with the real error and records nothing
about the file (`transient.is_transient`). Releases are immutable: if a file of an already-ingested
release changed, the release is refused.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import pyarrow as pa

from pipelines.readers import (EMPTY, READERS, FileStats, Sniffed, UnreadableFile, file_type_facts, identify, ocr,
                               read_head, sniff)
from pipelines.readers.base import content
from pipelines.readers.sniff import HEAD_BYTES, TYPES

from . import archives, duck, event_log
from . import cluster as dask_cluster
from .manifest import MANIFEST_NAME, Manifest, scan_releases
from .memory import release_freed_memory
from .release_files import (SCRATCH_PREFIX, Entry, RegularFiles, UnsafeFile, entry_sha256, list_entries, read_root,
                            sha256_of)
from .transient import is_transient

# 2: releases end with release_ingested (an ingest-1 release has no such marker and counts as complete)
INGEST_PARSER, INGEST_VERSION = "ingest", "2"
ZIP_PARSER, ZIP_VERSION = "zip", "2"  # 2: members resolve load-file paths among themselves
MAX_ZIP_DEPTH = 3  # archives inside archives (any format), at most this deep
# parser name and version of each archive format's own outcome (file_observed / file_quarantined)
ZIP_PARSERS = {"zip": (ZIP_PARSER, ZIP_VERSION), "tar": ("tar", "1"), "7z": ("7z", "1"), "stream": ("decompress", "1")}
COMMIT_ROWS = 100_000  # events per transaction within one large file (bounds ingest memory)
# A group of small files is committed once it holds this many events or files, or this much time of work:
# few commits for a release of 100,000 small files, and a kill loses seconds of work, not the release.
GROUP_ROWS, GROUP_FILES, GROUP_SECONDS = 20_000, 5_000, 5.0
FILE_BUFFER_ROWS = 10_000  # a file with more events is written as it is read, in its own transactions
# Workers read files of up to SMALL_FILE_BYTES, CHUNK_FILES or CHUNK_BYTES per task. A release of fewer
# than POOL_MIN_FILES files and POOL_MIN_BYTES of small files is read in this process: starting a local
# cluster costs more than it saves there. FOIL_INGEST_WORKERS sets the local workers
# (1: read everything in this process).
SMALL_FILE_BYTES, CHUNK_FILES, CHUNK_BYTES = 4 << 20, 256, 8 << 20
POOL_MIN_FILES, POOL_MIN_BYTES = 3000, 64 << 20
AHEAD = 16  # tasks in flight per worker: workers keep reading while the parent writes (a commit)


class ReleaseChanged(Exception):
    def __init__(self, release_id: str, changes: list[str]):
        self.release_id, self.changes = release_id, changes
        shown = "; ".join(changes[:5]) + (f"; … {len(changes) - 5} more" if len(changes) > 5 else "")
        super().__init__(
            f"release {release_id} was already ingested and has changed since ({shown}). Releases are "
            f"immutable: restore the original files, or publish the corrected files as a new release "
            f"whose release.yaml has `supersedes: [{release_id}]`."
        )


@dataclass
class FileResult:
    path: str
    reader: str | None
    new_events: int = 0
    quarantine_reason: str | None = None
    stats: FileStats = field(default_factory=FileStats)


@dataclass
class ReleaseResult:
    release_id: str
    files: list[FileResult] = field(default_factory=list)
    new_events: int = 0

    @property
    def documents(self) -> int:
        return sum(1 for f in self.files if f.quarantine_reason is None)

    @property
    def quarantined(self) -> int:
        return sum(1 for f in self.files if f.quarantine_reason is not None)

    def summary(self) -> dict:
        return {
            "release_id": self.release_id,
            "files": len(self.files),
            "documents": self.documents,
            "quarantined_files": self.quarantined,
            "new_events": self.new_events,
            "expected_items": sum(f.stats.expected_items for f in self.files),
            "extracted_items": sum(f.stats.extracted_items for f in self.files),
            "quarantined_items": sum(f.stats.quarantined_items for f in self.files),
        }


class _Writer:
    """Writes outcomes of whole files, one segment write (event_log.write) per group of files.

    Small files are buffered until they are complete, so a reader failing half-way leaves nothing of
    its file in the group; a large file (over FILE_BUFFER_ROWS events) commits the group first and is
    then written as it is read, in commits of COMMIT_ROWS (its items count only once its `file_observed`
    follows, see stg_events__events)."""

    small_only = False  # reads archives and large files too (see _Buffer)

    def __init__(self, con: duckdb.DuckDBPyConnection, release_id: str, recorded_at, partial: set,
                 say: Callable[[str], None] | None = None):
        self.con, self.release_id, self.recorded_at, self.partial = con, release_id, recorded_at, partial
        self.say = say  # progress lines of long files (OCR)
        self.new_events = 0
        self._tables: list[tuple[pa.Table, bool]] = []  # whole files, with whether they need the duplicate probe
        self._stream: list[tuple[pa.Table, bool]] = []  # the part of a large file read since its last commit
        self._rows = self._files = self._streamed = 0
        self._since = time.monotonic()

    def tag(self, batch: pa.Table, rel: str, sha: str | None, parser: str, version: str) -> tuple[pa.Table, bool]:
        tagged = event_log.tag(batch, release_id=self.release_id, source_path=rel, source_sha256=sha, parser=parser,
                               parser_version=version)
        return tagged, (rel, parser, version) in self.partial

    def single(self, event_type: str, payload: dict, rel: str, sha: str | None, parser: str,
               version: str) -> tuple[pa.Table, bool]:
        return self.tag(event_log.single(event_type, payload), rel, sha, parser, version)

    def add(self, tables: list[tuple[pa.Table, bool]], files: int = 1) -> None:
        """Buffer whole files' tagged batches (their outcome events included): one file's, or `files`
        files' read by a worker."""
        for table, dedupe in tables:
            self._tables.append((table, dedupe))
            self._rows += table.num_rows
        self._files += files
        if self._rows >= GROUP_ROWS or self._files >= GROUP_FILES or time.monotonic() - self._since >= GROUP_SECONDS:
            self.commit()

    def stream(self, table: pa.Table, dedupe: bool, commit: bool = False) -> None:
        """Part of a large file (the group before it is already committed); `commit` commits it at once (a
        page's OCR: seconds of work that a kill must not lose)."""
        self._stream.append((table, dedupe))
        self._streamed += table.num_rows
        if commit or self._streamed >= COMMIT_ROWS or time.monotonic() - self._since >= GROUP_SECONDS:
            self._write(self._stream)  # bounded: a large file is held COMMIT_ROWS events at a time
            self._stream, self._streamed = [], 0
            self._since = time.monotonic()

    def abandon_stream(self) -> None:
        """Drop the uncommitted part of a large file that failed (its committed chunks stay unused)."""
        self._stream, self._streamed = [], 0

    def commit(self) -> None:
        self._write([*self._stream, *self._tables])
        self._tables, self._stream = [], []
        self._rows = self._files = self._streamed = 0
        self._since = time.monotonic()

    def close(self) -> None:
        self.commit()

    def _write(self, parts: list[tuple[pa.Table, bool]]) -> None:
        self.new_events += event_log.write(self.con, parts, release_id=self.release_id, recorded_at=self.recorded_at)


class _Defer(BaseException):
    """Raised in a worker for a file the parent reads itself (an archive, OCR, a large file). A
    BaseException, so the readers' `except Exception` never takes it for the file's fault."""


class _Buffer:
    """What a worker writes to instead of `_Writer`: whole files' tagged rows, gathered for the parent.

    The same reading code runs on either; whatever would need the database or a commit of its own (a
    large file streamed in chunks, OCR's page-by-page commits, an archive's extraction) raises _Defer.
    A file's rows are staged until it is done (`take`), so a failure leaves nothing of it."""

    small_only = True
    say = None

    def __init__(self, release_id: str, partial: set):
        self.rows, self.partial, self._staged = event_log.TaggedRows(release_id), partial, []

    def tag(self, batch: pa.Table, rel: str, sha: str | None, parser: str, version: str) -> tuple[tuple, bool]:
        return (self.rows.add, (batch, rel, sha, parser, version)), (rel, parser, version) in self.partial

    def single(self, event_type: str, payload: dict, rel: str, sha: str | None, parser: str,
               version: str) -> tuple[tuple, bool]:
        return (self.rows.add_single, (event_type, payload, rel, sha, parser, version)), (rel, parser, version) in self.partial

    def add(self, tables: list[tuple[tuple, bool]], files: int = 1) -> None:
        self._staged += tables

    def take(self) -> tuple[int, bool]:
        """Move the staged file into the rows: (its rows, whether they need the duplicate probe)."""
        before, dedupe = self.rows.rows, False
        for (add, args), probe in self._staged:
            add(*args)
            dedupe |= probe
        self._staged = []
        return self.rows.rows - before, dedupe

    def drop(self) -> None:
        self._staged = []

    def commit(self) -> None:
        raise _Defer

    stream = abandon_stream = commit


def _already_read(con: duckdb.DuckDBPyConnection, release_id: str) -> dict[str, dict[str, tuple[str, str, str, dict]]]:
    """top-level path -> {path: (event_type, parser, parser_version, payload)} of the newest outcome of
    the file and of each archive member under it (`<archive>!/<member>`)."""
    rows = con.execute(
        f"""select source_path, event_type, parser, parser_version, payload::varchar from {event_log.of_release(con, release_id)}
            where release_id = ? and event_type in ('file_observed', 'file_quarantined')
            order by ingested_at""",
        [release_id],
    ).fetchall()
    done: dict[str, dict] = {}
    for path, etype, parser, version, payload in rows:
        done.setdefault(path.split(archives.SEPARATOR, 1)[0], {})[path] = (etype, parser, version, json.loads(payload))
    return done


def _partly_read(con: duckdb.DuckDBPyConnection, release_id: str) -> set[tuple[str, str, str]]:
    """(path, parser, version) of every file with events in the log: only their new events need the
    duplicate probe (a read an interrupt cut short, or a re-read)."""
    return set(con.execute(
        f"""select distinct source_path, parser, parser_version from {event_log.of_release(con, release_id)}
            where release_id = ?""",
        [release_id]).fetchall())


def _ocr_pages_read(writer: _Writer, rel: str, sha: str) -> dict[int, dict]:
    """page -> page_ocr payload this file's pages already have in the log (a build killed while OCRing
    it, or an older reader version): ocr.read_pages reuses those of the current OCR version and engine.
    Only files with events in the log are looked up."""
    if not any(path == rel for path, _, _ in writer.partial):
        return {}
    rows = writer.con.execute(
        f"""select source_row, payload::varchar from {event_log.of_release(writer.con, writer.release_id)}
            where release_id = ? and source_path = ? and source_sha256 = ? and event_type = 'page_ocr'
            order by ingested_at""",
        [writer.release_id, rel, sha]).fetchall()
    return {int(row): json.loads(payload) for row, payload in rows if row is not None}


def is_complete(con: duckdb.DuckDBPyConnection, release_id: str) -> bool:
    """True once every file of the release has a committed outcome (`release_ingested` was appended)."""
    return con.execute(f"select count(*) from {event_log.of_release(con, release_id)} "
                       "where release_id = ? and event_type = 'release_ingested'",
                       [release_id]).fetchone()[0] > 0


def check_unchanged(con: duckdb.DuckDBPyConnection, manifest: Manifest,
                    hashes: Callable[[], dict[str, str | None]]) -> bool:
    """True if the release was ingested before; raises ReleaseChanged if its files differ since.
    `hashes()` gives each file's content hash; it is called only for a release ingested before.

    A file not seen yet counts as added only in a complete release: in an interrupted one it is a file
    the ingest had not reached, and the next build resumes there."""
    seen = dict(
        con.execute(
            f"""select distinct source_path, source_sha256 from {event_log.of_release(con, manifest.release_id)}
                where release_id = ? and event_type in ('release_registered', 'file_observed', 'file_quarantined')
                  and not contains(source_path, '!/')""",
            [manifest.release_id],
        ).fetchall()
    )
    if not seen:
        return False
    current = {MANIFEST_NAME: manifest.sha256, **hashes()}
    changes = [f"{p} changed" for p in sorted(seen.keys() & current.keys()) if seen[p] != current[p]]
    changes += [f"{p} removed" for p in sorted(seen.keys() - current.keys())]
    if is_complete(con, manifest.release_id):
        changes += [f"{p} added" for p in sorted(current.keys() - seen.keys())]
    if changes:
        raise ReleaseChanged(manifest.release_id, changes)
    return True


def ingest_release(
    con: duckdb.DuckDBPyConnection, manifest: Manifest, progress: Callable[[str], None] | None = None,
    scratch: Path | None = None, cluster: dask_cluster.Cluster | None = None,
) -> ReleaseResult:
    """Read every file of one release into the event log (resuming an interrupted ingest).

    `scratch` holds extracted archive members (default: the system's temporary folder); `foil build`
    puts it in the state folder, whose leftovers it clears at start-up. `cluster` runs the extraction
    tasks (default: one started here if the release is large enough, closed at the end)."""
    with dask_cluster.active(cluster) as cluster:  # readers of large files (mbox) find it there too
        return _ingest_release(con, manifest, progress, scratch, cluster)


def _ingest_release(con: duckdb.DuckDBPyConnection, manifest: Manifest, progress: Callable[[str], None] | None,
                    scratch: Path | None, cluster: dask_cluster.Cluster) -> ReleaseResult:
    event_log.ensure_schema(con)
    event_log.clean(con, manifest.release_id)  # segments a killed ingest wrote but never recorded
    folder = manifest.folder.resolve()
    entries = list_entries(folder)
    with RegularFiles(folder) as files:  # every release file is opened through it
        return _ingest_entries(con, manifest, progress, scratch, cluster, entries, files)


def _ingest_entries(con: duckdb.DuckDBPyConnection, manifest: Manifest, progress: Callable[[str], None] | None,
                    scratch: Path | None, cluster: dask_cluster.Cluster, entries: list[Entry],
                    files: RegularFiles) -> ReleaseResult:
    hashes: dict[str, tuple[str | None, str | None]] = {}  # rel -> (sha256, why it is unsafe): known before reading

    def current_hashes() -> dict[str, str | None]:
        hashes.update(zip((e.rel for e in entries), _hash_entries(entries, files)))
        return {rel: sha for rel, (sha, _) in hashes.items()}

    check_unchanged(con, manifest, current_hashes)
    result = ReleaseResult(manifest.release_id)
    done = _already_read(con, manifest.release_id)
    # workers for the files still to read: reusing the outcomes of files read before is quicker here
    pool = cluster if cluster.parallel and _worth_workers([e for e in entries if _to_read(e, done)]) else None
    writer = _Writer(con, manifest.release_id, manifest.released_on, _partly_read(con, manifest.release_id), progress)
    # An error leaves the uncommitted group unwritten: every committed file stays and is not read again.
    writer.add([writer.single("release_registered", manifest.payload(), MANIFEST_NAME, manifest.sha256, INGEST_PARSER,
                              INGEST_VERSION)])
    report = _Progress(progress, manifest.release_id, len(entries))
    with read_root(files.root):  # load files resolve the paths they cite only inside the release
        reads = _read_entries(writer, entries, files, hashes, done, scratch, pool)
        for n, (entry, outcomes) in enumerate(reads, 1):
            result.files.extend(outcomes)
            report(n, entry.rel, outcomes[0])
    writer.add([writer.single("release_ingested", {"files": len(entries), "manifest_sha256": manifest.sha256},
                              MANIFEST_NAME, manifest.sha256, INGEST_PARSER, INGEST_VERSION)])
    writer.close()
    result.new_events = writer.new_events
    # Hand freed batch buffers back before dbt and the gates run next to this process (Arrow's pool
    # alone kept about 130 MB after a 100k-message mbox).
    release_freed_memory()
    return result


def _to_read(entry: Entry, done: dict) -> bool:
    """Whether the entry has no outcome yet, or one of an older reader version (see _reuse)."""
    mine = done.get(entry.rel)
    return not mine or any(_current_version(parser) != version for _, parser, version, _ in mine.values())


def _worth_workers(entries: list[Entry]) -> bool:
    """Whether the small files are many enough to pay for starting (or reaching) workers."""
    return len(entries) >= POOL_MIN_FILES or sum(e.size for e in entries if e.size <= SMALL_FILE_BYTES) >= POOL_MIN_BYTES


def _hash_entry(entry: Entry, files: RegularFiles) -> tuple[str | None, str | None]:
    """(content hash, None), or (None, why the file must not be read) when it was swapped for a link or
    a pipe since the listing."""
    try:
        return entry_sha256(entry, files), None
    except UnsafeFile as exc:
        return None, str(exc)


def _hash_entries(entries: list[Entry], files: RegularFiles) -> list[tuple[str | None, str | None]]:
    """Every entry's _hash_entry, in order (a release ingested before is hashed in full at each build, to
    see that it has not changed). In this process: on workers that share this machine's files it was
    slower (a task's round trip costs more than hashing a small file), and remote workers would need the
    bytes sent, which costs more than hashing them here."""
    return [_hash_entry(entry, files) for entry in entries]


def _read_small(entry: Entry, files: RegularFiles) -> tuple[bytes | None, tuple[str | None, str | None] | None]:
    """(bytes, _hash_entry's answer) of a small regular file, opened once (RegularFiles) for its hash,
    its sniffing and its reader; (None, (None, why)) if it must not be read; (None, None) for anything
    else (not a regular file, too large, grown past the limit since the listing): hashed and read by path."""
    if not entry.is_file or entry.size > SMALL_FILE_BYTES:
        return None, None
    try:
        with files.open(entry.path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > SMALL_FILE_BYTES:
                return None, None
            data = fh.read(size + 1)  # sized: asking for the limit would allocate 4 MiB per file
            if len(data) > size:  # grown since: read on, up to the limit
                data += fh.read(SMALL_FILE_BYTES + 1 - len(data))
    except UnsafeFile as exc:
        return None, (None, str(exc))
    if len(data) > SMALL_FILE_BYTES:
        return None, None
    return data, (hashlib.sha256(data).hexdigest(), None)


def _read_entry(writer: _Writer | _Buffer, entry: Entry, files: RegularFiles, known: tuple[str | None, str | None] | None,
                done: dict, scratch: Path | None, data: bytes | None = None) -> list[FileResult]:
    """The outcomes of one listed name (a file, or an archive and its members). A name that is not a
    regular file is quarantined unopened; a file its current reader read before is not read again.
    `data`: the file's bytes when the caller holds them (else a small file not hashed yet is read here
    once, and those bytes are hashed, sniffed and parsed)."""
    if known is None and data is None:
        data, known = _read_small(entry, files)
    sha, unsafe = known or _hash_entry(entry, files)
    reason = entry.reason or unsafe
    if reason is not None:  # a link, pipe or device: never opened
        return [_quarantine(writer, FileResult(entry.rel, None, quarantine_reason=reason), 0, entry.rel, sha)]
    return _reuse(entry.path, entry.rel, done) or _ingest_path(writer, entry.path, entry.rel, sha, scratch, data=data)


def _read_entries(writer: _Writer, entries: list[Entry], files: RegularFiles, hashes: dict, done: dict,
                  scratch: Path | None, pool: dask_cluster.Cluster | None) -> Iterator[tuple[Entry, list[FileResult]]]:
    """(entry, outcomes) of every entry, in listing order, each file's events handed to `writer` before
    the next file's, so committed files are always the first ones of the listing."""
    if pool is None:
        for entry in entries:
            yield entry, _read_entry(writer, entry, files, hashes.get(entry.rel), done, scratch)
        return
    slots = pool.slots()
    tasks = _chunks(entries, hashes, slots)
    partial: dict[str, set] = {}  # each task carries the part of the parent's state its files need
    for key in writer.partial:
        partial.setdefault(key[0], set()).add(key)
    submitted = (_chunk_task(task, files, pool.shares_files, writer.release_id, done, partial) for task in tasks)
    for task, (table, read) in zip(tasks, pool.map(_read_chunk, submitted, AHEAD * slots)):
        start = rows = count = 0  # the run of files read by the worker, not yet handed to the writer
        dedupe = False
        for (entry, known), (outcomes, n, needs_dedupe) in zip(task, read):
            if outcomes is None or (rows and n and needs_dedupe != dedupe):
                if rows:
                    writer.add([(table.slice(start, rows), dedupe)], files=count)
                start, rows, count = start + rows, 0, 0
            if outcomes is None:  # the worker left this file to this process
                outcomes = _read_entry(writer, entry, files, known, done, scratch)
            elif n:  # (a file read before adds nothing)
                rows, count, dedupe = rows + n, count + 1, needs_dedupe
            yield entry, outcomes
        if rows:
            writer.add([(table.slice(start, rows), dedupe)], files=count)


def _chunks(entries: list[Entry], hashes: dict, workers: int) -> list[list[tuple[Entry, tuple | None]]]:
    """Entries (with their hash when known) in tasks of up to CHUNK_FILES files or CHUNK_BYTES; smaller
    tasks for a small release, so that every worker has some."""
    per = max(1, min(CHUNK_FILES, -(-len(entries) // (workers * AHEAD))))
    tasks, task, size = [], [], 0
    for entry in entries:
        task.append((entry, hashes.get(entry.rel)))
        size += entry.size
        if len(task) >= per or size >= CHUNK_BYTES:
            tasks.append(task)
            task, size = [], 0
    if task:
        tasks.append(task)
    return tasks


def _chunk_task(task: list[tuple[Entry, tuple | None]], files: RegularFiles, shared: bool, release_id: str, done: dict,
                partial: dict[str, set]) -> tuple:
    """What _read_chunk needs for a task: the release id, the release folder if the workers share it,
    per entry (entry, known hash, the file's bytes if they do not), and the parent's state about these
    files only. The bytes are None for a file left to the parent: too large, or one this process cannot
    open safely (it meets that again with its usual handling)."""
    read = []
    for entry, known in task:
        data = None
        if not shared:
            try:
                data = _read_small(entry, files)[0]
            except OSError as exc:
                if is_transient(exc):
                    raise
        read.append((entry, known, data))
    rels = {entry.rel for entry, _ in task}
    return (release_id, files.root if shared else None, read, {rel: done[rel] for rel in rels if rel in done},
            set().union(*(partial.get(rel, ()) for rel in rels)))


def _read_chunk(release_id: str, folder: Path | None, files: list[tuple[Entry, tuple | None, bytes | None]],
                done: dict, partial: set) -> tuple[pa.Table | None, list]:
    """Worker: read a task's files into one table of tagged rows; per file (outcomes, rows, whether its
    rows need the duplicate probe), outcomes None for a file left to the parent: one _read_entry defers
    (_Defer), or any failure, which the parent then meets itself with its usual handling.

    With `folder` (a worker on the build's machine) the files are read there. Otherwise each file's
    bytes are written under their release path into a folder of this task, which stands in for the
    release folder (the readers take paths)."""
    buffer = _Buffer(release_id, partial)
    results = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(dask_cluster.active(dask_cluster.Cluster.serial()))  # a task never starts workers
        if folder is None:
            here = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="foil-task-")))
        root = stack.enter_context(read_root(folder or here))
        opened = stack.enter_context(RegularFiles(folder or root))
        for entry, known, data in files:
            try:
                if entry.is_file and folder is None:
                    if data is None:
                        raise _Defer
                    path = root.joinpath(*entry.rel.split("/"))
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                    entry = replace(entry, path=path, size=len(data))
                    known = known or (hashlib.sha256(data).hexdigest(), None)
                outcomes = _read_entry(buffer, entry, opened, known, done, None, data)
            except BaseException:
                buffer.drop()
                results.append((None, 0, False))
            else:
                results.append((outcomes, *buffer.take()))
    return buffer.rows.table(), results


class _Progress:
    """One line per file for small releases; for large ones a line every few seconds, with the rate."""

    def __init__(self, progress: Callable[[str], None] | None, release_id: str, total: int):
        self.say, self.release_id, self.total = progress, release_id, total
        self.started = self.last = time.monotonic()

    def __call__(self, n: int, rel: str, top: FileResult) -> None:
        if not self.say:
            return
        now = time.monotonic()
        if self.total > 200 and n < self.total and now - self.last < 2.0:
            return
        self.last = now
        status = f"quarantined: {top.quarantine_reason}" if top.quarantine_reason else f"{top.stats.extracted_items} items"
        rate = f", {n / (now - self.started):.0f} files/s" if self.total > 200 and now > self.started else ""
        self.say(f"  [{n}/{self.total}{rate}] {self.release_id}/{rel} ({top.reader or '-'}): {status}")


def _current_version(parser: str) -> str | None:
    versions = {r.name: r.version for r in READERS} | {INGEST_PARSER: INGEST_VERSION} | dict(ZIP_PARSERS.values())
    return versions.get(parser)


def _reuse(path: Path, rel: str, done: dict) -> list[FileResult] | None:
    """Files already read by the current version of their reader need no second read (same events).

    An archive counts as read when it and every member outcome recorded under it are current.
    """
    mine = done.get(rel, {})
    if rel not in mine or any(_current_version(parser) != version for _, parser, version, _ in mine.values()):
        return None  # a new reader version re-reads the file into new events; the old ones stay
    head = read_head(path) if path.stat().st_size else b""
    if head and archives.archive_kind(path, head) is not None:
        expected = {parser for parser, _ in ZIP_PARSERS.values()}  # which one, the archive's outcome says
    else:
        reader = identify(path, head)[0] if head else None
        expected = {reader.name if reader else INGEST_PARSER}
    if mine[rel][1] not in expected:
        return None  # another reader takes the file now
    if any(payload.get("pages_awaiting_ocr") for _, _, _, payload in mine.values()) and ocr.engine() is not None:
        return None  # pages quarantined for want of an OCR engine: one is installed now
    results = []
    for p in [rel, *sorted(k for k in mine if k != rel)]:
        event_type, parser, _, payload = mine[p]
        out = FileResult(p, None if parser == INGEST_PARSER else parser)
        if event_type == "file_quarantined":
            out.quarantine_reason = payload.get("reason")
        else:
            out.stats = FileStats(payload.get("expected_items", 0), payload.get("extracted_items", 0),
                                  payload.get("quarantined_items", 0))
        results.append(out)
    return results


def _ingest_path(writer: _Writer | _Buffer, path: Path, rel: str, sha: str, scratch: Path | None,
                 depth: int = 0, data: bytes | None = None) -> list[FileResult]:
    """`data`: the whole file, when the caller read it (what is sniffed and parsed is what was hashed)."""
    size = path.stat().st_size if data is None else len(data)
    if writer.small_only and size > SMALL_FILE_BYTES:
        raise _Defer
    # read once: archive or not, then which reader
    head = data[:HEAD_BYTES] if data is not None else read_head(path) if size else b""
    kind = archives.archive_kind(path, head) if head else None
    if kind is not None:
        if writer.small_only:
            raise _Defer  # extracted into the build's scratch folder, by the parent
        return _ingest_archive(writer, path, rel, sha, scratch, depth, kind, head)
    return [_ingest_file(writer, path, rel, sha, head, data)]


def _quarantine(writer: _Writer, out: FileResult, size: int, name: str, sha: str | None,
                parser: str = INGEST_PARSER, version: str = INGEST_VERSION, found: Sniffed | None = None) -> FileResult:
    """Record why the file is not a document; `found` is what its bytes are, when it was opened."""
    out.stats = FileStats()
    writer.add([writer.single("file_quarantined", {
        "size_bytes": size, "reason": out.quarantine_reason,
        "media_type": mimetypes.guess_type(name)[0] or "application/octet-stream", **file_type_facts(found, name),
    }, out.path, sha, parser, version)])
    return out


def _observed(writer: _Writer, out: FileResult, size: int, media_type: str, sha: str, parser: str,
              version: str, found: Sniffed) -> tuple[pa.Table, bool]:
    facts = file_type_facts(found, out.path)  # detected content type, extension, a mismatch as a defect
    facts["defects"] = [*out.stats.extra.get("defects", []), *facts["defects"]]
    return writer.single("file_observed", {
        "size_bytes": size, "media_type": media_type, "reader": parser,
        "expected_items": out.stats.expected_items, "extracted_items": out.stats.extracted_items,
        "quarantined_items": out.stats.quarantined_items, **out.stats.extra, **facts,
    }, out.path, sha, parser, version)


def _ingest_file(writer: _Writer, path: Path, rel: str, sha: str, head: bytes, data: bytes | None = None) -> FileResult:
    size = path.stat().st_size if data is None else len(data)
    reader, found = identify(path, head) if size else (None, EMPTY)
    out = FileResult(rel, reader.name if reader else None)
    if size == 0:
        out.quarantine_reason = "empty file"
    elif reader is None:
        out.quarantine_reason = (f"unsupported file type: detected {TYPES[found.type].label} "
                                 f"({path.suffix.lower() or 'no extension'}); no reader for it yet")
    else:
        if writer.small_only and reader.reads_other_files:
            raise _Defer  # a load file: the files it cites are in the release folder, not in the worker's task
        buffered, rows, streaming = [], 0, False
        if reader.ocr_pages:  # what OCR reads is committed page by page, so a kill keeps finished pages
            writer.commit()
            streaming = True
        try:
            with ocr.file_context(_ocr_pages_read(writer, rel, sha) if reader.ocr_pages else {}, writer.say, rel), \
                    content(path, data):
                for batch in reader.batches(path, out.stats):
                    tagged = writer.tag(batch, rel, sha, reader.name, reader.version)
                    if streaming:
                        writer.stream(*tagged, commit=reader.ocr_pages)
                        continue
                    buffered.append(tagged)
                    rows += batch.num_rows
                    if rows > FILE_BUFFER_ROWS:
                        writer.commit()  # the files before this one are safe before it starts streaming
                        for table in buffered:
                            writer.stream(*table)
                        buffered, streaming = [], True
            writer.add([*buffered, _observed(writer, out, size, reader.media_type, sha, reader.name, reader.version,
                                             found)])
            return out
        except Exception as exc:
            if is_transient(exc):
                raise  # the run's fault, not the file's: fail the step, record nothing about the file
            if streaming:
                writer.abandon_stream()
            if isinstance(exc, UnreadableFile):
                out.quarantine_reason = str(exc)
            else:  # a reader bug on this content must not take the other files down
                out.quarantine_reason = f"{reader.name} reader failed: {exc.__class__.__name__}: {exc}"
        return _quarantine(writer, out, size, path.name, sha, reader.name, reader.version, found)
    return _quarantine(writer, out, size, path.name, sha, found=found)


def _ingest_archive(writer: _Writer, path: Path, rel: str, sha: str, scratch: Path | None, depth: int,
                    kind: str, head: bytes) -> list[FileResult]:
    """Extract every member (within the bomb limits) into one folder, then read each like a file.

    zip, tar (plain or gzip/bzip2/xz), 7z and a single gzip/bzip2/xz file, through archives.open_archive.
    Whole extraction first: a load file cites its text files by relative paths, which must resolve to
    sibling members inside this archive's own extraction folder (its read root), never outside it."""
    size, found = path.stat().st_size, sniff(path, head)
    parser, version = ZIP_PARSERS["zip" if kind == "zip" else "7z" if kind == "7z" else "tar"]
    label, media_type = {"zip": "zip", "7z": "7z archive"}.get(kind, "tar"), "application/octet-stream"
    top = FileResult(rel, parser)
    results = [top]
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    try:
        if depth >= MAX_ZIP_DEPTH:
            raise archives.UnsafeArchive(f"{label} nested deeper than {MAX_ZIP_DEPTH} levels; refused")
        with archives.open_archive(path, kind) as archive, \
                tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=scratch) as root:
            label, media_type = archive.label, archive.media_type
            parser, version = ZIP_PARSERS[archive.kind]
            top.reader = parser
            members = archive.plan()
            top.stats.expected_items = len(members)
            extracted = archive.extract_all(members, Path(root))
            with read_root(Path(root)):
                for member in members:
                    name = f"{rel}{archives.SEPARATOR}{member.name}"
                    if member.refusal is not None:
                        child = FileResult(name, None, quarantine_reason=member.refusal)
                        _quarantine(writer, child, member.size if member.info else 0, member.name, None,
                                    parser, version)
                        children = [child]
                    else:
                        member_path = extracted[member.name]
                        children = _ingest_path(writer, member_path, name, sha256_of(member_path, Path(root)), scratch,
                                                depth + 1)
                    results.extend(children)
                    if children[0].quarantine_reason:
                        top.stats.quarantined_items += 1
                    else:
                        top.stats.extracted_items += 1
    except (zipfile.BadZipFile, archives.UnsafeArchive, archives.BadArchive, OSError, EOFError, RuntimeError) as exc:
        if is_transient(exc):
            raise
        top.quarantine_reason = str(exc) if isinstance(exc, archives.UnsafeArchive) else f"unreadable {label}: {exc}"
        return [_quarantine(writer, top, size, path.name, sha, parser, version, found), *results[1:]]
    writer.add([_observed(writer, top, size, media_type, sha, parser, version, found)])
    return results


def ingest_all(raw_dir, build_db, progress: Callable[[str], None] | None = print) -> list[ReleaseResult]:
    """Ingest every valid release under raw_dir into build_db (a convenience for scripts and dbt work)."""
    manifests, errors = scan_releases(Path(raw_dir))
    for err in errors:
        if progress:
            progress(f"rejected: {err}")
    Path(build_db).parent.mkdir(parents=True, exist_ok=True)
    with duck.connect(build_db) as con:
        return [ingest_release(con, m, progress) for m in manifests]
