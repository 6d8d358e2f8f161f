"""Great Expectations suites as blocking asset checks on the marts (dbt tests are checks too)."""

import dagster as dg

from pipelines.defs.resources import FoilPaths
from pipelines.lib import gate_worker
from pipelines.lib.gates import load_suite, suite_names


def gx_check_key(mart: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(["marts", mart]), f"gx_{mart}")


def gx_check(mart: str) -> dg.AssetChecksDefinition:
    spec = load_suite(mart)
    key = gx_check_key(mart)

    @dg.asset_check(
        asset=key.asset_key,
        name=key.name,
        blocking=True,
        description=spec.get("notes") or f"Great Expectations suite expectations/{mart}.json",
    )
    def _check(foil: FoilPaths) -> dg.AssetCheckResult:
        result, rows, preview, read_from = gate_worker.check(foil.paths().build_db, mart, spec)
        return dg.AssetCheckResult(
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.describe(),
            metadata={
                "rows": rows,
                "evaluated_expectations": result.evaluated,
                "failed_expectations": len(result.failures),
                "failures": dg.MetadataValue.json(result.failures),
                # what was checked, each with its column, arguments, result and bad-row count
                "expectations": dg.MetadataValue.md(result.expectations_markdown()),
                "expectations_json": dg.MetadataValue.json(result.expectations),
                "preview": dg.MetadataValue.md(preview),
                # "snapshot": copied from the mart as dbt built it in this run, and checked meanwhile
                "read_from": read_from,
            },
        )

    return _check


defs = dg.Definitions(asset_checks=[gx_check(name) for name in suite_names()])
