"""Ingest releases into the event log: every file ends as a document or a quarantine row.

Each file is ingested in its own transaction: a reader that fails halfway rolls back that file only and
records it in quarantine with the reason, so bad input never takes the other files down. Releases are
immutable: if a file of an already-ingested release changed, the release is refused.
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from pipelines.readers import READERS, FileStats, UnreadableFile, reader_for
from pipelines.readers.base import batch_table, canonical_json

from . import archives, duck, event_log
from .memory import release_freed_memory
from .manifest import MANIFEST_NAME, Manifest, scan_releases

INGEST_PARSER, INGEST_VERSION = "ingest", "1"
ZIP_PARSER, ZIP_VERSION = "zip", "1"
MAX_ZIP_DEPTH = 3
COMMIT_ROWS = 100_000  # events per transaction within one large file (bounds ingest memory)


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def release_files(folder: Path) -> list[Path]:
    """Every produced file below the release folder (the manifest and hidden files excluded)."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST_NAME
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _single(event_type: str, payload: dict, occurred_at=None) -> pa.Table:
    return batch_table({"event_type": [event_type], "occurred_at": [occurred_at], "source_offset": [None],
                        "source_row": [None], "source_bates": [None], "payload": [canonical_json(payload)]})


def _already_read(con: duckdb.DuckDBPyConnection, release_id: str) -> dict[str, tuple[str, str, str, dict]]:
    """path -> (event_type, parser, parser_version, payload) of the file's newest outcome event."""
    rows = con.execute(
        f"""select source_path, event_type, parser, parser_version, payload::varchar from {event_log.TABLE}
            where release_id = ? and event_type in ('file_observed', 'file_quarantined')
            order by ingested_at""",
        [release_id],
    ).fetchall()
    return {path: (etype, parser, version, json.loads(payload)) for path, etype, parser, version, payload in rows}


def check_unchanged(con: duckdb.DuckDBPyConnection, manifest: Manifest, hashes: dict[str, str]) -> bool:
    """True if the release was ingested before; raises ReleaseChanged if its files differ since."""
    seen = dict(
        con.execute(
            f"""select distinct source_path, source_sha256 from {event_log.TABLE}
                where release_id = ? and event_type in ('release_registered', 'file_observed', 'file_quarantined')
                  and not contains(source_path, '!/')""",
            [manifest.release_id],
        ).fetchall()
    )
    if not seen:
        return False
    current = {MANIFEST_NAME: manifest.sha256, **hashes}
    changes = [f"{p} changed" for p in sorted(seen.keys() & current.keys()) if seen[p] != current[p]]
    changes += [f"{p} removed" for p in sorted(seen.keys() - current.keys())]
    changes += [f"{p} added" for p in sorted(current.keys() - seen.keys())]
    if changes:
        raise ReleaseChanged(manifest.release_id, changes)
    return True


def ingest_release(
    con: duckdb.DuckDBPyConnection, manifest: Manifest, progress: Callable[[str], None] | None = None
) -> ReleaseResult:
    event_log.ensure_schema(con)
    folder = manifest.folder
    files = release_files(folder)
    hashes = {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}
    check_unchanged(con, manifest, hashes)
    result = ReleaseResult(manifest.release_id)
    common = dict(release_id=manifest.release_id, recorded_at=manifest.released_on)
    result.new_events += event_log.append(
        con, _single("release_registered", manifest.payload()), source_path=MANIFEST_NAME,
        source_sha256=manifest.sha256, parser=INGEST_PARSER, parser_version=INGEST_VERSION, **common,
    )
    done = _already_read(con, manifest.release_id)
    for n, path in enumerate(files, 1):
        rel = path.relative_to(folder).as_posix()
        outcomes = _reuse(path, rel, done) or _ingest_path(con, path, rel, hashes[rel], common)
        result.files.extend(outcomes)
        result.new_events += sum(f.new_events for f in outcomes)
        if progress:
            top = outcomes[0]
            status = f"quarantined: {top.quarantine_reason}" if top.quarantine_reason else (
                f"{top.stats.extracted_items} items")
            progress(f"  [{n}/{len(files)}] {manifest.release_id}/{rel} ({top.reader or '-'}): {status}")
    # Hand freed batch buffers back before dbt and the gates run next to this process (Arrow's pool
    # alone kept about 130 MB after a 100k-message mbox).
    release_freed_memory()
    return result


def _current_version(parser: str) -> str | None:
    versions = {r.name: r.version for r in READERS} | {INGEST_PARSER: INGEST_VERSION, ZIP_PARSER: ZIP_VERSION}
    return versions.get(parser)


def _reuse(path: Path, rel: str, done: dict) -> list[FileResult] | None:
    """Files already read by the current version of their reader need no second read (same events).

    A zip counts as read when it and every member outcome recorded under it are current.
    """
    mine = {p: v for p, v in done.items() if p == rel or p.startswith(rel + archives.SEPARATOR)}
    if rel not in mine or any(_current_version(parser) != version for _, parser, version, _ in mine.values()):
        return None  # a new reader version re-reads the file into new events; the old ones stay
    if path.suffix.lower() == ".zip" and path.stat().st_size:
        expected = ZIP_PARSER
    else:
        reader = reader_for(path) if path.stat().st_size else None
        expected = reader.name if reader else INGEST_PARSER
    if mine[rel][1] != expected:
        return None  # another reader takes the file now
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


