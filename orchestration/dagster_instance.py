"""The Dagster instance settings (`$DAGSTER_HOME/dagster.yaml`) tokenlake runs with.

Local storage (SQLite under DAGSTER_HOME) by default; run, event-log and schedule storage in
PostgreSQL when DAGSTER_PG_URL is set. The file names the variable, never its value. A
dagster.yaml the user wrote themselves (without the marker line) is left alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from orchestration.settings import REPO_ROOT

MARKER = "# Written by tokenlake from orchestration/dagster.yaml; edits here are replaced."
# The first line of the copies earlier versions made: also ours to refresh.
EARLIER_COPY = "# Dagster instance settings; `tokenlake` copies this file"
TEMPLATE = REPO_ROOT / "orchestration" / "dagster.yaml"
# Dagster's local SQLite layout in the instance folder, written through orchestration.dagster_storage
# (an engine kept per database file; Dagster's own opens one per statement).
LOCAL_STORAGE = """
# Runs, event logs and schedules: Dagster's SQLite files in this folder.
storage:
  custom:
    module: orchestration.dagster_storage
    class: LocalSqliteStorage
    config:
      base_dir: {base_dir}
"""
POSTGRES_STORAGE = """
# DAGSTER_PG_URL is set: runs, event logs and schedules live in PostgreSQL.
storage:
  postgres:
    postgres_url:
      env: DAGSTER_PG_URL
"""


def render_dagster_yaml(dagster_home: Path, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    text = f"{MARKER}\n{TEMPLATE.read_text()}"
    if env.get("DAGSTER_PG_URL"):
        return text + POSTGRES_STORAGE
    # The folder itself, not $DAGSTER_HOME: an instance is also opened by path (from_config).
    return text + LOCAL_STORAGE.format(base_dir=json.dumps(str(dagster_home.resolve())))


def write_dagster_yaml(dagster_home: Path, env: Mapping[str, str] | None = None) -> Path:
    """Write (or refresh) the instance settings unless the user owns the file."""
    target = dagster_home / "dagster.yaml"
    dagster_home.mkdir(parents=True, exist_ok=True)
    if target.exists() and not target.read_text().startswith((MARKER, EARLIER_COPY)):
        return target
    text = render_dagster_yaml(dagster_home, env)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target
