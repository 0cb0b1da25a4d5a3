"""The imports follow the data's one-way flow (docs/architecture.md): the dlt sources never import
the orchestration that runs them, plain code never imports the Dagster definitions, and the demo
stays out of what users' pipelines import."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_ingestion_never_imports_orchestration():
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in imported_modules(path) if m.split(".")[0] == "orchestration")
        for path in (REPO / "ingestion").rglob("*.py")
    }  # fmt: skip
    assert {k: v for k, v in offenders.items() if v} == {}


# The entry points that start Dagster work: the Definitions, the `tokenlake` command and the
# headless run it executes. Everything else outside defs/ is plain code that defs/ builds on.
ENTRY_POINTS = {"orchestration/definitions.py", "orchestration/cli.py", "orchestration/headless.py"}


def test_plain_orchestration_code_never_imports_the_dagster_definitions():
    offenders = {}
    for path in (REPO / "orchestration").rglob("*.py"):
        name = str(path.relative_to(REPO))
        if name.startswith("orchestration/defs/") or name in ENTRY_POINTS:
            continue
        found = sorted(m for m in imported_modules(path) if m.startswith("orchestration.defs"))
        if found:
            offenders[name] = found
    assert offenders == {}


def test_only_the_cli_imports_the_demo():
    """The demo (generator, fake provider API) is not part of what users' pipelines import."""
    offenders = {}
    for folder in ("ingestion", "orchestration"):
        for path in (REPO / folder).rglob("*.py"):
            name = str(path.relative_to(REPO))
            found = sorted(m for m in imported_modules(path) if m.split(".")[0] == "demo")
            if found and name != "orchestration/cli.py":
                offenders[name] = found
    for path in (REPO / "demo").rglob("*.py"):
        found = sorted(
            m for m in imported_modules(path) if m.split(".")[0] in ("orchestration", "ingestion")
        )
        if found:
            offenders[str(path.relative_to(REPO))] = found
    assert offenders == {}


def test_every_job_and_schedule_is_defined_in_defs_jobs():
    """One place answers "what runs, and when": defs/jobs.py (sensors stay with their domain)."""
    offenders = []
    for path in (REPO / "orchestration").rglob("*.py"):
        if path.name == "jobs.py" and path.parent.name == "defs":
            continue
        text = path.read_text()
        for marker in ("define_asset_job(", "ScheduleDefinition(", "@dg.schedule"):
            if marker in text:
                offenders.append(f"{path.relative_to(REPO)}: {marker}")
    assert offenders == []


def test_settings_are_read_from_the_environment_in_three_places_at_most():
    """The CLI, the definitions (to choose the executor) and the settings resource; everything
    else receives the `Settings` it needs."""
    readers = sorted(
        str(path.relative_to(REPO))
        for folder in ("ingestion", "orchestration")
        for path in (REPO / folder).rglob("*.py")
        if "Settings.from_env(" in path.read_text()
    )
    assert readers == [
        "orchestration/cli.py",
        "orchestration/definitions.py",
        "orchestration/defs/resources.py",
    ]


def test_no_module_of_the_packages_users_import_outgrows_one_job():
    """A module past 400 lines holds more than one job (docs/architecture.md): split it."""
    long = {
        str(path.relative_to(REPO)): n
        for folder in ("ingestion", "orchestration")
        for path in (REPO / folder).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


def _loaded_by(modules: str, watched: set[str]) -> set[str]:
    """Which of `watched` a fresh Python has loaded after importing `modules` (comma-separated)."""
    import subprocess
    import sys

    code = f"import sys, {modules}\nprint(' '.join(sorted({set(watched)!r} & set(sys.modules))))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(loaded.stdout.split())


def test_the_run_supervisor_and_the_dbt_command_load_no_engine_they_do_not_use():
    """The `tokenlake run` parent stays small for the whole run (it only waits for its child),
    and `tokenlake-dbt` adds nothing to dbt's own start: neither loads Arrow, DuckDB, dlt or
    Dagster (the parent's share of the run's memory was 143 MiB when its settings loaded them)."""
    engines = {"pyarrow", "duckdb", "dlt", "dagster"}
    assert _loaded_by("orchestration.cli, orchestration.dbt_process", engines) == set()


def test_tokenlake_dbt_imports_neither_dbt_nor_the_settings_before_it_must_run_dbt():
    """`tokenlake-dbt` hands its command to the run's standby dbt process (dbt_standby.py): its
    own start is what the hourly run waits for, so it loads dbt only when it runs dbt itself."""
    assert _loaded_by("orchestration.dbt_process", {"dbt", "orchestration.settings"}) == set()
