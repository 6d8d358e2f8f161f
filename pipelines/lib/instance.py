"""The persistent Dagster instance in the state folder, shared by the CLI and `dagster dev`."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .paths import Paths

TEMPLATE = Path(__file__).resolve().parents[1] / "dagster.yaml"


def prepare_dagster_home(paths: Paths) -> Path:
    """DAGSTER_HOME wins if set; otherwise the state folder's dagster_home, created from the template."""
    home = Path(os.environ.get("DAGSTER_HOME") or paths.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(TEMPLATE, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home
