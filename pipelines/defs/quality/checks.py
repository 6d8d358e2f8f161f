"""Great Expectations suites as blocking asset checks on the marts (dbt tests are checks too)."""

import dagster as dg

from pipelines.defs.resources import FoilPaths
from pipelines.lib.gates import check_table, load_suite, suite_names


def _preview(frame, rows: int = 5) -> str:
    """A small markdown table of the checked columns, so the UI shows what was validated."""
    head = frame.head(rows)
    cells = [[str(v)[:40].replace("|", "/") for v in row] for row in head.itertuples(index=False)]
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


def gx_check(mart: str) -> dg.AssetChecksDefinition:
    spec = load_suite(mart)

    @dg.asset_check(
        asset=dg.AssetKey(["marts", mart]),
        name=f"gx_{mart}",
        blocking=True,
        description=spec.get("notes") or f"Great Expectations suite expectations/{mart}.json",
    )
    def _check(foil: FoilPaths) -> dg.AssetCheckResult:
        result, rows, head = check_table(foil.paths().build_db, mart, spec)
        return dg.AssetCheckResult(
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.describe(),
            metadata={
                "rows": rows,
                "evaluated_expectations": result.evaluated,
                "failed_expectations": len(result.failures),
                "failures": dg.MetadataValue.json(result.failures),
                "preview": dg.MetadataValue.md(_preview(head)),
            },
        )

    return _check


defs = dg.Definitions(asset_checks=[gx_check(name) for name in suite_names()])
