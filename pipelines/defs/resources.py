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


class BuildLock(dg.ConfigurableResource):
    """The state folder's build lock, held for a whole run by every run that writes (ingest, dbt,
    publish): a UI run and a `foil build` never write at once, and a build that holds the lock knows
    that any run still marked started is dead (lib/recovery.py). In-process runs set resources up
    once per run; the CLI already holds the lock, so its runs take it again at no cost."""

    foil: dg.ResourceDependency[FoilPaths]

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        try:
            with build_lock(self.foil.paths().state_dir, f"dagster run {context.run_id}"):
                yield self
        except BuildRunning as err:
            raise dg.Failure(description=str(err)) from None
