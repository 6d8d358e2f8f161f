"""Resources shared by every domain: where the raw releases and the warehouse files are."""

from contextlib import contextmanager

import dagster as dg

from pipelines.lib.lock import BuildRunning, build_lock
from pipelines.lib.paths import Paths, resolve


class FoilPaths(dg.ConfigurableResource):
    """Empty values fall back to FOIL_RAW_DIR / FOIL_WAREHOUSE, then to the repository defaults."""

    raw_dir: str = ""
    warehouse: str = ""

    def paths(self) -> Paths:
        return resolve(self.raw_dir or None, self.warehouse or None)

    @contextmanager
    def writing(self, context):
        """Hold the state folder's build lock while a step writes the build database or the published
        file: a run from the UI and a `foil build` never write at once (the CLI already holds it)."""
        try:
            with build_lock(self.paths().state_dir, f"dagster run {context.run_id}"):
                yield
        except BuildRunning as err:
            raise dg.Failure(description=str(err)) from None
