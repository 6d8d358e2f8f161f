"""Write-audit-publish: the swap is atomic, readers keep their snapshot, the previous file is kept."""
from __future__ import annotations

import shutil

import duckdb

from pipelines.lib import duck
from pipelines.lib.publish import file_sha256, publish


def make_build(path, n):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts; create schema if not exists raw")
        con.execute("create or replace table marts.accounts as select range as account_id from range(?)", [n])
        con.execute("create or replace table raw.events as select 'e' || range as event_id, 'rel' as release_id from range(?)", [n])
        con.execute("create or replace table marts.releases as select 'rel' as release_id")


def test_publish_swaps_while_a_reader_holds_the_old_file(tmp_path):
    build, wh, prev = tmp_path / "build.duckdb", tmp_path / "pub" / "analytics.duckdb", tmp_path / "state" / "prev.duckdb"
    make_build(build, 3)
    info = publish(build, wh, prev, {"run_id": "r1"})
    assert info["row_counts"] == {"accounts": 3, "releases": 1, "events": 3} and info["releases"] == ["rel"]
    assert info["sha256"] == file_sha256(wh)
    first = file_sha256(wh)

    reader = duckdb.connect(str(wh), read_only=True)
    make_build(build, 5)
    publish(build, wh, prev, {"run_id": "r2"})
    # the open reader keeps its snapshot; a new reader sees the new file
    assert reader.execute("select count(*) from accounts").fetchone()[0] == 3
    reader.close()
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select count(*) from accounts").fetchone()[0] == 5
        assert con.execute("select run_id from build_info").fetchone()[0] == "r2"
    assert file_sha256(prev) == first
    assert not list(wh.parent.glob("*.tmp")) and not list(wh.parent.glob("*.wal"))


def storage_number(path) -> int:
    """The storage-format number in a DuckDB file header (after the 'DUCK' magic)."""
    header = path.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    return int.from_bytes(header[12:20], "little")


def test_published_file_uses_the_older_storage_format(tmp_path):
    build, wh = tmp_path / "build.duckdb", tmp_path / "analytics.duckdb"
    make_build(build, 40000)
    publish(build, wh, tmp_path / "prev.duckdb", {})
    # the build file has DuckDB 2.0's default format; the published one the v1.4-readable format
    assert storage_number(wh) < storage_number(build)
    # in row groups small enough for a scan of a mid-sized mart to use every core
    with duckdb.connect(str(wh), read_only=True) as con:
        groups = con.execute("select count(distinct row_group_id) from pragma_storage_info('accounts')").fetchone()[0]
    assert groups == -(-40000 // duck.ROW_GROUP_ROWS)


def make_marts(path, accounts, emails=None):
    """A build database with marts of `accounts` rows (ids; `emails` overrides some rows' email) and events."""
    emails = emails or {}
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts; create schema if not exists raw; "
                    "create schema if not exists seeds")
        con.execute("create or replace table marts.accounts as select a as account_id, "
                    "coalesce(map_extract(?::map(bigint, varchar), a)[1], 'u' || a || '@x.example') as email, "
                    "null::date as closed_on from unnest(?::bigint[]) t(a)", [emails, accounts])
        # an append-only log: a release per hundred events, each ingested at its own moment
        con.execute("create or replace table raw.events as select 'e' || a as event_id, 'rel' || a // 100 as release_id, "
                    "'document_observed' as event_type, "
                    "timestamptz '2024-01-01' + to_seconds(a) as ingested_at from unnest(?::bigint[]) t(a)", [accounts])
        con.execute("create or replace table marts.releases as select distinct release_id from raw.events")
        con.execute("create or replace table seeds.redaction_codes as select 'b7' as code")
        con.execute("comment on column marts.accounts.email is 'the holder''s address'")


