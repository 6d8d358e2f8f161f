"""Withdrawing a release: an event in the log, reversible, that takes the release out of the marts.

A release cannot be deleted (the log is the truth, and its files may be needed to explain what was
published before), but it can be withdrawn — a production sent in error, a folder with a bad row
that blocks nothing but should not be read — and reinstated later. The latest of the two events
decides (stg_events__events); the release's own events stay untouched.
"""
from __future__ import annotations

import datetime as dt
import getpass
import json

import duckdb

from . import event_log

SOURCE_PATH, PARSER, VERSION = "withdrawals", "foil", "1"


class WithdrawError(ValueError):
    """The request does not fit the log (unknown release, already withdrawn, ...)."""


def state(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """release_id -> {'withdrawn': bool, 'reason', 'at', 'by'} for every release ever withdrawn."""
    rows = con.execute(f"""
        select release_id, event_type, payload::varchar from {event_log.TABLE}
        where event_type in ('release_withdrawn', 'release_reinstated')
        qualify row_number() over (partition by release_id order by payload ->> 'at' desc, ingested_at desc, event_type) = 1
    """).fetchall()
    return {rid: {"withdrawn": etype == "release_withdrawn", **json.loads(payload)} for rid, etype, payload in rows}


def withdrawn(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The releases withdrawn now, with reason, time and who."""
    return [{"release_id": rid, **{k: v for k, v in s.items() if k != "withdrawn"}}
            for rid, s in sorted(state(con).items()) if s["withdrawn"]]


def record(con: duckdb.DuckDBPyConnection, release_id: str, reason: str, undo: bool = False) -> dict:
    """Append a release_withdrawn (or, with undo, release_reinstated) event; returns its payload."""
    event_log.ensure_schema(con)
    known = {r[0] for r in con.execute(
        f"select distinct release_id from {event_log.TABLE} where event_type = 'release_registered'").fetchall()}
    if release_id not in known:
        shown = ", ".join(sorted(known)) or "none yet"
        raise WithdrawError(f"release {release_id!r} is not in the event log (releases: {shown})")
    current = state(con).get(release_id, {}).get("withdrawn", False)
    if undo and not current:
        raise WithdrawError(f"release {release_id} is not withdrawn; nothing to undo")
    if not undo and current:
        raise WithdrawError(f"release {release_id} is already withdrawn; `foil withdraw {release_id} --undo` reinstates it")
    now = dt.datetime.now(dt.timezone.utc)
    payload = {"reason": reason, "at": now.isoformat(timespec="microseconds"), "by": getpass.getuser()}
    event = event_log.single("release_reinstated" if undo else "release_withdrawn", payload, occurred_at=now)
    event_log.append(con, event, release_id=release_id, recorded_at=now.date(), source_path=SOURCE_PATH,
                     source_sha256=None, parser=PARSER, parser_version=VERSION, dedupe=False)
    return payload
