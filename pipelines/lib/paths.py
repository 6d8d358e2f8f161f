"""Where things live: raw releases, the published file, and private state beside it.

`FOIL_RAW_DIR` and `FOIL_WAREHOUSE` set the two user-facing paths for both the CLI and the UI;
everything else (build database, Dagster home, last build report) sits in a state folder next to the
published file so one warehouse path fully identifies one deployment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


@dataclass(frozen=True)
class Paths:
    raw_dir: Path
    warehouse: Path
    # FOIL_RAW_DIR as an s3:// URL: raw_dir is then the local copy in the state folder (storage.sync_raw)
    raw_url: str | None = None

    @property
    def state_dir(self) -> Path:
        override = os.environ.get("FOIL_STATE_DIR")
        if override:
            return Path(override).resolve()
        return self.warehouse.parent / f".{self.warehouse.stem}.state"

    @property
    def build_db(self) -> Path:
        return self.state_dir / "build.duckdb"

    @property
    def previous(self) -> Path:
        return self.state_dir / "previous.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.state_dir / "dagster_home"

    @property
    def last_build_report(self) -> Path:
        return self.state_dir / "last_build.json"


def resolve(raw_dir: str | os.PathLike | None = None, warehouse: str | os.PathLike | None = None) -> Paths:
    """Explicit arguments win, then the environment, then the repository defaults."""
    raw = raw_dir or os.environ.get("FOIL_RAW_DIR") or REPO_ROOT / "raw"
    wh = Path(warehouse or os.environ.get("FOIL_WAREHOUSE") or REPO_ROOT / "warehouse" / "analytics.duckdb").resolve()
    if str(raw).startswith("s3://"):
        url = str(raw).rstrip("/")
        return Paths(raw_dir=Paths(Path(), wh).state_dir / "raw", warehouse=wh, raw_url=url)
    return Paths(raw_dir=Path(raw).resolve(), warehouse=wh)
