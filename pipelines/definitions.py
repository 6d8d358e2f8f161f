"""The single code location: the CLI (`foil build`) and `dagster dev -w workspace.yaml` load this."""
from __future__ import annotations

import dagster as dg

from pipelines.defs import jobs
from pipelines.defs.ingest import assets as ingest
from pipelines.defs.ingest import sensors
from pipelines.defs.publish import assets as publish
from pipelines.defs.quality import checks as quality
from pipelines.defs.resources import BuildLock, DaskCluster, FoilPaths
from pipelines.defs.transform import assets as transform

defs = dg.Definitions.merge(
    ingest.defs,
    sensors.defs,
    transform.defs,
    quality.defs,
    publish.defs,
    jobs.defs,
    dg.Definitions(resources={"foil": FoilPaths(), "build_lock": BuildLock(foil=FoilPaths()), "dask": DaskCluster()}),
)
