"""Great Expectations gates: validate a mart (read read-only from the build database) against its suite.

GX Core 1.x has no working DuckDB datasource, so the mart is read into pandas through DuckDB's Python
API and validated with GX's documented pandas path: an ephemeral context, a dataframe asset and
`Batch.validate`. A large mart is validated in chunks of rows (see check_table), so memory does not grow
with the release, and after an incremental build only the rows the published file does not already hold
(see new_rows_sql): a release costs the gates what it adds. GX is imported on first use, not with this
module: every Dagster code load (the UI, `foil status`) would pay its import time and memory otherwise.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import duck
from .memory import release_freed_memory
from .paths import EXPECTATIONS_DIR

SOURCE_COLUMNS = ("release_id", "document_id")
CHUNK_ROWS = int(os.environ.get("FOIL_GATE_CHUNK_ROWS", "100000"))
# Expectations decided row by row: a table passes when every chunk passes and the bad rows add up.
# Anything else (uniqueness, row counts, `mostly`) looks at the whole column and runs on the whole table.
ROW_WISE = {
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between", "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex", "expect_column_values_to_be_null",
}
# Part of every suite's digest: bump it when what decides a row-wise verdict changes (ROW_WISE, how a mart
# is read into frames), so a published file's passed gates stop vouching for its rows.
ROW_VERDICTS = 1


@dataclass
class GateResult:
    suite: str
    success: bool
    evaluated: int
    failures: list[dict] = field(default_factory=list)
    # every expectation evaluated: expectation, column, kwargs (without the column), passed, unexpected_count
    expectations: list[dict] = field(default_factory=list)
    # rows the row-wise expectations read; fewer than the mart's rows when published rows were vouched for
    rows_validated: int | None = None

    def describe(self) -> str:
        lines = [f"{self.suite}: {len(self.failures)} of {self.evaluated} expectations failed"]
        for f in self.failures:
            where = f"; bad rows from {', '.join(f['sources'])}" if f.get("sources") else ""
            lines.append(f"  - {f['expectation']} {f.get('column') or ''}: {f['unexpected_count']} unexpected{where}")
        if self.rows_validated is not None:
            lines.append(f"row by row: {self.rows_validated} rows the published file does not hold "
                         f"(its rows passed this suite when it was published)")
        if self.expectations:
            lines.append("checked: " + "; ".join(
                f"{e['expectation'].removeprefix('expect_')}({e['column'] or 'table'})" for e in self.expectations))
        return "\n".join(lines)

    def expectations_markdown(self) -> str:
        """One row per expectation, for the Dagster UI: what was checked and how it came out."""
        lines = ["| expectation | column | kwargs | result | unexpected |", "|---|---|---|---|---|"]
        for e in self.expectations:
            kwargs = json.dumps(e["kwargs"], default=str).replace("|", "\\|")
            unexpected = "" if e["unexpected_count"] is None else e["unexpected_count"]
            lines.append(f"| {e['expectation']} | {e['column'] or '(table)'} | {kwargs} | "
                         f"{'passed' if e['passed'] else '**failed**'} | {unexpected} |")
        return "\n".join(lines)


def _expectation_row(res) -> dict:
    """One evaluated expectation as GateResult.expectations lists it."""
    kwargs = dict(res.expectation_config.kwargs)
    kwargs.pop("batch_id", None)
    column = kwargs.pop("column", None) or ", ".join(
        str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs) or None
    detail = res.result or {}
    unexpected = detail.get("unexpected_count")
    if unexpected is None and "observed_value" in detail:
        unexpected = f"observed {detail['observed_value']}"
    return {"expectation": res.expectation_config.type, "column": column,
            "kwargs": json.loads(json.dumps(kwargs, default=str)), "passed": bool(res.success),
            "unexpected_count": unexpected}


def suite_names(directory: Path = EXPECTATIONS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json"))


def load_suite(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    return json.loads((directory / f"{name}.json").read_text())


def suite_digest(spec: dict) -> str:
    """What a passed gate vouches for: the suite's expectations and how row-wise verdicts are reached."""
    return hashlib.sha256(json.dumps([ROW_VERDICTS, spec["expectations"]], sort_keys=True).encode()).hexdigest()