def test_an_incremental_publish_updates_a_copy_and_equals_a_fresh_one(tmp_path):
    from pipelines.lib.compare import differences

    build, wh, prev = tmp_path / "build.duckdb", tmp_path / "pub" / "analytics.duckdb", tmp_path / "prev.duckdb"
    make_marts(build, list(range(1000)))
    info = publish(build, wh, prev, {"run_id": "r1"}, full=False)  # nothing to update yet: written
    assert set(info["written"].values()) == {"written"}
    first = file_sha256(wh)
    reader = duckdb.connect(str(wh), read_only=True)

    # one row gone, one changed (a null becomes a value too), ten new
    changed = [a for a in range(1, 1010)]
    make_marts(build, changed, emails={5: "new@x.example"})
    with duckdb.connect(str(build)) as con:
        con.execute("update marts.accounts set closed_on = date '2019-05-01' where account_id = 7")
    info = publish(build, wh, prev, {"run_id": "r2"}, full=False)
    assert info["written"]["accounts"] == "updated" and info["written"]["events"] == "updated"
    assert info["row_counts"]["accounts"] == 1009
    assert reader.execute("select count(*) from accounts").fetchone()[0] == 1000  # the old snapshot
    reader.close()
    assert file_sha256(prev) == first

    fresh = tmp_path / "fresh" / "analytics.duckdb"
    publish(build, fresh, tmp_path / "prev2.duckdb", {"run_id": "r3"})
    assert differences(wh, fresh) == {}
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select email from accounts where account_id = 5").fetchone()[0] == "new@x.example"
        assert con.execute("select closed_on from accounts where account_id = 7").fetchone()[0] is not None
        assert con.execute("select comment from duckdb_columns() where table_name = 'accounts' "
                           "and column_name = 'email'").fetchone()[0] == "the holder's address"
        assert con.execute("select run_id from build_info").fetchone()[0] == "r2"
    assert storage_number(wh) == storage_number(fresh)  # the copy kept the older storage format


