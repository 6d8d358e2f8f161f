"""A locked-down DuckDB connection for analysts' SQL (`foil query`).

Two layers, so that a mistake in one is caught by the other:

1. The connection (`open_for_analysts`): the published file opened read-only, with
   `enable_external_access = false` (no COPY/EXPORT to files, no read_csv/read_parquet/read_text/
   read_blob/glob, no ATTACH of other files, no INSTALL), extension auto-install/auto-load and
   community extensions off, and `lock_configuration = true` set last so SQL cannot `SET` any of it
   back. `allow_files=DIR` adds exactly one folder to DuckDB's `allowed_directories`, which DuckDB
   honours even with external access off. DuckDB (2.0) resolves `..` and symlinks before checking,
   so `DIR/../x` and links inside DIR that point outside it are refused (tests pin this down).
   Caveat: DuckDB also always allows the warehouse file itself, its `.wal` files and its spill
   folder `<warehouse>.tmp/`; layer 2 is what stops COPY from writing into those.
2. The statement filter (`check_sql`): the SQL is split with `duckdb.extract_statements` and every
   statement must be a read (SELECT/WITH/VALUES/FROM, DESCRIBE, SHOW, SUMMARIZE, PIVOT/UNPIVOT,
   EXPLAIN of a read, CALL of a table function, or an introspection PRAGMA). COPY, EXPORT, ATTACH,
   DETACH, INSTALL/LOAD, SET/RESET/USE, transactions, DDL and DML are refused with a message that
   says what to do instead.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

__all__ = ["QueryRefused", "SandboxError", "check_sql", "open_for_analysts", "run"]

# Settings applied at connect time (before any SQL can run).
_CONNECT_CONFIG = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
}
# What the finished connection must report (checked after locking; fail closed if DuckDB disagrees).
_EXPECTED = {
    "enable_external_access": "false",
    "autoload_known_extensions": "false",
    "autoinstall_known_extensions": "false",
    "allow_community_extensions": "false",
    "lock_configuration": "true",
}

# PRAGMAs that only describe the database or the engine.
_READ_PRAGMAS = frozenset({
    "collations", "database_list", "database_size", "extension_versions", "functions",
    "metadata_info", "platform", "show", "show_databases", "show_tables", "show_tables_expanded",
    "storage_info", "table_info", "user_agent", "version",
})

_EXPORT_HINT = ("to export results use `foil query --format csv \"...\" > file.csv` (or --format json); "
                "to read a folder of files use --allow-files DIR")
_WRITE_HINT = ("the published warehouse cannot be changed from foil query; use a CTE (WITH name AS (...) "
               "SELECT ...) instead of CREATE/INSERT, or change the dbt models and run `foil build`")
_READS = "only reading statements (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, PRAGMA table_info) are allowed"

_ST = duckdb.StatementType
_HINTS = {
    _ST.COPY: ("COPY", _EXPORT_HINT),
    _ST.COPY_DATABASE: ("COPY FROM DATABASE", _EXPORT_HINT),
    _ST.EXPORT: ("EXPORT DATABASE", _EXPORT_HINT),
    _ST.ATTACH: ("ATTACH", "only the published warehouse can be queried; to read CSV/Parquet files use "
                           "--allow-files DIR and read_csv('DIR/file.csv')"),
    _ST.DETACH: ("DETACH", "only the published warehouse can be queried"),
    _ST.LOAD: ("INSTALL/LOAD", "extensions cannot be installed or loaded in foil query; the built-in "
                               "functions (csv, parquet, json) are available"),
    _ST.SET: ("SET/RESET/USE", "the sandbox settings are fixed; qualify names (schema.table) instead of USE, "
                               "and inline values instead of SET VARIABLE"),
    _ST.VARIABLE_SET: ("SET VARIABLE", "inline the value, or define it in a CTE"),
    _ST.TRANSACTION: ("BEGIN/COMMIT/ROLLBACK", "drop the transaction statements; every query is read-only"),
}
for _t, _name in ((_ST.INSERT, "INSERT"), (_ST.UPDATE, "UPDATE"), (_ST.DELETE, "DELETE"),
                  (_ST.CREATE, "CREATE"), (_ST.CREATE_FUNC, "CREATE FUNCTION/MACRO"), (_ST.DROP, "DROP"),
                  (_ST.ALTER, "ALTER"), (_ST.MERGE_INTO, "MERGE"), (_ST.VACUUM, "VACUUM/ANALYZE")):
    _HINTS[_t] = (_name, _WRITE_HINT)

_LEADING_JUNK = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_FIRST_WORD = re.compile(r"[A-Za-z_]+")
_EXPLAIN = re.compile(r"explain\b\s*(?:\([^)]*\)\s*)?(?:analy[sz]e\b)?(.*)\Z", re.S | re.I)


class QueryRefused(Exception):
    """The SQL contains a statement that is not a read. The message says what to do instead."""


class SandboxError(ValueError):
    """Bad sandbox arguments (e.g. --allow-files is not a folder)."""


def _strip(text: str) -> str:
    return _LEADING_JUNK.sub("", text, count=1)


def _first_word(text: str) -> str:
    m = _FIRST_WORD.match(_strip(text))
    return m.group(0).lower() if m else ""


def _refuse(what: str, hint: str, where: str) -> QueryRefused:
    return QueryRefused(f"foil query is read-only: {what} is not allowed{where}; {hint}")


def check_sql(sql: str) -> None:
    """Raise QueryRefused unless every statement in `sql` only reads. Syntax errors raise duckdb.Error."""
    _check(sql, depth=0, inside="")


def _check(sql: str, depth: int, inside: str) -> None:
    statements = duckdb.extract_statements(sql)  # syntax errors raise duckdb.ParserException
    many = len(statements) > 1
    for i, st in enumerate(statements, 1):
        where = (f" (statement {i}" + inside + ")") if many else (f" ({inside.strip()})" if inside else "")
        word = _first_word(st.query)
        try:
            t = st.type
        except ValueError:  # a statement type the Python API has no name for (e.g. UPDATE EXTENSIONS)
            raise _refuse(" ".join(st.query.split()[:2]).upper().rstrip(";") or "this statement", _READS, where) from None
        if t == _ST.SELECT:
            continue
        if t == _ST.EXPLAIN:
            m = _EXPLAIN.match(_strip(st.query))
            inner = m.group(1) if m else ""
            if depth > 3 or not inner.strip():
                raise _refuse("this EXPLAIN", _READS, where)
            try:
                _check(inner, depth + 1, (inside + " inside EXPLAIN") if not many else f" inside EXPLAIN in statement {i}")
            except duckdb.Error:
                raise _refuse("this EXPLAIN", _READS, where) from None
            continue
        if t == _ST.PRAGMA:
            name = _FIRST_WORD.match(_strip(st.query)[len(word):].lstrip() or "-")
            if word == "pragma" and name and name.group(0).lower() in _READ_PRAGMAS:
                continue
            if word == "import":
                raise _refuse("IMPORT DATABASE", _WRITE_HINT, where)
            if word == "copy":
                raise _refuse("COPY FROM DATABASE", _EXPORT_HINT, where)
            raise _refuse(f"PRAGMA {name.group(0) if name else ''}".strip(),
                          f"only introspection PRAGMAs are allowed ({', '.join(sorted(_READ_PRAGMAS))})", where)
        if t == _ST.CALL and word == "call":  # table functions; `CHECKPOINT` is also a CALL
            continue
        if t == _ST.MULTI and word in ("pivot", "unpivot"):
            continue
        name, hint = _HINTS.get(t, (word.upper() or str(t), _READS))
        raise _refuse(name, hint, where)


def _resolve_allowed(allow_files: str | os.PathLike, protect: tuple[Path, ...]) -> Path:
    folder = Path(allow_files).expanduser()
    if not folder.is_dir():
        raise SandboxError(f"--allow-files {allow_files}: not a folder")
    folder = folder.resolve()
    if folder == Path(folder.anchor):
        raise SandboxError("--allow-files: refusing to open the whole file system; give the folder that holds your files")
    for p in protect:
        p = Path(p).resolve()
        if folder == p or folder in p.parents or p in folder.parents:
            raise SandboxError(f"--allow-files {allow_files}: overlaps the warehouse state folder {p}; "
                               "copy your files into a folder of their own")
    return folder


def open_for_analysts(warehouse: str | os.PathLike, allow_files: str | os.PathLike | None = None,
                      *, protect: tuple[Path, ...] = ()) -> duckdb.DuckDBPyConnection:
    """Open the published file read-only with external access off and the configuration locked.

    `allow_files`: one folder analysts may READ files from (read_csv/read_parquet/...); writing stays
    impossible. `protect`: folders (the state folder) that `allow_files` must neither be nor contain
    nor sit inside. Raises SandboxError for a bad `allow_files`, duckdb.Error if the file can't be opened.
    """
    folder = _resolve_allowed(allow_files, protect) if allow_files is not None else None
    con = duckdb.connect(str(warehouse), read_only=True, config=dict(_CONNECT_CONFIG))
    try:
        if folder is not None:
            # Must be set before external access is switched off (DuckDB refuses it afterwards).
            con.execute("SET allowed_directories = ?", [[str(folder) + os.sep]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")  # last: nothing above can be changed from SQL now
        got = dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN ({})".format(
            ", ".join("?" * len(_EXPECTED))), list(_EXPECTED)).fetchall())
        wrong = {k: got.get(k) for k, v in _EXPECTED.items() if got.get(k) != v}
        if wrong:
            raise RuntimeError(f"query sandbox could not be set up, DuckDB reports {wrong}")
    except BaseException:
        con.close()
        raise
    return con


def run(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyRelation | None:
    """check_sql, then execute on a sandboxed connection; the result of the last statement (or None)."""
    check_sql(sql)
    return con.sql(sql)
