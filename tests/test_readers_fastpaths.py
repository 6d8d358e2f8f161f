"""The ingest's shortcuts give exactly what the general code gives (event ids hash their output)."""
from __future__ import annotations

import datetime as dt
import email.utils

import duckdb
import pyarrow as pa
import pytest

from pipelines.lib import event_log
from pipelines.readers import columns
from pipelines.readers.base import BATCH_SCHEMA, canonical_json
from pipelines.readers.email_message import common_date, parse_addresses, parse_date, utf8_json

DATES = ["Mon, 01 Mar 2019 00:00:00 -0500", "Tue, 9 Jul 2019 23:59:59 +0530", "Wed, 01 Jan 2019 00:00:00 +0000",
         "Thu, 01 Jan 2019 00:00:00 -0000", "Fri, 01 Jan 0050 00:00:00 +0000", "Sat, 29 Feb 2019 00:00:00 +0000",
         "Sun, 01 Jan 2019 24:00:00 +0000", "Mon, 01 Jan 2019 00:00:00 +9959", "Mon, 01 Jan 0001 00:00:00 +0100",
         "Mon, 01 Jan 2150 00:00:00 +0000", "Mon, ٠١ Jan 2019 00:00:00 +0000", "Mon, 01 Jan 2019 00:00:00 EST", "garbage", ""]


@pytest.mark.parametrize("raw", DATES)
def test_common_dates_read_as_parsedate_to_datetime(raw):
    fast = common_date(raw)
    if fast is not None:
        slow = email.utils.parsedate_to_datetime(raw)
        assert (fast, fast.utcoffset()) == (slow, slow.utcoffset())
    defects = []
    parsed = parse_date(raw, defects)
    assert parsed is None or parsed.tzinfo is dt.timezone.utc
    assert (raw == "Thu, 01 Jan 2019 00:00:00 -0000") == ("date: no time zone, assumed UTC" in defects)


def test_cached_address_parts_give_the_same_entries_every_time():
    raw = "Ann  Officer <ANN@nypd.example>, [REDACTED 87(2)(b)], bob@x.example, , \"Doe, Jane\" <jd@x>"
    first = parse_addresses(raw)
    assert parse_addresses(raw) == first
    assert first[0] == {"name": "[REDACTED 87(2)(b)]", "email": None, "redacted": True}
    assert {"name": "Ann Officer", "email": "ann@nypd.example", "redacted": False} in first
    assert parse_addresses("a@x, b@y") == [{"name": None, "email": "a@x", "redacted": False},
                                           {"name": None, "email": "b@y", "redacted": False}]


def _same(values, type_):
    def attempt(build):
        try:
            out = build(values, type_)
            return out.type, out.to_pylist(), out.null_count
        except Exception as exc:
            return type(exc), str(exc)
    assert attempt(columns.array) == attempt(pa.array)


@pytest.mark.parametrize("values", [["a", None, "é😀", ""], [b"ab", None], [None, None], [], ["\udcff"], [b"\xff"], [1], ["a", 2]])
def test_string_columns_match_pa_array(values):
    _same(values, pa.string())


@pytest.mark.parametrize("values", [[1, None, -(2**63), 2**63 - 1], [2**63], [True], ["1"], [None]])
def test_int_columns_match_pa_array(values):
    _same(values, pa.int64())


@pytest.mark.parametrize("values", [
    [dt.datetime(2019, 3, 1, 5, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5))), None],
    [dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)],
    [dt.datetime(2019, 1, 1)], [dt.date(2019, 1, 1)], ["x"],
])
def test_timestamp_columns_match_pa_array(values):
    _same(values, pa.timestamp("us", tz="UTC"))


@pytest.mark.parametrize("payload", [
    {"b": 1, "a": [None, True, False, -3], "é": {"z": "x\n\t\"\\\u2028\x7f\x01", "ｚ": "😀", "\U0001f600": ""}},
    {"index": 2**70, "k": "v"},  # beyond 64 bits: orjson refuses, the standard library writes it
])
def test_worker_json_is_canonical_json(payload):
    assert utf8_json(payload) == canonical_json(payload).encode()


def test_worker_json_leaves_unencodable_text_to_the_parent():
    assert utf8_json({"subject": "bad \udcff"}) == canonical_json({"subject": "bad \udcff"})


def test_event_ids_are_the_sha256_the_log_always_used():
    batch = pa.table({"event_type": ["a", "b", None], "occurred_at": [None] * 3, "source_offset": [5, None, -1],
                      "source_row": [None, 7, None], "source_bates": [None, "B|1", ""],
                      "payload": ['{"é":1}', "{}", '{"x":null}']}, schema=BATCH_SCHEMA)
    ctx = dict(release_id="rel", source_path="a/b.mbox", source_sha256=None, parser="mbox", parser_version="2")
    con = duckdb.connect()
    con.register("_b", batch)
    expected = [r[0] for r in con.execute(
        """select sha256(concat_ws('|', ?, event_type, ?, coalesce(?, ''), coalesce(source_offset::varchar, ''),
                  coalesce(source_row::varchar, ''), coalesce(source_bates, ''), ?, ?, payload)) from _b""",
        [ctx["release_id"], ctx["source_path"], ctx["source_sha256"], ctx["parser"], ctx["parser_version"]]).fetchall()]
    assert event_log.event_ids(batch, **ctx) == expected