def needed_columns(spec: dict) -> set[str] | None:
    """Columns the suite looks at (plus provenance), or None when a table-wide expectation needs all."""
    cols = expectation_columns(spec)
    return None if cols is None else cols | set(SOURCE_COLUMNS)


def expectation_columns(spec: dict) -> set[str] | None:
    """Columns the suite's expectations name, or None when a table-wide expectation needs all."""
    cols = set()
    for exp in spec["expectations"]:
        kwargs = exp.get("kwargs", {})
        if exp["type"].startswith("expect_table_column"):
            return None
        cols |= {kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs}
        cols |= set(kwargs.get("column_list", []))
    return cols


def open_marts(build_db: Path):
    """A read-only connection to the build database, where `marts.<name>` is the mart dbt built."""
    return duck.connect(build_db, read_only=True)


def read_table(build_db: Path, table: str, columns: set[str] | None = None):
    """The mart as a pandas frame; only the needed columns, so memory stays small on large marts."""
    with open_marts(build_db) as con:
        return _frame(_select(con, table, columns).to_arrow_table())


def _frame(data):
    """An Arrow table or batch as pandas, text kept in Arrow (pandas' "string[pyarrow]") rather than
    one Python object per value: many times faster to convert, and far smaller.
    GX's pandas expectations give the same verdicts on it (tests/test_gates.py)."""
    import pandas as pd
    import pyarrow as pa

    as_arrow = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
    return data.to_pandas(types_mapper=as_arrow.get)


def select_sql(con, table: str, columns: set[str] | None) -> str:
    """A query of the table's columns in `columns` (all of them when None or when none match)."""
    present = list(con.sql(f"select * from {table} limit 0").columns)
    chosen = [c for c in present if columns is None or c in columns] or present
    return f"select {', '.join(chr(34) + c + chr(34) for c in chosen)} from {table}"


def _select(con, table: str, columns: set[str] | None):
    return con.sql(select_sql(con, table, columns))


def import_gx():
    """great_expectations, imported on first use (see module docstring), with its analytics events off
    (GX_ANALYTICS_ENABLED, GX's documented switch) unless the environment says otherwise."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


class SuiteRunner:
    """One suite, ready to validate frame after frame.

    The GX context, suite and batch definition are built once: a fresh ephemeral context per chunk
    left ~300 MB of cyclic garbage over a 2.3M-row mart and cost time on every chunk.
    """

    def __init__(self, name: str, spec: dict | None = None):
        gx = import_gx()

        self.name, spec = name, spec or load_suite(name)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False}
        self.suite = context.suites.add(
            gx.ExpectationSuite(name=spec.get("name", name), expectations=spec["expectations"], meta=spec.get("meta") or {})
        )
        self.batches = context.data_sources.add_pandas("warehouse").add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")

    def validate(self, frame) -> GateResult:
        index_columns = [c for c in SOURCE_COLUMNS if c in frame.columns]
        result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": index_columns} if index_columns else "SUMMARY"
        outcome = self.batches.get_batch(batch_parameters={"dataframe": frame}).validate(self.suite, result_format=result_format)
        checked = []
        failures = []
        for res in outcome.results:
            checked.append(_expectation_row(res))
            if res.success:
                continue
            detail = res.result or {}
            sources = sorted({
                "/".join(_shown(row.get(c)) for c in index_columns)
                for row in (detail.get("unexpected_index_list") or [])
                if isinstance(row, dict)
            })
            failures.append({
                "expectation": res.expectation_config.type,
                "column": res.expectation_config.kwargs.get("column"),
                # column expectations count bad rows; table-level ones report what they observed
                "unexpected_count": detail["unexpected_count"] if "unexpected_count" in detail
                else f"observed {detail.get('observed_value')}",
                "sample": [_shown(v) for v in (detail.get("partial_unexpected_list") or [])[:5]],
                "sources": sources[:20],
            })
        return GateResult(self.name, bool(outcome.success), int(outcome.statistics["evaluated_expectations"]), failures,
                          checked)


def _shown(value) -> str:
    """A value as the failure report shows it; a missing one as "(null)", not pandas' nan / <NA> / None."""
    import pandas as pd

    return "(null)" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)


