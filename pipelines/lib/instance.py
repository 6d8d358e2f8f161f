"""The persistent Dagster instance in the state folder, shared by the CLI and `dagster dev`."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .paths import Paths

TEMPLATE = Path(__file__).resolve().parents[1] / "dagster.yaml"
# Homes created before the stock storage named this module, which no longer exists: Dagster could not
# load such an instance, so its dagster.yaml is replaced by the template (kept beside it as
# dagster.yaml.old, for any setting someone added by hand). The history stays: the layout is the same.
RETIRED_STORAGE = "pipelines.lib.dagster_sqlite"


def prepare_dagster_home(paths: Paths) -> Path:
    """DAGSTER_HOME wins if set; otherwise the state folder's dagster_home, created from the template."""
    home = ensure_home(Path(os.environ.get("DAGSTER_HOME") or paths.dagster_home))
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def ensure_home(home: Path) -> Path:
    """`home`, created if missing, with the template as its dagster.yaml unless it has one of its own."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if config.exists() and RETIRED_STORAGE in config.read_text(errors="replace"):
        config.replace(config.with_name("dagster.yaml.old"))
    if not config.exists():
        shutil.copyfile(TEMPLATE, config)
    return home
