"""Great Expectations gates: validate a mart (read read-only from the build database) against its suite.

GX Core 1.x has no working DuckDB datasource, so the mart is read into pandas and validated with an
ephemeral context. GX is imported lazily: it costs seconds and hundreds of MB, and every Dagster code
load would pay it otherwise.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


from . import duck
from .paths import EXPECTATIONS_DIR

SOURCE_COLUMNS = ("release_id", "document_id")


@dataclass
class GateResult:
    suite: str
    success: bool
    evaluated: int
    failures: list[dict] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"{self.suite}: {len(self.failures)} of {self.evaluated} expectations failed"]
        for f in self.failures:
            where = f"; bad rows from {', '.join(f['sources'])}" if f.get("sources") else ""
            lines.append(f"  - {f['expectation']} {f.get('column') or ''}: {f['unexpected_count']} unexpected{where}")
        return "\n".join(lines)


def suite_names(directory: Path = EXPECTATIONS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json"))


def load_suite(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    return json.loads((directory / f"{name}.json").read_text())


def needed_columns(spec: dict) -> set[str] | None:
    """Columns the suite looks at (plus provenance), or None when a table-wide expectation needs all."""
    cols = set(SOURCE_COLUMNS)
    for exp in spec["expectations"]:
        kwargs = exp.get("kwargs", {})
        if exp["type"].startswith("expect_table_column"):
            return None
        cols |= {kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs}
        cols |= set(kwargs.get("column_list", []))
    return cols


def read_table(build_db: Path, table: str, columns: set[str] | None = None):
    """The mart as a pandas frame; only the needed columns, so memory stays small on large marts."""
    with duck.connect(build_db, read_only=True) as con:
        present = [c for c in con.sql(f"select * from {table} limit 0").columns]
        chosen = [c for c in present if columns is None or c in columns] or present
        return con.sql(f"select {', '.join(chr(34) + c + chr(34) for c in chosen)} from {table}").df()


def validate(name: str, frame, spec: dict | None = None) -> GateResult:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # lazy: see module docstring

    spec = spec or load_suite(name)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    suite = context.suites.add(
        gx.ExpectationSuite(name=spec.get("name", name), expectations=spec["expectations"], meta=spec.get("meta") or {})
    )
    batch = (
        context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    index_columns = [c for c in SOURCE_COLUMNS if c in frame.columns]
    result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": index_columns} if index_columns else "SUMMARY"
    outcome = batch.validate(suite, result_format=result_format)
    failures = []
    for res in outcome.results:
        if res.success:
            continue
        detail = res.result or {}
        sources = sorted({
            "/".join(str(row.get(c)) for c in index_columns)
            for row in (detail.get("unexpected_index_list") or [])
            if isinstance(row, dict)
        })
        failures.append({
            "expectation": res.expectation_config.type,
            "column": res.expectation_config.kwargs.get("column"),
            # column expectations count bad rows; table-level ones report what they observed
            "unexpected_count": detail["unexpected_count"] if "unexpected_count" in detail
            else f"observed {detail.get('observed_value')}",
            "sample": [str(v) for v in (detail.get("partial_unexpected_list") or [])[:5]],
            "sources": sources[:20],
        })
    return GateResult(name, bool(outcome.success), int(outcome.statistics["evaluated_expectations"]), failures)
