"""Release manifests: every error names the folder and the field; bad folders do not stop good ones."""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines.lib.manifest import ManifestError, load_manifest, scan_releases

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
