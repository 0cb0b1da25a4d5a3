"""dbt as a user runs it on a test's own warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

DBT = str(Path(sys.executable).with_name("dbt"))


def dbt(*args: str, warehouse: Path, **variables: str) -> subprocess.CompletedProcess:
    """`dbt ARGS` on `warehouse` (with extra environment `variables`). Artifacts go beside the
    warehouse, not to the project's target folder, whose manifest Dagster reads (tests run in
    parallel)."""
    target = str(Path(warehouse).with_name("dbt-target"))
    env = {**os.environ, **variables, "TOKENLAKE_WAREHOUSE": str(warehouse)}
    return subprocess.run(
        [DBT, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", target, "--log-path", target],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
