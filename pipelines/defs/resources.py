"""Resources shared by every domain: where the raw releases and the warehouse files are, the build
lock, and the Dask cluster extraction runs on."""

from contextlib import contextmanager

import dagster as dg
from pydantic import PrivateAttr

from pipelines.lib.cluster import Cluster
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


class DaskCluster(dg.ConfigurableResource):
    """Where extraction tasks run (lib/cluster.py): the Dask scheduler at `scheduler` (empty: the one
    FOIL_DASK_SCHEDULER names), else a LocalCluster of `workers` processes (0: FOIL_INGEST_WORKERS, else
    one per core). Nothing starts until a release is large enough to need workers; what this run
    started is closed at its end. Assets submit to `cluster()`; Dagster stays the orchestrator."""

    scheduler: str = ""
    workers: int = 0
    _cluster: Cluster | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._cluster = Cluster(self.scheduler or None, self.workers or None)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._cluster is not None:
            self._cluster.close()

    def cluster(self) -> Cluster:
        if self._cluster is None:  # used outside a run (a test calling the asset directly)
            self._cluster = Cluster(self.scheduler or None, self.workers or None)
        return self._cluster
