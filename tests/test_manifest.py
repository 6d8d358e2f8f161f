"""Release manifests: every error names the folder and the field; bad folders do not stop good ones."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.lib.manifest import Manifest, ManifestError, load_manifest, scan_releases

from .conftest import write_release


def test_valid_manifest_keeps_unknown_keys(raw):
    folder = write_release(raw, "rel-1", supersedes="[rel-0]", generator="{name: gen, seed: 7}")
    m = load_manifest(folder)
    assert m.released_on == dt.date(2021, 4, 5)
    payload = m.payload()
    assert payload["supersedes"] == ["rel-0"] and payload["generator"] == {"name": "gen", "seed": 7}
    assert payload["released_on"] == "2021-04-05" and payload["synthetic"] is True


@pytest.mark.parametrize(
    "yaml_text, field",
    [
        (None, "release.yaml"),
        ("release_id: [unclosed", "release.yaml"),
        ("- a list", "release.yaml"),
        ("release_id: bad\nagency: NYPD\nrequest_id: R\nreleased_on: 2021-01-01\n", "release_id"),
        ("release_id: rel\nrequest_id: R\nreleased_on: 2021-01-01\n", "agency"),
        ("release_id: rel\nagency: NYPD\nrequest_id: R\nreleased_on: someday\n", "released_on"),
        ("release_id: rel\nagency: NYPD\nrequest_id: R\nreleased_on: 2021-01-01\nsupersedes: rel-0\n", "supersedes"),
        ("release_id: rel\nagency: NYPD\nrequest_id: R\nreleased_on: 2021-01-01\nsynthetic: maybe\n", "synthetic"),
    ],
)
def test_invalid_manifests_name_folder_and_field(raw, yaml_text, field):
    folder = raw / "rel"
    folder.mkdir()
    if yaml_text is not None:
        (folder / "release.yaml").write_text(yaml_text)
    with pytest.raises(ManifestError) as info:
        load_manifest(folder)
    assert info.value.field == field
    assert str(folder) in str(info.value) and field in str(info.value)


def test_scan_orders_by_date_and_collects_errors(raw):
    write_release(raw, "b-later", released_on="2021-06-01")
    write_release(raw, "a-earlier", released_on="2021-04-01")
    (raw / "broken").mkdir()
    (raw / "_generator").mkdir()  # not a release
    good, bad = scan_releases(raw)
    assert [m.release_id for m in good] == ["a-earlier", "b-later"]
    assert [e.folder.name for e in bad] == ["broken"]


# ---------------------------------------------------------------- issue #14: every bad manifest is a ManifestError
GOOD = "release_id: rel\nagency: NYPD\nrequest_id: R\nreleased_on: 2021-04-05\n"


def write_manifest(raw, text, name="rel"):
    folder = raw / name
    folder.mkdir(exist_ok=True)
    (folder / "release.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


def rejection(folder) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        load_manifest(folder)
    assert str(folder) in str(info.value) and "see docs/releases.md" in str(info.value)
    return info.value


@pytest.mark.parametrize("date", ["2021-02-30", "2022-13-01", "'2021-02-30'", "2021-04-05 10:00:00", "20210405", "2021-W14-1"])
def test_impossible_or_malformed_date_is_a_manifest_error(raw, date):
    folder = write_manifest(raw, GOOD.replace("2021-04-05", date))
    err = rejection(folder)
    assert err.field == "released_on" and "is not a valid date YYYY-MM-DD" in err.problem
    assert date.strip("'") in err.problem


def test_date_error_message_quotes_the_value(raw):
    folder = write_manifest(raw, GOOD.replace("2021-04-05", "2021-02-30"))
    assert "released_on: '2021-02-30' is not a valid date YYYY-MM-DD" in str(rejection(folder))


@pytest.mark.parametrize("date", ["2021-04-05", "'2021-04-05'", '"2021-04-05"', "!!timestamp 2021-04-05"])
def test_dates_are_parsed_from_text_quoted_or_not(raw, date):
    m = load_manifest(write_manifest(raw, GOOD.replace("2021-04-05", date)))
    assert m.released_on == dt.date(2021, 4, 5) and m.payload()["released_on"] == "2021-04-05"


def test_other_date_like_values_stay_text(raw):
    m = load_manifest(write_manifest(raw, GOOD + "received: 2021-02-30\nlogged: 2021-04-05 10:00:00\n"))
    assert m.payload()["received"] == "2021-02-30" and m.payload()["logged"] == "2021-04-05 10:00:00"


@pytest.mark.parametrize("extra, field", [
    ("release_id: rel\n", "release_id"),
    ("agency: NYPD\n", "agency"),
    ("title: a\ntitle: b\n", "title"),
])
def test_duplicate_keys_are_rejected_naming_the_key(raw, extra, field):
    err = rejection(write_manifest(raw, GOOD + extra))
    assert err.field == field and "given twice" in err.problem and "line" in err.problem


def test_duplicate_keys_in_nested_mappings_are_rejected(raw):
    err = rejection(write_manifest(raw, GOOD + "generator: {name: a, name: b}\n"))
    assert err.field == "name" and "given twice" in err.problem


def billion_laughs(levels=9, width=9) -> str:
    lines = ['l0: &l0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return GOOD + "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_before_expansion(raw):
    import tracemalloc

    folder = write_manifest(raw, billion_laughs())
    tracemalloc.start()
    try:
        err = rejection(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.field == "release.yaml" and "anchors and aliases" in err.problem
    assert peak < 5_000_000  # bytes: refused at the first anchor, nothing expanded


@pytest.mark.parametrize("extra", [
    "title: &t hello\nnotes: *t\n",          # anchor + alias
    "title: &t hello\n",                      # an anchor alone is refused too
    "notes: *nowhere\n",                      # a dangling alias
    "generator: {<<: {seed: 1}, name: g}\n",  # merge keys only make sense with anchors
])
def test_anchors_aliases_and_merge_keys_are_refused(raw, extra):
    err = rejection(write_manifest(raw, GOOD + extra))
    assert err.field == "release.yaml"
    assert "anchors and aliases" in err.problem or "merge keys" in err.problem


def test_oversized_manifest_is_refused_before_parsing(raw):
    from pipelines.lib.manifest import MAX_MANIFEST_BYTES

    text = GOOD + "notes: " + "x" * MAX_MANIFEST_BYTES + "\n"
    err = rejection(write_manifest(raw, text))
    assert err.field == "release.yaml"
    assert str(len(text)) in err.problem and str(MAX_MANIFEST_BYTES) in err.problem


@pytest.mark.parametrize("text", [
    GOOD + "seed: !!int abc\n",           # SafeLoader raises ValueError
    GOOD + "seed: 0b_\n",                 # ... also for an implicit int
    GOOD + "synthetic: !!bool maybe\n",   # ... and KeyError
    GOOD + "generator: " + "[" * 200 + "]" * 200 + "\n",  # ... and RecursionError when deep enough
    b"\xff\xfe\x00garbage",
    GOOD.encode() + b"notes: \x00\n",
])
def test_loader_exceptions_become_manifest_errors(raw, text):
    assert rejection(write_manifest(raw, text)).field == "release.yaml"


YAMLISH = st.text(alphabet=st.sampled_from(list("abrel_id:-[]{}&*!|>'\"#,?<=.%@` \n\t0123456789")), max_size=200)
# Manifest-shaped documents built from the keys and the kinds of values that used to escape as other errors.
KEYS = st.sampled_from(["release_id", "agency", "request_id", "released_on", "supersedes", "synthetic", "title",
                        "notes", "generator", "<<", "? [a]"])
VALUES = st.sampled_from(["rel", "NYPD", "2021-04-05", "2021-02-30", "2022-13-01", "'2021-04-05'", "[rel]", "[]", "{}",
                          "~", "true", "maybe", "0b_", "!!int x", "!!bool maybe", "!!timestamp 2021-02-30", "&a x", "*a",
                          "[*a, *a]", "{<<: {a: 1}}", ".nan", "'", "[", "|\n  text", "{a: 1, a: 2}"])
MANIFESTISH = st.lists(st.tuples(KEYS, st.one_of(VALUES, YAMLISH)), max_size=8).map(
    lambda kvs: "".join(f"{k}: {v}\n" for k, v in kvs).encode())


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=300), YAMLISH.map(str.encode), MANIFESTISH,
                         MANIFESTISH.map(lambda b: GOOD.encode() + b)))
def test_fuzz_any_bytes_give_a_manifest_or_a_manifest_error(raw, content):
    folder = write_manifest(raw, content)
    try:
        assert isinstance(load_manifest(folder), Manifest)
    except ManifestError as err:
        assert err.folder == folder and err.field
    good, bad = scan_releases(raw)
    assert len(good) + len(bad) == 1


# ---------------------------------------------------------------- supersedes across releases
def test_supersedes_must_name_an_existing_release_folder(raw):
    write_release(raw, "rel-0")
    write_release(raw, "rel-1", supersedes="[rel-0, rel-missing]")
    good, bad = scan_releases(raw)
    assert [m.release_id for m in good] == ["rel-0"]
    (err,) = bad
    assert err.folder.name == "rel-1" and err.field == "supersedes"
    assert "'rel-missing'" in err.problem and "rel-0" not in err.problem


def test_superseding_a_rejected_release_still_counts_as_existing(raw):
    write_release(raw, "rel-0", released_on="2021-02-30")
    write_release(raw, "rel-1", supersedes="[rel-0]")
    good, bad = scan_releases(raw)
    assert [m.release_id for m in good] == ["rel-1"]
    assert [(e.folder.name, e.field) for e in bad] == [("rel-0", "released_on")]


@pytest.mark.parametrize("edges", [
    {"a": "b", "b": "a"},
    {"a": "b", "b": "c", "c": "a"},
])
def test_supersedes_cycles_reject_every_release_in_the_cycle(raw, edges):
    for rid, target in edges.items():
        write_release(raw, rid, supersedes=f"[{target}]")
    write_release(raw, "z-points-into-cycle", supersedes="[a]")  # not in the cycle: kept
    write_release(raw, "lone")
    good, bad = scan_releases(raw)
    assert sorted(m.release_id for m in good) == ["lone", "z-points-into-cycle"]
    assert [e.folder.name for e in bad] == sorted(edges)
    for err in bad:
        assert err.field == "supersedes" and "cycle" in err.problem
        rid = err.folder.name
        assert err.problem.count(" -> ") == len(edges) and f"({rid} -> " in err.problem and f" -> {rid})" in err.problem


def test_scan_never_raises_for_bad_manifests(raw):
    write_release(raw, "good")
    write_manifest(raw, GOOD.replace("2021-04-05", "2021-02-30"), name="bad-date")
    write_manifest(raw, billion_laughs(), name="bomb")
    write_manifest(raw, GOOD + "release_id: rel\n", name="dup")
    good, bad = scan_releases(raw)
    assert [m.release_id for m in good] == ["good"]
    assert [e.folder.name for e in bad] == ["bad-date", "bomb", "dup"]
