"""Great Expectations gates pass on good frames, fail on bad ones and say where bad rows came from."""
from __future__ import annotations

import json

import pandas as pd

from pipelines.lib.gates import suite_names, validate

SPEC = {
    "name": "searches",
    "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "search_id"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "search_count", "min_value": 1}},
    ],
}


def frame(counts):
    return pd.DataFrame({
        "search_id": [f"s{i}" for i in range(len(counts))],
        "search_count": counts,
        "release_id": ["rel-a"] * (len(counts) - 1) + ["rel-b"],
        "document_id": [f"doc{i}" for i in range(len(counts))],
    })


def test_gate_passes_on_good_rows():
    result = validate("searches", frame([1, 2, 3]), SPEC)
    assert result.success and result.evaluated == 2 and result.failures == []


def test_gate_fails_and_names_the_source_of_bad_rows():
    result = validate("searches", frame([1, 2, 0]), SPEC)
    assert not result.success
    (failure,) = result.failures
    assert failure["column"] == "search_count" and failure["unexpected_count"] == 1
    assert failure["sources"] == ["rel-b/doc2"]
    assert "rel-b/doc2" in result.describe()


def test_every_published_mart_has_a_suite():
    assert {"accounts", "searches", "contacts", "referrals"} <= set(suite_names())


def test_only_the_columns_a_suite_needs_are_read(tmp_path):
    import duckdb

    from pipelines.lib.gates import needed_columns, read_table

    db = tmp_path / "b.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create table marts.searches as select 's1' as search_id, 1 as search_count, "
                    "'big text' as body, 'rel' as release_id, 'doc' as document_id")
    frame = read_table(db, "marts.searches", needed_columns(SPEC))
    assert sorted(frame.columns) == ["document_id", "release_id", "search_count", "search_id"]
    wide = {"expectations": [{"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": []}}]}
    assert needed_columns(wide) is None and "body" in read_table(db, "marts.searches", None).columns


