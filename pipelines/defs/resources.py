"""Resources shared by every domain: where the raw releases and the warehouse files are."""

import dagster as dg

from pipelines.lib.paths import Paths, resolve


class FoilPaths(dg.ConfigurableResource):
    """Empty values fall back to FOIL_RAW_DIR / FOIL_WAREHOUSE, then to the repository defaults."""

    raw_dir: str = ""
    warehouse: str = ""

    def paths(self) -> Paths:
        return resolve(self.raw_dir or None, self.warehouse or None)
