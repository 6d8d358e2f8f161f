"""The published file describes itself: table and column comments equal to the dbt descriptions, the
reference seeds beside the marts, `foil schema` reading both back, and people's evidence with citations.

Everything reads the session's sample build (`published_sample`); the expected descriptions are read from
the dbt yml files, never written here.
"""
from __future__ import annotations

import csv
import json
import subprocess

import duckdb
import pytest
import yaml

from pipelines.lib.publish import BUILD_INFO_COMMENTS, REFERENCE_SEEDS

from .conftest import REPO, run_foil

DBT = REPO / "dbt_project"


def dbt_descriptions() -> dict[str, tuple[str, dict[str, str]]]:
    """{published table: (description, {column: description})} from the models', seeds' and sources' yml."""
    found = {}
    for path in sorted([*(DBT / "models").rglob("*.yml"), *(DBT / "seeds").rglob("*.yml")]):
        doc = yaml.safe_load(path.read_text()) or {}
        for model in doc.get("models", []):
            found[model["name"]] = model
        for seed in doc.get("seeds", []):
            found[f"ref_{seed['name']}"] = seed
        for source in doc.get("sources", []):
            for table in source.get("tables", []):
                found[table["name"]] = table
    return {name: ((node.get("description") or "").strip(),
                   {c["name"]: (c.get("description") or "").strip() for c in node.get("columns", [])})
            for name, node in found.items()}


