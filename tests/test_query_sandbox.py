"""`foil query` cannot write or read anywhere but the published file (issue #14).

A small published-like file and a fake state folder beside it (laid out as pipelines/lib/paths.py
does) are built in tmp_path; hostile SQL is run through the real CLI and through
pipelines.lib.sandbox directly, and the state files must stay byte-identical.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import pytest

from pipelines.lib import sandbox
from pipelines.lib.paths import resolve

from .conftest import run_foil


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its hash: equal snapshots = nothing created, changed or removed."""
    return {str(p.relative_to(folder)): sha(p) for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture
def deploy(tmp_path: Path) -> dict[str, Path]:
    wh = tmp_path / "warehouse" / "analytics.duckdb"
    wh.parent.mkdir()
    with duckdb.connect(str(wh)) as con:
        con.execute("create table accounts as select * from (values (1, 'NYPD', 'trial'), (2, 'NYPD', 'paid'), "
                    "(3, 'DHS', 'paid')) t(account_id, agency, status)")
        con.execute("create table searches as select range as search_id, range % 3 + 1 as account_id "
                    "from range(10)")
    paths = resolve(None, wh)
    state = paths.state_dir
    state.mkdir()
    with duckdb.connect(str(paths.build_db)) as con:
        con.execute("create table event_logs as select range as id, 'event ' || range as body from range(1000)")
    with duckdb.connect(str(paths.previous)) as con:
        con.execute("create table accounts as select 1 as account_id")
    paths.last_build_report.write_text(json.dumps({"status": "published", "gates": []}))
    files = tmp_path / "lists"
    files.mkdir()
    (files / "names.csv").write_text("account_id,label\n1,first\n3,third\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("account_id,label\n2,SECRET\n")
    return {"wh": wh, "state": state, "build": paths.build_db, "previous": paths.previous,
            "report": paths.last_build_report, "files": files, "outside": outside, "tmp": tmp_path}


def foil_query(d: dict, sql: str, *extra: str):
    return run_foil("query", "--warehouse", str(d["wh"]), *extra, sql, timeout=120)


# ------------------------------------------------------------------ reads keep working
@pytest.mark.parametrize("sql, expect", [
    ("select count(*) as n from accounts", "3"),
    ("describe accounts", "agency"),
    ("show tables", "searches"),
    ("summarize searches", "search_id"),
    ("with paid as (select * from accounts where status = 'paid') select agency from paid order by 1", "DHS"),
    ("from accounts a join searches s using (account_id) select count(*) as joined", "10"),
    ("select 1 as one; select agency from accounts where account_id = 3", "DHS"),
    ("pragma table_info('accounts')", "status"),
    ("explain select * from accounts", "physical_plan"),
    ("pivot accounts on status using count(*) group by agency", "trial"),
    ("-- leading comment\n/* block */ select 'commented' as c", "commented"),
])
def test_reading_statements_work(deploy, sql, expect):
    proc = foil_query(deploy, sql)
    assert proc.returncode == 0, proc.stderr
    assert expect in proc.stdout


def test_formats_and_max_rows(deploy):
    j = foil_query(deploy, "select account_id, agency from accounts order by 1", "--format", "json")
    assert j.returncode == 0, j.stderr
    assert json.loads(j.stdout) == [{"account_id": 1, "agency": "NYPD"}, {"account_id": 2, "agency": "NYPD"},
                                    {"account_id": 3, "agency": "DHS"}]
    c = foil_query(deploy, "select account_id from accounts order by 1", "--format", "csv")
    assert c.returncode == 0 and c.stdout.split() == ["account_id", "1", "2", "3"]
    t = foil_query(deploy, "select * from searches", "--max-rows", "4")
    assert t.returncode == 0 and "10 rows" in t.stdout


def test_file_option_and_bad_args(deploy):
    q = deploy["tmp"] / "q.sql"
    q.write_text("select count(*) as n from searches;\n")
    ok = run_foil("query", "--warehouse", str(deploy["wh"]), "--file", str(q), "--format", "json")
    assert ok.returncode == 0 and json.loads(ok.stdout) == [{"n": 10}]
    bad = q.with_name("copy.sql")
    bad.write_text(f"copy accounts to '{deploy['report']}' (format json);")
    assert run_foil("query", "--warehouse", str(deploy["wh"]), "--file", str(bad)).returncode == 1
    assert run_foil("query", "--warehouse", str(deploy["wh"])).returncode == 2
    assert run_foil("query", "--warehouse", str(deploy["wh"]), "--file", str(q.with_name("missing.sql"))).returncode == 2
    assert run_foil("query", "--warehouse", str(deploy["wh"]), "--format", "xml", "select 1").returncode == 2
    missing = run_foil("query", "--warehouse", str(deploy["tmp"] / "nope.duckdb"), "select 1")
    assert missing.returncode == 2
    syntax = foil_query(deploy, "selec 1")
    assert syntax.returncode == 1 and "query failed" in syntax.stderr


# ------------------------------------------------------------------ writes and outside reads are refused
def hostile(d: dict) -> list[tuple[str, str]]:
    """(SQL, a word the refusal message must contain)."""
    tmp = d["tmp"]
    return [
        (f"COPY (select 1) TO '{d['build']}' (FORMAT csv)", "COPY"),
        (f"copy accounts to '{d['previous']}'", "COPY"),
        (f"copy (select 'x') to '{d['report']}' (format json)", "COPY"),
        (f"copy accounts to '{tmp}/out.csv'", "--format csv"),
        ("copy accounts to '/tmp/foil_sandbox_test_should_not_exist.csv'", "COPY"),
        (f"copy accounts from '{d['files']}/names.csv'", "COPY"),
        (f"export database '{tmp}/exported'", "EXPORT"),
        (f"import database '{tmp}/exported'", "IMPORT"),
        (f"attach '{d['build']}' as b", "ATTACH"),
        (f"attach '{d['previous']}' as p (read_only)", "ATTACH"),
        ("detach analytics", "DETACH"),
        ("install httpfs", "INSTALL"),
        ("load httpfs", "LOAD"),
        ("force install json", "INSTALL"),
        ("set enable_external_access = true", "SET"),
        ("set lock_configuration = false", "SET"),
        ("reset enable_external_access", "SET"),
        ("set allowed_directories = ['/']", "SET"),
        ("set variable x = 1", "SET"),
        ("pragma enable_profiling", "PRAGMA"),
        ("use memory", "USE"),
        ("create table hack as select 1", "CREATE"),
        ("create temp table t as select 1", "CTE"),
        ("insert into accounts values (9, 'X', 'y')", "INSERT"),
        ("drop table accounts", "DROP"),
        ("begin transaction", "BEGIN"),
        ("checkpoint", "CHECKPOINT"),
        (f"explain analyze copy accounts to '{d['build']}'", "EXPLAIN"),
        (f"select 1; copy accounts to '{d['build']}'", "statement 2"),
    ]


def test_refused_by_cli_and_state_unchanged(deploy):
    before = snapshot(deploy["tmp"])
    wh_before = sha(deploy["wh"])
    for sql, word in hostile(deploy):
        proc = foil_query(deploy, sql)
        assert proc.returncode == 1, (sql, proc.stdout, proc.stderr)
        assert "query refused" in proc.stderr and "read-only" in proc.stderr, (sql, proc.stderr)
        assert word.lower() in proc.stderr.lower(), (sql, proc.stderr)
        assert proc.stdout == "", sql
    assert snapshot(deploy["tmp"]) == before
    assert sha(deploy["wh"]) == wh_before
    assert not Path("/tmp/foil_sandbox_test_should_not_exist.csv").exists()


def test_copy_message_says_what_to_do(deploy):
    proc = foil_query(deploy, f"COPY (select 1) TO '{deploy['build']}' (FORMAT csv)")
    assert "COPY is not allowed" in proc.stderr
    assert "--format csv" in proc.stderr and "--allow-files DIR" in proc.stderr


@pytest.mark.parametrize("sql", [
    "select * from read_csv('/etc/passwd')",
    "select * from '/etc/passwd'",
    "select * from read_text('/etc/hostname')",
    "select * from read_blob('/etc/passwd')",
    "select * from glob('/etc/*')",
    "select * from read_parquet('/etc/*.parquet')",
    "select * from read_json('/etc/passwd')",
    "select * from read_blob('{build}')",
    "select * from read_text('{report}')",
    "select * from read_csv('{outside}/secret.csv')",
    "select * from read_csv('{files}/names.csv')",  # not allowed without --allow-files
])
def test_file_reads_are_refused(deploy, sql):
    sql = sql.format(**{k: str(v) for k, v in deploy.items()})
    proc = foil_query(deploy, sql)
    assert proc.returncode == 1, (sql, proc.stdout)
    if sql.startswith("select * from '"):  # no file replacement scan with external access off
        assert "Table with name /etc/passwd does not exist" in proc.stderr, proc.stderr
    else:
        assert "Permission Error" in proc.stderr and "--allow-files DIR" in proc.stderr, proc.stderr
    assert proc.stdout == ""


# ------------------------------------------------------------------ the module directly
def test_connection_is_locked_even_without_the_filter(deploy):
    """Layer 1 alone (con.sql, no check_sql): everything is still blocked by DuckDB itself."""
    before = snapshot(deploy["tmp"])
    with sandbox.open_for_analysts(deploy["wh"]) as con:
        settings = dict(con.sql("select name, value from duckdb_settings()").fetchall())
        assert settings["enable_external_access"] == "false"
        assert settings["lock_configuration"] == "true"
        assert settings["autoload_known_extensions"] == "false"
        assert settings["autoinstall_known_extensions"] == "false"
        assert settings["allow_community_extensions"] == "false"
        for sql in [f"COPY (select 1) TO '{deploy['build']}' (FORMAT csv)",
                    f"copy accounts to '{deploy['tmp']}/x.csv'",
                    f"export database '{deploy['tmp']}/exported'",
                    f"attach '{deploy['build']}' as b",
                    "select * from read_csv('/etc/passwd')",
                    "select * from read_text('/etc/hostname')",
                    "select * from read_blob('/etc/passwd')",
                    "select * from glob('/etc/*')",
                    "install httpfs",
                    "load httpfs",
                    "set enable_external_access = true",
                    "reset enable_external_access",
                    "set lock_configuration = false",
                    "set allowed_directories = ['/']",
                    "set autoinstall_known_extensions = true",
                    "create table hack as select 1"]:
            with pytest.raises(duckdb.Error):
                con.sql(sql)
        rel = con.sql("select agency, count(*) as n from accounts group by 1 order by 1")
        assert rel.fetchall() == [("DHS", 1), ("NYPD", 2)]
        assert con.sql("select * from accounts").pl().height == 3
        con.sql("select * from accounts").show()
    assert snapshot(deploy["tmp"]) == before


def test_check_sql_and_run(deploy):
    for sql, _ in hostile(deploy):
        with pytest.raises(sandbox.QueryRefused):
            sandbox.check_sql(sql)
    for sql in ["select 1", "with a as (select 1 x) select * from a", "describe accounts", "show tables",
                "summarize accounts", "explain analyze select 1", "pragma show_tables", "call pragma_table_info('accounts')",
                "values (1), (2)", "unpivot accounts on agency, status into name k value v", "", "-- nothing"]:
        sandbox.check_sql(sql)
    with pytest.raises(sandbox.QueryRefused, match="UPDATE EXTENSIONS is not allowed"):
        sandbox.check_sql("update extensions")
    with pytest.raises(duckdb.ParserException):
        sandbox.check_sql("selec 1")
    with sandbox.open_for_analysts(deploy["wh"]) as con:
        assert sandbox.run(con, "select count(*) from searches").fetchall() == [(10,)]
        assert sandbox.run(con, "-- only a comment") is None
        with pytest.raises(sandbox.QueryRefused):
            sandbox.run(con, "select 1; detach analytics")
        assert sandbox.run(con, "select count(*) from accounts").fetchall() == [(3,)]  # still attached


# ------------------------------------------------------------------ --allow-files
def test_allow_files_reads_inside(deploy):
    sql = (f"select a.agency, l.label from accounts a join read_csv('{deploy['files']}/names.csv') l "
           "using (account_id) order by 1")
    proc = foil_query(deploy, sql, "--allow-files", str(deploy["files"]), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"agency": "DHS", "label": "third"}, {"agency": "NYPD", "label": "first"}]
    globbed = foil_query(deploy, f"select count(*) as n from glob('{deploy['files']}/*')", "--allow-files",
                         str(deploy["files"]), "--format", "json")
    assert globbed.returncode == 0 and json.loads(globbed.stdout) == [{"n": 1}]


def test_allow_files_relative_dir(deploy):
    rel = os.path.relpath(deploy["files"], Path.cwd())
    with sandbox.open_for_analysts(deploy["wh"], rel) as con:
        assert con.sql(f"select count(*) from read_csv('{deploy['files']}/names.csv')").fetchall() == [(2,)]


def test_allow_files_refuses_outside(deploy):
    files, outside = deploy["files"], deploy["outside"]
    sibling = deploy["tmp"] / "lists-other"  # shares the prefix "lists"
    sibling.mkdir()
    (sibling / "x.csv").write_text("a\n1\n")
    (files / "escape").symlink_to(outside, target_is_directory=True)
    (files / "passwd.csv").symlink_to("/etc/passwd")
    (files / "state").symlink_to(deploy["state"], target_is_directory=True)
    (files / "inside.csv").symlink_to(files / "names.csv")
    before = snapshot(deploy["tmp"])
    refused = [
        "select * from read_csv('/etc/passwd')",
        f"select * from read_csv('{outside}/secret.csv')",
        f"select * from read_csv('{files}/../outside/secret.csv')",
        f"select * from read_csv('{files}/./../outside/secret.csv')",
        f"select * from read_csv('{files}/*/../../outside/secret.csv')",
        f"select * from read_csv('{sibling}/x.csv')",
        f"select * from read_csv('{files}/escape/secret.csv')",  # symlink inside DIR pointing outside
        f"select * from read_text('{files}/passwd.csv')",
        f"select * from read_blob('{files}/state/build.duckdb')",
        f"select * from read_blob('{deploy['build']}')",
    ]
    for sql in refused:
        proc = foil_query(deploy, sql, "--allow-files", str(files))
        assert proc.returncode == 1, (sql, proc.stdout)
        assert "Permission Error" in proc.stderr and f"only files under {files}" in proc.stderr, proc.stderr
        assert "SECRET" not in proc.stdout and "root:" not in proc.stdout
    # a symlink that stays inside DIR is fine
    inside = foil_query(deploy, f"select count(*) as n from read_csv('{files}/inside.csv')", "--allow-files",
                        str(files), "--format", "json")
    assert inside.returncode == 0 and json.loads(inside.stdout) == [{"n": 2}], inside.stderr
    # writing stays impossible, even into DIR
    for sql in [f"copy accounts to '{files}/out.csv'", f"export database '{files}/exp'",
                f"attach '{files}/new.duckdb' as n"]:
        proc = foil_query(deploy, sql, "--allow-files", str(files))
        assert proc.returncode == 1 and "query refused" in proc.stderr, sql
    with sandbox.open_for_analysts(deploy["wh"], files) as con:  # layer 1 alone: DuckDB follows the links and refuses
        for sql in refused:
            with pytest.raises(duckdb.PermissionException):
                con.sql(sql).fetchall()
        with pytest.raises(duckdb.Error):
            con.sql("set allowed_directories = ['/']")
        with pytest.raises(duckdb.Error):
            con.sql("set enable_external_access = true")
    assert snapshot(deploy["tmp"]) == before


def test_allow_files_bad_dirs(deploy):
    for bad in [deploy["tmp"] / "missing", deploy["files"] / "names.csv", deploy["state"],
                deploy["wh"].parent, deploy["state"] / "sub", "/"]:
        if str(bad).endswith("sub"):
            bad.mkdir()
        proc = foil_query(deploy, "select 1", "--allow-files", str(bad))
        assert proc.returncode == 2, (bad, proc.stderr)
        assert "--allow-files" in proc.stderr
        with pytest.raises(sandbox.SandboxError):
            sandbox.open_for_analysts(deploy["wh"], bad, protect=(deploy["state"],))