def validate(name: str, frame, spec: dict | None = None) -> GateResult:
    """Validate one frame against suite `name` (or `spec`)."""
    return SuiteRunner(name, spec).validate(frame)


def preview_markdown(frame, rows: int = 5) -> str:
    """A small markdown table of the checked columns, so the UI shows what was validated."""
    if frame is None:
        return ""
    head = frame.head(rows)
    cells = [[_shown(v)[:40].replace("|", "/") for v in row] for row in head.itertuples(index=False)]
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


def _unique_column(exp: dict) -> str | None:
    kwargs = exp.get("kwargs", {})
    if exp["type"] == "expect_column_values_to_be_unique" and "mostly" not in kwargs:
        return kwargs["column"]
    return None


def _row_wise(exp: dict) -> bool:
    return exp["type"] in ROW_WISE and "mostly" not in exp.get("kwargs", {})


def check_table(build_db: Path, name: str, spec: dict, chunk_rows: int = CHUNK_ROWS, published: Path | None = None):
    """Validate mart `name` against `spec`; returns (result, rows, first rows read, for a preview).

    Up to `chunk_rows` rows this is one validation of one frame. Above that, row-wise expectations run
    on successive chunks (only their columns), uniqueness on the rows whose value repeats, and anything
    else on the whole table but only its own columns, so a 2M-row mart never sits in memory as one wide
    frame of Python objects. With `published` (the analysts' file), row-wise expectations read only the
    rows whose checked values that file does not hold, when it records that this same suite passed on it:
    a row-wise verdict depends on nothing else, so the verdict and the bad-row counts are those of every
    row."""
    table = f"marts.{name}"
    with open_marts(build_db) as con:
        rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    if rows <= chunk_rows:
        frame = read_table(build_db, table, needed_columns(spec))
        result, preview = SuiteRunner(name, spec).validate(frame), frame.head(5)
        frame = None  # drop it before trimming
    else:
        result, preview = _check_in_parts(build_db, table, name, spec, chunk_rows, published)
    # A full collection walks everything GX and the rest loaded; only the chunked path builds enough
    # GX objects per table to be worth it.
    release_freed_memory(collect=rows > chunk_rows)
    return result, rows, preview


def _check_in_parts(build_db: Path, table: str, name: str, spec: dict, chunk_rows: int, published: Path | None):
    """Each part reads through its own connection: DuckDB keeps a closed query's buffers until the
    connection closes, and the duplicate search's hash table would otherwise sit under the chunks."""
    row_wise = [e for e in spec["expectations"] if _row_wise(e)]
    unique = [e for e in spec["expectations"] if _unique_column(e)]
    rest = [e for e in spec["expectations"] if not _row_wise(e) and not _unique_column(e)]
    results, preview = [], None
    for exp in unique:
        # Only rows whose value occurs twice can fail uniqueness, and GX flags every row of a duplicated
        # value: validating just those rows gives the same verdict and count without loading the column.
        column = _unique_column(exp)
        with open_marts(build_db) as con:
            duplicated = _frame(_select(con, table, {column, *SOURCE_COLUMNS}).query("t", f"""
                select * from t where "{column}" in (
                    select "{column}" from {table} where "{column}" is not null group by 1 having count(*) > 1)""").to_arrow_table())
        results.append(SuiteRunner(name, {**spec, "expectations": [exp]}).validate(duplicated))
    if rest:
        whole = {**spec, "expectations": rest}
        frame = read_table(build_db, table, needed_columns(whole))
        results.append(SuiteRunner(name, whole).validate(frame))
        preview, frame = frame.head(5), None
    vouched, validated = False, 0
    if row_wise:
        chunked = {**spec, "expectations": row_wise}
        runner = SuiteRunner(name, chunked)
        with open_marts(build_db) as con:
            query = select_sql(con, table, needed_columns(chunked))
            checked = sorted(expectation_columns(chunked))
            vouched = published is not None and attach_vouching(con, published, name, spec, checked)
            reader = con.sql(new_rows_sql(query, name, checked) if vouched else query).to_arrow_reader(chunk_rows)
            for batch in reader:
                validated += batch.num_rows
                frame = _frame(batch)
                preview = frame.head(5) if preview is None else preview
                results.append(runner.validate(frame))
            if validated == 0:  # no rows: still list each expectation as checked (on none)
                results.append(runner.validate(_frame(reader.schema.empty_table())))
    result = merge(name, results, len(spec["expectations"]))
    result.rows_validated = validated if vouched else None
    return result, preview


