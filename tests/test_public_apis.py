"""The pipeline uses only public, documented APIs of the pinned libraries (issue #18 §1).

Every module under pipelines/ is read with `ast`: an import of a private module or name of a pinned
library (a path segment starting with `_`), or of a module the library documents as internal, fails.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PINNED = {"dagster", "dagster_dbt", "dbt", "dbt_common", "great_expectations", "duckdb", "polars"}
# Public-looking modules the libraries document as internal.
INTERNAL = ("dagster_dbt.asset_utils", "dagster_dbt.core", "dbt.contracts", "dbt.adapters.duckdb.connections")


def _private(segment: str) -> bool:
    return segment.startswith("_") and not (segment.startswith("__") and segment.endswith("__"))


def problems_in(source: str) -> list[str]:
    """Each import (or attribute of an imported pinned module) that is private or internal."""
    found, aliases = [], {}
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.append(alias.name)
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for name in names:
            if name.split(".")[0] in PINNED and (any(map(_private, name.split("."))) or name.startswith(INTERNAL)):
                found.append(f"line {node.lineno}: {name}")
    for node in ast.walk(ast.parse(source)):  # `dagster._utils.x` reached through `import dagster`
        if isinstance(node, ast.Attribute):
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                full = ".".join([aliases[base.id], *reversed(chain)])
                root = full.split(".")[0]
                if root in PINNED and (any(map(_private, full.split("."))) or full.startswith(INTERNAL)):
                    found.append(f"line {node.lineno}: {full}")
    return sorted(set(found))


def test_the_scan_finds_private_and_internal_imports():
    source = "\n".join([
        "from dagster._utils import run_with_concurrent_update_guard",
        "import dagster._core.errors",
        "from dagster import _check",
        "from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context",
        "from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation",
        "from dbt.contracts.graph.manifest import Manifest",
        "from dbt.adapters.duckdb.connections import DuckDBConnectionManager",
        "import dagster as dg",
        "x = dg._core.errors",
        # public: not reported
        "from dagster_dbt import DbtCliResource, DbtCliInvocation",
        "from dbt.cli.main import dbtRunner",
        "import duckdb",
        "from pipelines.lib import _internal_helper",
        "from . import _ours",
    ])
    assert problems_in(source) == sorted([
        "line 1: dagster._utils", "line 1: dagster._utils.run_with_concurrent_update_guard",
        "line 2: dagster._core.errors", "line 3: dagster._check",
        "line 4: dagster_dbt.asset_utils", "line 4: dagster_dbt.asset_utils.get_updated_cli_invocation_params_for_context",
        "line 5: dagster_dbt.core.dbt_cli_invocation", "line 5: dagster_dbt.core.dbt_cli_invocation.DbtCliInvocation",
        "line 6: dbt.contracts.graph.manifest", "line 6: dbt.contracts.graph.manifest.Manifest",
        "line 7: dbt.adapters.duckdb.connections", "line 7: dbt.adapters.duckdb.connections.DuckDBConnectionManager",
        "line 9: dagster._core", "line 9: dagster._core.errors",
    ])


@pytest.mark.parametrize("module", sorted(p.relative_to(REPO).as_posix() for p in (REPO / "pipelines").rglob("*.py")))
def test_pipelines_use_only_public_apis(module):
    assert problems_in((REPO / module).read_text()) == []
