"""The release sensor: new complete folders get one run; fresh, broken or changed folders are reported."""
from __future__ import annotations

import os
import time

import dagster as dg
import pytest

from .conftest import eml, write_release


@pytest.fixture
def evaluate(raw, monkeypatch):
    monkeypatch.setenv("FOIL_RAW_DIR", str(raw))
    from pipelines.definitions import defs
    from pipelines.defs.ingest.sensors import release_sensor
    from pipelines.defs.resources import FoilPaths

    with dg.instance_for_test() as instance:
        def run(cursor=None):
            ctx = dg.build_sensor_context(instance=instance, definitions=defs, cursor=cursor, resources={"foil": FoilPaths()})
            result = release_sensor(ctx)
            for req in result.dynamic_partitions_requests or []:
                instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
            return result

        yield run


def age(folder, seconds=60):
    old = time.time() - seconds
    for p in [folder, *folder.rglob("*")]:
        os.utime(p, (old, old))


def test_new_complete_release_gets_one_run(raw, evaluate):
    folder = write_release(raw, "rel-a", files={"a.eml": eml("a@x")})
    age(folder)
    first = evaluate()
    assert [r.partition_key for r in first.run_requests] == ["rel-a"]
    assert first.run_requests[0].run_key == "rel-a"
    assert list(first.dynamic_partitions_requests[0].partition_keys) == ["rel-a"]
    again = evaluate(first.cursor)
    assert again.run_requests == [] and "no new releases" in again.skip_reason.skip_message


def test_folder_still_being_written_waits(raw, evaluate):
    write_release(raw, "rel-b", files={"a.eml": eml("a@x")})
    result = evaluate()
    assert result.run_requests == [] and "waiting" in result.skip_reason.skip_message


def test_invalid_manifest_is_reported_not_run(raw, evaluate):
    (raw / "rel-c").mkdir()
    result = evaluate()
    assert result.run_requests == [] and "rel-c" in result.skip_reason.skip_message


def test_changed_release_is_reported_and_requested_again(raw, evaluate):
    folder = write_release(raw, "rel-d", files={"a.eml": eml("a@x")})
    age(folder, 120)
    first = evaluate()
    (folder / "a.eml").write_bytes(eml("a@x", body="edited"))
    age(folder, 60)
    second = evaluate(first.cursor)
    (req,) = second.run_requests
    assert req.partition_key == "rel-d" and req.run_key.startswith("rel-d@")


def test_impossible_date_skips_only_that_folder(raw, evaluate):
    # issue #14: `released_on: 2021-02-30` used to make every tick raise, so no release was processed.
    good = write_release(raw, "rel-good", files={"a.eml": eml("a@x")})
    bad = write_release(raw, "rel-bad", released_on="2021-02-30", files={"b.eml": eml("b@x")})
    age(good), age(bad)
    first = evaluate()
    assert [r.partition_key for r in first.run_requests] == ["rel-good"]
    assert list(first.dynamic_partitions_requests[0].partition_keys) == ["rel-good"]
    again = evaluate(first.cursor)  # nothing new to run: the note about the bad folder is the skip reason
    note = again.skip_reason.skip_message
    assert again.run_requests == [] and "rel-bad" in note and "released_on: '2021-02-30' is not a valid date" in note


def test_cross_release_checks_apply_to_the_sensor(raw, evaluate):
    folders = [write_release(raw, "rel-a", supersedes="[rel-b]"), write_release(raw, "rel-b", supersedes="[rel-a]"),
               write_release(raw, "rel-c", supersedes="[rel-gone]"), write_release(raw, "rel-ok", supersedes="[rel-a]")]
    for folder in folders:
        age(folder)
    first = evaluate()
    assert [r.partition_key for r in first.run_requests] == ["rel-ok"]
    note = evaluate(first.cursor).skip_reason.skip_message
    assert "rel-a -> rel-b -> rel-a" in note and "rel-b -> rel-a -> rel-b" in note and "'rel-gone'" in note
