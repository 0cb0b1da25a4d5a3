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
    ... on RepositoryLocation { repositories { sensors { name sensorState { status } } jobs { name }
      schedules { name scheduleState { status } } } }
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


PROVIDER_QUERY = """
{ assetNodes { assetKey { path } partitionDefinition { type } } }
"""

BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""

BACKFILL_STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 10) { runId status } }
  }
}
"""


def graphql_vars(port: int, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_ui_shows_the_materialised_graph_sensor_jobs_and_checks(tmp_path: Path):
    from ingestion.demo import generate
    from ingestion.demo.provider_api import ProviderAPIServer

    write_jsonl(tmp_path / "logs" / "a.jsonl", [event(i) for i in range(30)])
    # The demo's provider API, as `make demo` serves it: the UI backfills 30 days from it.
    generate(tmp_path / "demo", 2000)
    server = ProviderAPIServer(
        tmp_path / "demo" / "provider_api" / "ledger.parquet",
        "ui-test-openai-key",
        "ui-test-anthropic-key",
    ).start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TOKENLAKE_", "DAGSTER_"))},
        "TOKENLAKE_HOME": str(tmp_path / "home"),
        "TOKENLAKE_LOGS_URL": str(tmp_path / "logs"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "OPENAI_API_BASE": server.base_url,
        "OPENAI_ADMIN_KEY": "ui-test-openai-key",
        "ANTHROPIC_API_BASE": server.base_url,
        "ANTHROPIC_ADMIN_KEY": "ui-test-anthropic-key",
        "TOKENLAKE_PROVIDER_HISTORY_DAYS": "3",
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
            "analytics",
            "publish",
        }
        for key in (
            "raw/usage_events",
            "staging/stg_usage_logs__events",
            "marts/fct_llm_attempts",
            "analytics/spend_forecast",
            "publish/duckdb_file",
            "publish/parquet_exports",
        ):
            assert nodes[key]["assetMaterializations"], f"{key} is not materialised"
        location = data["workspaceOrError"]["locationEntries"][0]["locationOrLoadError"]
        assert location["__typename"] == "RepositoryLocation"
        repository = location["repositories"][0]
        assert {
            "full_pipeline",
            "full_refresh",
            "hourly_incremental",
            "publish_only",
            "ingest_logs",
            "import_prices",
            "forecast_and_scan",
        } <= {j["name"] for j in repository["jobs"]}
        sensors = {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
        assert {"new_log_files": "RUNNING", "deliver_alerts": "RUNNING",
                "run_failure_alerts": "RUNNING"}.items() <= sensors.items()  # fmt: skip
        schedules = {s["name"]: s["scheduleState"]["status"] for s in repository["schedules"]}
        assert schedules == {"hourly_refresh": "RUNNING", "daily_forecast_and_scan": "RUNNING"}
        checks = {
            c["name"]
            for n in data["assetChecksOrError"]
            for c in (n["assetChecksOrError"] or {}).get("checks", [])
        }
        # Dagster's own checks and dbt's tests, singular ones over several models included.
        assert {
            "every_record_accounted_for",
            "quarantined_records",
            "rollups_reconcile_to_attempts",
            "request_cost_equals_sum_of_attempts",
            "computed_cost_reconciles_with_provider_bill",
            "prices_are_not_negative",
        } <= checks

        # The provider assets are partitioned by day; a 30-day backfill launched as from the UI
        # (the daemon of `dagster dev` runs it) loads those days from the demo API.
        partitioned = {
            "/".join(n["assetKey"]["path"]): (n["partitionDefinition"] or {}).get("type")
            for n in graphql(port, PROVIDER_QUERY)["data"]["assetNodes"]
        }
        provider_keys = [k for k in partitioned if k.startswith(("raw/openai_", "raw/anthropic_"))]
        assert len(provider_keys) == 11
        assert {partitioned[k] for k in provider_keys} == {"TIME_WINDOW"}
        from datetime import UTC, datetime, timedelta

        today = datetime.now(UTC).date()
        days = [(today - timedelta(days=n)).isoformat() for n in range(40, 10, -1)]
        launched = graphql_vars(port, BACKFILL, {"params": {
            "partitionNames": days,
            "assetSelection": [{"path": k.split("/")} for k in provider_keys],
            "fromFailure": False,
        }})["data"]["launchPartitionBackfill"]  # fmt: skip
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        status = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            backfill = graphql_vars(port, BACKFILL_STATUS, {"id": launched["backfillId"]})
            status = backfill["data"]["partitionBackfillOrError"]["status"]
            if status in (
                "COMPLETED",
                "COMPLETED_SUCCESS",
                "FAILED",
                "COMPLETED_FAILED",
                "CANCELED",
            ):
                break
            time.sleep(3)
        assert status in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
        import duckdb

        with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
            loaded = con.execute(
                "select count(distinct cast(bucket_start_at as date)) from raw.openai_costs"
                " where cast(bucket_start_at as date) between ? and ?",
                [days[0], days[-1]],
            ).fetchone()[0]
        assert loaded == 30
    finally:
        server.stop()
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait(timeout=30)
