"""The UI a user lands in after `make demo`: dagster dev on loopback, queried over GraphQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import event, write_jsonl

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

QUERY = """
{
  assetNodes { assetKey { path } groupName isExecutable assetMaterializations(limit: 1) { timestamp } }
  workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
    __typename
    ... on RepositoryLocation { repositories { sensors { name sensorState { status } } jobs { name } } }
  } } } }
  assetChecksOrError: assetNodes { assetChecksOrError { ... on AssetChecks { checks { name } } } }
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_ui_shows_the_materialised_graph_sensor_jobs_and_checks(tmp_path: Path):
    write_jsonl(tmp_path / "logs" / "a.jsonl", [event(i) for i in range(30)])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TOKENLAKE_", "DAGSTER_"))},
        "TOKENLAKE_HOME": str(tmp_path / "home"),
        "TOKENLAKE_LOGS_URL": str(tmp_path / "logs"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    run = subprocess.run(
        [str(BIN / "tokenlake"), "run"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]

    port = free_port()
    ui = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster",
            "dev",
            "-m",
            "orchestration.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env={**env, "DAGSTER_HOME": str(tmp_path / "home" / "dagster")},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        data = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                data = graphql(port, QUERY)["data"]
                if data["assetNodes"]:
                    break
            except (OSError, KeyError, TypeError):
                pass
            time.sleep(2)
        assert data and data["assetNodes"], "the UI did not come up with the code location loaded"
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
        assert {n["groupName"] for n in nodes.values()} >= {
            "sources",
            "raw",
            "seeds",
            "staging",
            "intermediate",
            "marts",
        }
        for key in ("raw/usage_events", "staging/stg_usage_logs__events", "marts/fct_llm_attempts"):
            assert nodes[key]["assetMaterializations"], f"{key} is not materialised"
        location = data["workspaceOrError"]["locationEntries"][0]["locationOrLoadError"]
        assert location["__typename"] == "RepositoryLocation"
        repository = location["repositories"][0]
        assert {"full_pipeline", "ingest_logs", "import_prices"} <= {
            j["name"] for j in repository["jobs"]
        }
        assert {"new_log_files": "RUNNING"}.items() <= {
            s["name"]: s["sensorState"]["status"] for s in repository["sensors"]
        }.items()
        checks = {
            c["name"]
            for n in data["assetChecksOrError"]
            for c in (n["assetChecksOrError"] or {}).get("checks", [])
        }
        assert {"every_record_accounted_for", "quarantined_records"} <= checks
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait(timeout=30)