def test_a_large_mart_is_validated_in_chunks_with_the_same_verdict(tmp_path):
    """Chunked validation (row-wise expectations per chunk, uniqueness on the whole column) finds the
    same bad rows as one validation of the whole table, including duplicates that straddle chunks."""
    import duckdb

    from pipelines.lib.gates import check_table

    spec = {**SPEC, "expectations": SPEC["expectations"] + [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "search_id"}}]}
    db = tmp_path / "b.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("""create schema marts; create table marts.searches as
            select case when i = 9 then 's0' else 's' || i end as search_id,      -- duplicate of row 0, later chunk
                   case when i in (2, 7) then 0 else 1 end as search_count,       -- bad rows in two chunks
                   'rel' as release_id, 'doc' || i as document_id
            from range(10) t(i)""")
    whole, rows, _ = check_table(db, "searches", spec, chunk_rows=100)
    chunked, rows_chunked, head = check_table(db, "searches", spec, chunk_rows=3)
    assert rows == rows_chunked == 10 and len(head) > 0
    assert not whole.success and not chunked.success and whole.evaluated == chunked.evaluated == 3
    summary = lambda r: sorted((f["expectation"], f["column"], f["unexpected_count"]) for f in r.failures)
    assert summary(chunked) == summary(whole)
    assert ("expect_column_values_to_be_between", "search_count", 2) in summary(chunked)
    assert {"expect_column_values_to_be_unique"} <= {f["expectation"] for f in chunked.failures}


def test_arrow_backed_text_gets_the_verdicts_of_python_objects(tmp_path):
    """Marts reach GX with text in Arrow (pipelines/lib/gates.py _frame); every kind of expectation the
    suites use must find the same bad rows as on a frame of Python strings."""
    import duckdb

    from pipelines.lib.gates import check_table

    spec = {"name": "mixed", "expectations": [
        {"type": "expect_column_to_exist", "kwargs": {"column": "kind"}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "document_id"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "item_id"}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "item_id", "regex": "^it_[0-9]+$"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "kind", "value_set": ["a", "b"]}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "n", "min_value": 0}},
        {"type": "expect_column_values_to_be_between", "kwargs": {
            "column": "at", "min_value": "2015-01-01T00:00:00+00:00", "max_value": "2030-12-31T23:59:59+00:00"}},
    ]}
    db = tmp_path / "b.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("""create schema marts; create table marts.mixed as select
                case when i = 4 then 'it_3' when i = 6 then 'bad 6' else 'it_' || i end as item_id,
                case when i = 5 then 'c' when i = 8 then null else 'a' end as kind,
                case when i = 7 then -1 else i end as n,
                case when i = 2 then timestamptz '2040-01-01 00:00:00+00' else timestamptz '2019-01-01 00:00:00+00' + to_days(i) end as at,
                'rel' as release_id, case when i = 3 then null else 'doc' || i end as document_id
            from range(10) t(i)""")
        objects = con.sql("select * from marts.mixed").df()
    arrow, rows, _ = check_table(db, "mixed", spec)
    python = validate("mixed", objects, spec)
    summary = lambda r: sorted((f["expectation"], f["column"], f["unexpected_count"], tuple(f["sources"])) for f in r.failures)
    assert rows == 10 and summary(arrow) == summary(python)
    assert [(e, c, n) for e, c, n, _ in summary(arrow)] == [
        ("expect_column_values_to_be_between", "at", 1), ("expect_column_values_to_be_between", "n", 1),
        ("expect_column_values_to_be_in_set", "kind", 1), ("expect_column_values_to_be_unique", "item_id", 2),
        ("expect_column_values_to_match_regex", "item_id", 1), ("expect_column_values_to_not_be_null", "document_id", 1)]
    # a missing value is reported as such, not as pandas' "nan" or "<NA>"
    (nulls,) = [f for f in arrow.failures if f["column"] == "document_id"]
    assert nulls["sources"] == ["rel/(null)"] and nulls["sample"] == ["(null)"]


def test_every_column_type_of_the_marts_gets_the_same_verdict_whole_and_in_chunks(tmp_path):
    """The marts hold booleans, dates, timestamps with zones, JSON and lists: read from the build database
    through DuckDB and Arrow, each kind of value is judged right, and chunked validation agrees with one
    validation of the whole table (verdict, failure details, row count and preview)."""
    import duckdb

    from pipelines.lib.gates import check_table, preview_markdown

    spec = {"name": "typed", "expectations": [
        {"type": "expect_column_to_exist", "kwargs": {"column": "flag"}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "payload"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "tags"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "n"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "flag", "value_set": [True]}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "label", "regex": "^l[0-9]$"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {
            "column": "day", "min_value": "2018-10-01", "max_value": "2020-02-29"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {
            "column": "at", "min_value": "2015-01-01T00:00:00+00:00", "max_value": "2030-12-31T23:59:59+00:00"}},
    ]}
    db = tmp_path / "b.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("""create schema marts; create table marts.typed as select
                case when i = 4 then 3 else i end::bigint as n,
                i <> 5 as flag,
                case when i = 6 then 'l66' else 'l' || i end as label,
                (date '2019-01-01' + to_days(case when i = 7 then 900 else i end::int))::date as day,
                case when i = 2 then timestamptz '2040-01-01 00:00:00+00' else timestamptz '2019-01-01 00:00:00+00' + to_days(i) end as at,
                case when i = 8 then null else ('{"i": ' || i || '}')::json end as payload,
                case when i = 9 then null else ['a', 'b' || i] end as tags,
                'rel' as release_id, 'doc' || i as document_id
            from range(10) t(i)""")
    seen = lambda checked: (checked[0], checked[1], preview_markdown(checked[2]))
    whole = seen(check_table(db, "typed", spec, chunk_rows=100))
    assert not whole[0].success and whole[1] == 10
    failed = sorted((f["expectation"], f["column"], f["unexpected_count"], tuple(f["sources"])) for f in whole[0].failures)
    assert failed == [
        ("expect_column_values_to_be_between", "at", 1, ("rel/doc2",)),
        ("expect_column_values_to_be_between", "day", 1, ("rel/doc7",)),
        ("expect_column_values_to_be_in_set", "flag", 1, ("rel/doc5",)),
        ("expect_column_values_to_be_unique", "n", 2, ("rel/doc3", "rel/doc4")),
        ("expect_column_values_to_match_regex", "label", 1, ("rel/doc6",)),
        ("expect_column_values_to_not_be_null", "payload", 1, ("rel/doc8",)),
        ("expect_column_values_to_not_be_null", "tags", 1, ("rel/doc9",))]
    chunked = seen(check_table(db, "typed", spec, chunk_rows=3))
    key = lambda r: sorted(json.dumps(f, sort_keys=True, default=str) for f in r.failures)
    assert (key(chunked[0]), chunked[1]) == (key(whole[0]), whole[1])
    assert len(chunked[2].splitlines()) == len(whole[2].splitlines()) == 2 + 5  # header and first rows


def test_the_result_names_every_expectation_with_its_column_kwargs_result_and_count():
    """The Dagster UI showed only "1 of 2 expectations failed": the result lists what was checked."""
    from pipelines.lib.gates import merge

    result = validate("searches", frame([1, 2, 0]), SPEC)
    rows = {e["expectation"]: e for e in result.expectations}
    assert rows["expect_column_values_to_not_be_null"] == {
        "expectation": "expect_column_values_to_not_be_null", "column": "search_id", "kwargs": {},
        "passed": True, "unexpected_count": 0}
    between = rows["expect_column_values_to_be_between"]
    assert (between["column"], between["kwargs"], between["passed"], between["unexpected_count"]) == (
        "search_count", {"min_value": 1}, False, 1)
    table = result.expectations_markdown().splitlines()
    assert len(table) == 2 + 2 and "| search_count |" in table[3] and "**failed**" in table[3]
    assert "column_values_to_not_be_null(search_id)" in result.describe()
    # chunks of one table: the same expectation once, failed if any chunk failed, bad rows summed
    merged = {e["expectation"]: e for e in merge("searches", [result, validate("searches", frame([0, 0, 1]), SPEC)], 2).expectations}
    assert merged["expect_column_values_to_be_between"]["unexpected_count"] == 3
    assert merged["expect_column_values_to_not_be_null"]["passed"] is True


def test_rows_the_published_file_holds_are_vouched_for_by_the_suite_that_passed_on_it(tmp_path):
    """After an incremental build, row-wise expectations read only the rows whose checked values the
    published file lacks, when its build_info says this very suite passed on it. The verdict and bad-row
    counts are those of every row; a changed suite, a changed column type or a published file DuckDB cannot
    read means every row is read again."""
    import duckdb

    from pipelines.lib.gates import check_table, suite_digest

    spec = {**SPEC, "expectations": SPEC["expectations"] + [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "search_id"}}]}
    build, published = tmp_path / "build.duckdb", tmp_path / "analytics.duckdb"
    rows = """select 's' || i as search_id, case when i = 8 then 0 else 1 + i % 3 end as search_count,
                     'rel' as release_id, 'doc' || i as document_id from range({n}) t(i)"""
    with duckdb.connect(str(build)) as con:
        # rows 0-7 as published; 8 (bad) and 9 are new, 10 repeats 9's id
        con.execute(f"create schema marts; create table marts.searches as {rows.format(n=10)} "
                    "union all select 's9', 1, 'rel', 'doc10'")

    def publish(digest: str, count_type: str = "bigint"):
        published.unlink(missing_ok=True)
        with duckdb.connect(str(published)) as con:
            con.execute(f"create table searches as select * replace (search_count::{count_type} as search_count) "
                        f"from ({rows.format(n=8)})")
            checks = [{"asset": "marts/searches", "check": "gx_searches", "passed": True, "suite_sha256": digest}]
            con.execute("create table build_info as select ?::json as checks", [json.dumps(checks)])

    everything, total, _ = check_table(build, "searches", spec, chunk_rows=3)
    summary = lambda r: sorted((f["expectation"], f["column"], f["unexpected_count"]) for f in r.failures)
    assert total == 11 and everything.rows_validated is None
    assert summary(everything) == [("expect_column_values_to_be_between", "search_count", 1),
                                   ("expect_column_values_to_be_unique", "search_id", 2)]

    publish(suite_digest(spec))
    vouched, total, head = check_table(build, "searches", spec, chunk_rows=3, published=published)
    assert total == 11 and vouched.rows_validated == 3  # rows 8, 9 and 10
    assert summary(vouched) == summary(everything) and vouched.evaluated == everything.evaluated
    assert sorted(head["search_id"]) == ["s8", "s9", "s9"]
    assert "row by row: 3 rows" in vouched.describe()
    assert [e["expectation"] for e in vouched.expectations] == [e["expectation"] for e in everything.expectations]

    # nothing new: no row read, every expectation still listed as checked
    with duckdb.connect(str(build)) as con:
        con.execute(f"create or replace table marts.searches as {rows.format(n=8)}")
    none_new, _, _ = check_table(build, "searches", spec, chunk_rows=3, published=published)
    assert none_new.success and none_new.rows_validated == 0 and len(none_new.expectations) == 3

    # another suite, another column type, an unreadable file: every row
    publish("another suite")
    assert check_table(build, "searches", spec, chunk_rows=3, published=published)[0].rows_validated is None
    publish(suite_digest(spec), count_type="double")
    assert check_table(build, "searches", spec, chunk_rows=3, published=published)[0].rows_validated is None
    published.write_bytes(b"not a database")
    assert check_table(build, "searches", spec, chunk_rows=3, published=published)[0].rows_validated is None