@pytest.fixture(scope="module")
def con(published_sample):
    with duckdb.connect(str(published_sample["warehouse"]), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def comments(con) -> dict[str, tuple[str | None, dict[str, str | None]]]:
    tables = dict(con.execute("select table_name, comment from duckdb_tables() where database_name = current_database() and schema_name = 'main'").fetchall())
    columns: dict[str, dict[str, str | None]] = {name: {} for name in tables}
    for table, column, comment in con.execute(
            "select table_name, column_name, comment from duckdb_columns() where database_name = current_database() and schema_name = 'main'").fetchall():
        columns[table][column] = comment
    return {name: (tables[name], columns[name]) for name in tables}


def test_every_published_table_and_column_has_its_dbt_description(comments):
    expected = dbt_descriptions()
    expected["build_info"] = (BUILD_INFO_COMMENTS[None], {k: v for k, v in BUILD_INFO_COMMENTS.items() if k})
    for table, (table_comment, column_comments) in comments.items():
        assert table in expected, f"published table {table} has no dbt yml (model, seed or source) describing it"
        description, column_descriptions = expected[table]
        assert table_comment and table_comment.strip(), f"{table} has no comment"
        assert table_comment == description, table
        for column, comment in column_comments.items():
            assert comment and comment.strip(), f"{table}.{column} has no comment: describe it in the yml"
            assert comment == column_descriptions.get(column), f"{table}.{column}"


def test_the_reference_seeds_are_published_as_they_are_in_the_repository(con, comments):
    for seed in REFERENCE_SEEDS:
        with (DBT / "seeds" / f"{seed}.csv").open(newline="") as fh:
            reader = csv.DictReader(fh)
            expected = sorted(tuple(row.values()) for row in reader)
            header = reader.fieldnames
        rows = con.execute(f"select * from ref_{seed}").fetchall()
        assert [c[0] for c in con.execute(f"select * from ref_{seed} limit 0").description] == header
        assert sorted(tuple("" if v is None else str(v) for v in row) for row in rows) == expected, seed
    periods = con.execute("select phase, starts_on::varchar, ends_on::varchar from ref_contract_periods").fetchall()
    assert ("trial", "2018-12-01", "2019-03-31") in periods


def test_comments_survive_the_older_storage_format_for_the_duckdb_cli(published_sample):
    """The published file is written in the v1.4 storage format; the duckdb CLI (1.5) reads the comments."""
    cli = REPO / ".venv" / "bin" / "duckdb"
    if not cli.exists():
        pytest.skip("the duckdb CLI (duckdb-cli package) is not installed in .venv/bin")
    proc = subprocess.run([str(cli), "-readonly", "-json", str(published_sample["warehouse"]), "-c",
                           "select table_name, column_name, comment from duckdb_columns() "
                           "where table_name = 'ref_contract_periods' order by column_index"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = {r["column_name"]: r["comment"] for r in json.loads(proc.stdout)}
    assert got == dbt_descriptions()["ref_contract_periods"][1]


def test_foil_schema_lists_every_table_with_rows_and_description(published_sample, con, comments):
    proc = run_foil("schema", "--warehouse", str(published_sample["warehouse"]), env={"COLUMNS": "400"})
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()[2:]}
    assert set(lines) == set(comments)
    for table, (description, _) in comments.items():
        rows = con.execute(f'select count(*) from "{table}"').fetchone()[0]
        assert lines[table].split()[1] == f"{rows:,}", table
        # the description, clipped with … to the terminal's width
        shown, full = lines[table].split(None, 2)[2], " ".join(description.split())
        assert shown == full or (shown.endswith("…") and full.startswith(shown[:-1])), table

    as_json = json.loads(run_foil("schema", "--json", "--warehouse", str(published_sample["warehouse"])).stdout)
    assert {t["table"]: t["description"] for t in as_json["tables"]} == {t: d for t, (d, _) in comments.items()}


def test_foil_schema_shows_one_tables_columns_with_type_and_meaning(published_sample, comments):
    wh = str(published_sample["warehouse"])
    proc = run_foil("schema", "accounts", "--warehouse", wh, env={"COLUMNS": "400"})
    assert proc.returncode == 0, proc.stderr
    description, columns = comments["accounts"]
    assert proc.stdout.startswith("accounts: ")
    assert " ".join(description.split()) in " ".join(proc.stdout.split())
    body = proc.stdout.split("\n\n", 1)[1].splitlines()
    assert body[0].split() == ["column", "type", "description"]
    listed = {line.split()[0]: line for line in body[1:] if line and not line.startswith(" ")}
    assert set(listed) == set(columns)
    assert "citation" in listed and columns["citation"][:40] in listed["citation"]
    assert "TIMESTAMP WITH TIME ZONE" in listed["created_at"]

    as_json = json.loads(run_foil("schema", "ACCOUNTS", "--json", "--warehouse", wh).stdout)
    assert {c["column"]: c["description"] for c in as_json["columns"]} == columns
    assert as_json["rows"] > 0 and as_json["description"] == description


def test_foil_schema_names_the_known_tables_when_a_table_is_unknown(published_sample, tmp_path):
    proc = run_foil("schema", "acounts", "--warehouse", str(published_sample["warehouse"]))
    assert proc.returncode == 2
    assert "no table 'acounts'" in proc.stderr and "accounts" in proc.stderr and "people_evidence" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = run_foil("schema", "--warehouse", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 2 and "run `foil build` first" in missing.stderr and "Traceback" not in missing.stderr


def test_people_evidence_cites_every_address_and_organisation(con):
    people = con.execute("select person_id, emails, orgs, is_redacted from people").fetchall()
    evidence = con.execute("select person_id, evidence_for, email, org_id, seen_in, citation from people_evidence").fetchall()
    assert all(row[5] and row[5].strip() for row in evidence), "every evidence row has a citation"
    addresses = {(p, e) for p, kind, e, _, _, _ in evidence if kind == "address"}
    orgs = {(p, o) for p, kind, _, o, _, _ in evidence if kind == "organization"}
    entries = {p for p, kind, *_ in evidence if kind == "entry"}
    for person_id, emails, person_orgs, is_redacted in people:
        for email in emails:
            assert (person_id, email) in addresses, f"{person_id} {email} has no cited evidence"
        for org in person_orgs:
            assert (person_id, org) in orgs, f"{person_id} {org} has no cited evidence"
        if not emails:
            assert person_id in entries, f"placeholder {person_id} cites no entry"
    # the struct lists on people and the rows agree
    flattened = con.execute("""
        select count(*) from (select person_id, unnest(address_evidence, recursive := true) from people)
    """).fetchone()[0]
    assert flattened == sum(1 for row in evidence if row[1] == "address")
    # a signature affiliation is cited at a message the person sent
    signatures = [row for row in evidence if row[4] == "signature"]
    assert signatures and all(" / " in row[5] for row in signatures)