def keep_by_row_hash(path, table, key):
    """Index the row hashes of a mart as dbt's row_hash strategy keeps them (macros/incremental_row_hash.sql)."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists row_hashes")
        con.execute(f"create or replace table row_hashes.{table} as select {key}, hash(r) as row_hash from marts.{table} r")


def published_afresh(build, folder):
    """A file published afresh from a copy of `build`, in its own state `folder` (its own snapshot)."""
    folder.mkdir()
    shutil.copyfile(build, folder / "build.duckdb")
    publish(folder / "build.duckdb", folder / "analytics.duckdb", folder / "prev.duckdb", {})
    return folder / "analytics.duckdb"


def test_a_mart_kept_by_row_hash_is_published_by_its_hashes_while_they_describe_the_file(tmp_path):
    from pipelines.lib.compare import differences

    build, wh, prev = tmp_path / "build.duckdb", tmp_path / "pub" / "analytics.duckdb", tmp_path / "prev.duckdb"
    make_marts(build, list(range(1000)))
    keep_by_row_hash(build, "accounts", "account_id")
    publish(build, wh, prev, {"run_id": "r1"}, full=False)
    first = file_sha256(wh)

    make_marts(build, list(range(1, 1010)), emails={5: "new@x.example"})
    keep_by_row_hash(build, "accounts", "account_id")
    info = publish(build, wh, prev, {"run_id": "r2"}, full=False)
    assert info["written"]["accounts"] == "updated by hash" and info["row_counts"]["accounts"] == 1009
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select email from accounts where account_id = 5").fetchone()[0] == "new@x.example"
        assert con.execute("select count(*) from accounts where account_id = 0").fetchone()[0] == 0

    # the file is rolled back: the snapshot describes another file, so rows are compared whole
    wh.unlink()
    wh.write_bytes(prev.read_bytes())
    assert file_sha256(wh) == first
    make_marts(build, list(range(2, 1012)), emails={5: "new@x.example"})
    keep_by_row_hash(build, "accounts", "account_id")
    info = publish(build, wh, prev, {"run_id": "r3"}, full=False)
    assert info["written"]["accounts"] == "updated"
    assert differences(wh, published_afresh(build, tmp_path / "fresh3")) == {}

    # and the snapshot taken by that publish serves the next one
    make_marts(build, list(range(3, 1013)))
    keep_by_row_hash(build, "accounts", "account_id")
    info = publish(build, wh, prev, {"run_id": "r5"}, full=False)
    assert info["written"]["accounts"] == "updated by hash"
    assert differences(wh, published_afresh(build, tmp_path / "fresh5")) == {}
    with duckdb.connect(str(wh), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert not {t for t in tables if "hash" in t}  # the hashes are never published


def make_index(path, units: dict[int, list[str]]):
    """A build database whose search_postings mart is a view (over an intermediate table with a column
    not published), with postings of `units`: unit -> its terms."""
    make_marts(path, list(range(10)))
    rows = [(term, unit, 1, len(terms)) for unit, terms in units.items() for term in terms]
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists intermediate")
        con.execute("create or replace table intermediate.postings as select t.term, t.unit_id, t.term_frequency, "
                    "t.unit_length, 0 as fingerprint from (select unnest(?::struct(term varchar, unit_id integer, "
                    "term_frequency integer, unit_length integer)[]) as t)",
                    [[dict(zip(("term", "unit_id", "term_frequency", "unit_length"), r)) for r in rows]])
        con.execute("create or replace view marts.search_postings as "
                    "select term, unit_id, term_frequency, unit_length from intermediate.postings")
        con.execute("comment on view marts.search_postings is 'the index'")


def test_an_incremental_publish_replaces_the_postings_of_changed_units_only(tmp_path):
    from pipelines.lib.compare import differences

    build, wh, prev = tmp_path / "build.duckdb", tmp_path / "pub" / "analytics.duckdb", tmp_path / "prev.duckdb"
    units = {u: [f"t{u}", "common", f"w{u % 7}"] for u in range(1, 101)}
    make_index(build, units)
    publish(build, wh, prev, {}, full=False)

    units[5] = ["t5", "changed"]  # a unit re-read
    del units[9]  # a unit gone
    units[101] = ["t101", "common"]  # a new one
    make_index(build, units)
    info = publish(build, wh, prev, {}, full=False)
    assert info["written"]["search_postings"] == "updated"
    assert info["row_counts"]["search_postings"] == sum(map(len, units.values()))
    fresh = tmp_path / "fresh" / "analytics.duckdb"
    publish(build, fresh, tmp_path / "prev2.duckdb", {})
    assert differences(wh, fresh) == {}
    with duckdb.connect(str(wh), read_only=True) as con:  # the view is published as a table, with its comment
        assert con.execute("select comment from duckdb_tables() where table_name = 'search_postings'").fetchone() == ("the index",)
        assert con.execute("select list(term order by term) from search_postings where unit_id = 5").fetchone() == (["changed", "t5"],)


def test_an_incremental_publish_rewrites_what_changed_shape_or_much(tmp_path):
    build, wh, prev = tmp_path / "build.duckdb", tmp_path / "analytics.duckdb", tmp_path / "prev.duckdb"
    make_marts(build, list(range(100)))
    with duckdb.connect(str(build)) as con:
        con.execute("create table marts.organizations as select 1 as org_id")
    publish(build, wh, prev, {}, full=False)

    make_marts(build, list(range(50, 150)))  # half the rows changed: written again
    with duckdb.connect(str(build)) as con:
        con.execute("drop table marts.organizations")
        con.execute("alter table marts.releases add column note varchar")  # another shape: written again
    info = publish(build, wh, prev, {}, full=False)
    assert info["written"]["accounts"] == "written" and info["written"]["releases"] == "written"
    assert info["written"]["events"] == "written"
    with duckdb.connect(str(wh), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        assert "organizations" not in tables  # a mart the build no longer has is not left behind
        assert con.execute("select min(account_id), count(*) from accounts").fetchone() == (50, 100)
        assert [r[0] for r in con.execute("select column_name from duckdb_columns() where table_name = 'releases'"
                                          ).fetchall()] == ["release_id", "note"]


def test_a_full_publish_or_an_unreadable_file_writes_afresh(tmp_path):
    build, wh, prev = tmp_path / "build.duckdb", tmp_path / "analytics.duckdb", tmp_path / "prev.duckdb"
    make_marts(build, list(range(100)))
    wh.write_bytes(b"not a duckdb file")
    info = publish(build, wh, prev, {}, full=False)
    assert set(info["written"].values()) == {"written"}
    make_marts(build, list(range(101)))
    info = publish(build, wh, prev, {}, full=True)
    assert set(info["written"].values()) == {"written"} and info["row_counts"]["accounts"] == 101
