"""Great Expectations suites as blocking asset checks on the marts (dbt tests are checks too).

Each check runs in the build's own process once dbt has finished (it depends on the mart dbt built), and
the in-process executor runs them one mart after another; publish waits for all of them.
"""

import dagster as dg

from pipelines.defs.resources import FoilPaths
from pipelines.lib.gates import check_table, load_suite, preview_markdown, suite_digest, suite_names


class GateConfig(dg.Config):
    # Check every row. Otherwise (an incremental build) the rows the published file already holds are
    # vouched for by this suite having passed on it (pipelines/lib/gates.py check_table).
    full: bool = False


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
    def _check(foil: FoilPaths, config: GateConfig) -> dg.AssetCheckResult:
        paths = foil.paths()
        result, rows, head = check_table(paths.build_db, mart, spec, published=None if config.full else paths.warehouse)
        return dg.AssetCheckResult(
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.describe(),
            metadata={
                "rows": rows,
                # None: every row; else how many the published file did not already hold
                "rows_validated_row_by_row": rows if result.rows_validated is None else result.rows_validated,
                # recorded in build_info: a later build's gate trusts the published rows only under this suite
                "suite_sha256": suite_digest(spec),
                "evaluated_expectations": result.evaluated,
                "failed_expectations": len(result.failures),
                "failures": dg.MetadataValue.json(result.failures),
                # what was checked, each with its column, arguments, result and bad-row count
                "expectations": dg.MetadataValue.md(result.expectations_markdown()),
                "expectations_json": dg.MetadataValue.json(result.expectations),
                # the first rows of the checked columns, so the UI shows what was validated
                "preview": dg.MetadataValue.md(preview_markdown(head)),
            },
        )

    return _check


GX_CHECKS = [gx_check(name) for name in suite_names()]

defs = dg.Definitions(asset_checks=GX_CHECKS)