def attach_vouching(con, published: Path, name: str, spec: dict, columns: list[str]) -> bool:
    """Attach the published file as `published` if its build_info records that this suite (the same
    digest) passed on its mart `name`, and that mart has `columns` with the build's types. False (and
    nothing attached) otherwise, or when DuckDB cannot open it: then every row is checked."""
    import duckdb

    if not published.is_file():
        return False
    listed, checks, attached = ", ".join(f'"{c}"' for c in columns), [], False
    try:
        con.execute(f"attach {duck.sql_str(str(published))} as published (read_only)")
        attached = True
        checks = json.loads(con.execute("select checks from published.main.build_info").fetchone()[0] or "[]")
        same_types = (con.execute(f"describe select {listed} from published.main.{name}").fetchall()
                      == con.execute(f"describe select {listed} from marts.{name}").fetchall())
    except duckdb.Error:
        same_types = False
    digest = suite_digest(spec)
    if same_types and any(c.get("check") == f"gx_{name}" and c.get("passed") and c.get("suite_sha256") == digest
                          for c in checks):
        return True
    if attached:
        con.execute("detach published")
    return False


def new_rows_sql(query: str, name: str, columns: list[str]) -> str:
    """The rows of `query` whose values in `columns` no row of the published mart has, told apart by their
    hash (as publish tells rows apart)."""
    key = "hash(" + ", ".join(f'"{c}"' for c in columns) + ")"
    return (f"select * exclude (gate_row_hash) from (select *, {key} as gate_row_hash from ({query})) "
            f"anti join (select distinct {key} as gate_row_hash from published.main.{name}) using (gate_row_hash)")


def merge(name: str, results: list[GateResult], evaluated: int) -> GateResult:
    """One result from the chunks' results: bad rows summed per expectation and column."""
    failures: dict[tuple, dict] = {}
    for result in results:
        for f in result.failures:
            key = (f["expectation"], f.get("column"))
            if key not in failures:
                failures[key] = {**f, "sample": list(f["sample"]), "sources": list(f["sources"])}
                continue
            into = failures[key]
            if isinstance(into["unexpected_count"], int) and isinstance(f["unexpected_count"], int):
                into["unexpected_count"] += f["unexpected_count"]
            into["sample"] = (into["sample"] + f["sample"])[:5]
            into["sources"] = sorted(set(into["sources"]) | set(f["sources"]))[:20]
    checked: dict[tuple, dict] = {}  # the same expectation on each chunk: failed if any chunk failed
    for result in results:
        for e in result.expectations:
            key = (e["expectation"], e["column"], json.dumps(e["kwargs"], sort_keys=True))
            if key not in checked:
                checked[key] = dict(e)
                continue
            into = checked[key]
            into["passed"] = into["passed"] and e["passed"]
            if isinstance(into["unexpected_count"], int) and isinstance(e["unexpected_count"], int):
                into["unexpected_count"] += e["unexpected_count"]
    return GateResult(name, all(r.success for r in results), evaluated, list(failures.values()), list(checked.values()))
