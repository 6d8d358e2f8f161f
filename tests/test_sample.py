"""The committed sample is what its generators produce, and it follows the synthetic-sample rules."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from .conftest import REPO

GENERATORS = sorted((REPO / "raw" / "_generator").glob("gen*.py"))
FORBIDDEN = re.compile(rb"@(nypd\.org|clearview\.ai|ice\.dhs\.gov|dhs\.gov|ice\.gov|gmail\.com|yahoo\.com)\b", re.I)


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda p: p.name)
def test_generator_reproduces_the_committed_files(generator):
    proc = subprocess.run([sys.executable, str(generator), "--check"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_sample_release_is_labelled_synthetic_and_uses_reserved_domains():
    releases = [p for p in (REPO / "raw").iterdir() if p.is_dir() and not p.name.startswith(("_", "."))]
    assert len(releases) >= 3
    for release in releases:
        manifest = yaml.safe_load((release / "release.yaml").read_text())
        assert manifest["synthetic"] is True and manifest["release_id"] == release.name
        for path in release.rglob("*"):
            if path.is_file():
                assert not FORBIDDEN.search(path.read_bytes()), f"{path} uses a real mail domain"