def _ingest_path(con, path: Path, rel: str, sha: str, common: dict, depth: int = 0) -> list[FileResult]:
    if path.suffix.lower() == ".zip" and path.stat().st_size:
        return _ingest_zip(con, path, rel, sha, common, depth)
    return [_ingest_file(con, path, rel, sha, common)]


def _quarantine(con, out: FileResult, size: int, name: str, sha: str | None, common: dict,
                parser: str = INGEST_PARSER, version: str = INGEST_VERSION) -> FileResult:
    out.stats, out.new_events = FileStats(), 0
    out.new_events = event_log.append(
        con,
        _single("file_quarantined", {
            "size_bytes": size, "reason": out.quarantine_reason,
            "media_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
        }),
        source_path=out.path, source_sha256=sha, parser=parser, parser_version=version, **common)
    return out


def _observed(con, out: FileResult, size: int, media_type: str, sha: str, common: dict, parser: str, version: str) -> int:
    return event_log.append(
        con,
        _single("file_observed", {
            "size_bytes": size, "media_type": media_type, "reader": parser,
            "expected_items": out.stats.expected_items, "extracted_items": out.stats.extracted_items,
            "quarantined_items": out.stats.quarantined_items, **out.stats.extra,
        }),
        source_path=out.path, source_sha256=sha, parser=parser, parser_version=version, **common)


def _ingest_file(con, path: Path, rel: str, sha: str, common: dict) -> FileResult:
    size = path.stat().st_size
    reader = reader_for(path) if size else None
    out = FileResult(rel, reader.name if reader else None)
    if size == 0:
        out.quarantine_reason = "empty file"
    elif reader is None:
        out.quarantine_reason = f"unsupported file type ({path.suffix or 'no extension'}): no reader accepts it"
    else:
        # A file this reader version never read has nothing to collide with (each file is read in
        # one transaction), so its batches skip the duplicate probe.
        seen = con.execute(
            f"select count(*) from {event_log.TABLE} where release_id = ? and source_path = ? and parser_version = ? "
            "and parser = ?", [common["release_id"], rel, reader.version, reader.name]).fetchone()[0]
        con.begin()
        try:
            pending = 0
            for batch in reader.batches(path, out.stats):
                out.new_events += event_log.append(
                    con, batch, source_path=rel, source_sha256=sha, parser=reader.name,
                    parser_version=reader.version, dedupe=seen > 0, **common)
                pending += batch.num_rows
                if pending >= COMMIT_ROWS:
                    # DuckDB holds an open transaction in memory: commit and checkpoint large files in
                    # chunks. Items count only once file_observed follows (stg_events__events), so a
                    # failure later in the file leaves unused partial items, never half a document.
                    con.commit()
                    con.execute("checkpoint")
                    con.begin()
                    pending = 0
            out.new_events += _observed(con, out, size, reader.media_type, sha, common, reader.name, reader.version)
            con.commit()
            return out
        except UnreadableFile as exc:
            con.rollback()
            out.quarantine_reason = str(exc)
        except Exception as exc:  # a reader bug must not take the other files down
            con.rollback()
            out.quarantine_reason = f"{reader.name} reader failed: {exc.__class__.__name__}: {exc}"
        return _quarantine(con, out, size, path.name, sha, common, reader.name, reader.version)
    return _quarantine(con, out, size, path.name, sha, common)


def _ingest_zip(con, path: Path, rel: str, sha: str, common: dict, depth: int) -> list[FileResult]:
    size = path.stat().st_size
    top = FileResult(rel, ZIP_PARSER)
    results = [top]
    try:
        if depth >= MAX_ZIP_DEPTH:
            raise archives.UnsafeArchive(f"zip nested deeper than {MAX_ZIP_DEPTH} levels; refused")
        with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory(prefix="foil-zip-") as scratch:
            members = archives.plan(zf)
            top.stats.expected_items = len(members)
            for member in members:
                name = f"{rel}{archives.SEPARATOR}{member.name}"
                if member.refusal is None:
                    try:
                        extracted = archives.extract(zf, member, Path(scratch))
                    except (archives.UnsafeArchive, zipfile.BadZipFile, OSError, EOFError) as exc:
                        member.refusal = str(exc)
                if member.refusal is not None:
                    child = FileResult(name, None, quarantine_reason=member.refusal)
                    _quarantine(con, child, member.info.file_size if member.info else 0, member.name, None, common,
                                ZIP_PARSER, ZIP_VERSION)
                    children = [child]
                else:
                    children = _ingest_path(con, extracted, name, sha256_file(extracted), common, depth + 1)
                    extracted.unlink()
                results.extend(children)
                if children[0].quarantine_reason:
                    top.stats.quarantined_items += 1
                else:
                    top.stats.extracted_items += 1
    except (zipfile.BadZipFile, archives.UnsafeArchive, OSError, EOFError, RuntimeError) as exc:
        top.quarantine_reason = f"unreadable zip: {exc}" if not isinstance(exc, archives.UnsafeArchive) else str(exc)
        return [_quarantine(con, top, size, path.name, sha, common, ZIP_PARSER, ZIP_VERSION), *results[1:]]
    top.new_events = _observed(con, top, size, "application/zip", sha, common, ZIP_PARSER, ZIP_VERSION)
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
