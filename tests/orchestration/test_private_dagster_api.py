"""Where tokenlake leans on Dagster's private code, and a test that fails on an upgrade.

Private names change without notice between releases. Every use is listed here:
- orchestration/dagster_storage.py imports two private modules (the SQLite storage classes have
  no public import path) and overrides `SqliteEventLogStorage._connect`;
- orchestration/defs/dbt/dbt_cli.py overrides two private methods of dagster-dbt's
  DbtCliResource (`_cli_version`, `_initialize_dbt_core_adapter`) to skip per-step start-up work;
- orchestration/defs/dbt/project.py overrides `DagsterDbtProjectPreparer._prepare_manifest`.
On an upgrade, check each against the new release, then move the pins below.
"""

from __future__ import annotations

import ast
import inspect
from functools import cached_property
from pathlib import Path

import dagster
import dagster_dbt

REPO = Path(__file__).resolve().parents[2]
CHECKED_WITH = {"dagster": "1.13.", "dagster_dbt": "0.29."}


def private_imports() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for folder in ("ingestion", "orchestration", "demo"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                for name in names:
                    if name.split(".")[0].startswith("dagster") and "._" in f".{name}":
                        found.setdefault(str(path.relative_to(REPO)), []).append(name)
    return found


def test_private_dagster_imports_are_two_and_in_one_module():
    assert private_imports() == {
        "orchestration/dagster_storage.py": [
            "dagster._core.storage",
            "dagster._core.storage.event_log.sqlite",
        ]
    }


def test_the_releases_these_private_uses_were_checked_against():
    assert dagster.__version__.startswith(CHECKED_WITH["dagster"]), (
        f"dagster {dagster.__version__}: re-check the private uses listed in this module's "
        "docstring, then update CHECKED_WITH"
    )
    assert dagster_dbt.__version__.startswith(CHECKED_WITH["dagster_dbt"]), (
        f"dagster-dbt {dagster_dbt.__version__}: re-check the private uses listed in this "
        "module's docstring, then update CHECKED_WITH"
    )


def test_the_private_names_used_still_exist_with_the_shapes_relied_on():
    from dagster._core.storage import sqlite_storage
    from dagster._core.storage.event_log.sqlite import sqlite_event_log
    from dagster_dbt import DagsterDbtProjectPreparer, DbtCliResource

    storage = sqlite_event_log.SqliteEventLogStorage
    assert isinstance(sqlite_event_log.INDEX_SHARD_NAME, str)
    assert sqlite_event_log.SQLITE_BUSY_TIMEOUT_SECONDS > 0
    assert list(inspect.signature(storage._connect).parameters) == ["self", "shard"]
    assert {"_initdb", "conn_string_for_shard", "has_table", "wipe", "dispose"} <= set(dir(storage))
    assert sqlite_storage._event_logs_directory("/x").rstrip("/") == "/x/history/runs"
    assert hasattr(sqlite_storage.DagsterSqliteStorage, "from_local")
    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"), cached_property)
    assert list(inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters) == [
        "self",
        "args",
    ]
    assert "_prepare_manifest" in vars(DagsterDbtProjectPreparer)
    assert DagsterDbtProjectPreparer()._prepare_project_cli_args[0] == "parse"
