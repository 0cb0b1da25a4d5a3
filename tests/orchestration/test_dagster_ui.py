"""`make demo` as a user runs it: the pipeline on demo data, then the UI on loopback (queried over
GraphQL), and a cron `tokenlake run` on the same home."""

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

from orchestration.warehouse import connect_when_unlocked

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


RUNS_IN_FLIGHT = """
{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED, CANCELING]}) {
    ... on Runs { results { runId jobName } } } }
"""


def wait_for_runs_in_flight(port: int, seconds: float = 900) -> None:
    """Until no run is queued or running: the hourly schedule may have fired (at :05) while the
    test ran, and stopping the UI would kill that run half-way."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not graphql(port, RUNS_IN_FLIGHT)["data"]["runsOrError"]["results"]:
            return
        time.sleep(3)
    raise AssertionError(f"runs still in flight after {seconds} s")


def count(warehouse: Path, sql: str):
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_demo_opens_the_ui_on_the_materialised_graph_and_a_cron_rerun_changes_nothing(
    tmp_path: Path,
):
    """README command 1 as a user runs it (`tokenlake demo`, which `make demo` calls): demo data,
    the whole pipeline, then the UI on loopback with every asset materialised; a provider
    backfill launched from the UI; then `tokenlake run` from cron on the same home."""
    import duckdb

    home = tmp_path / "home"
    env = {
        **{k: v for k, v in os.environ.items()
           if not k.startswith(("TOKENLAKE_", "DAGSTER_", "OPENAI_", "ANTHROPIC_"))},
        "TOKENLAKE_HOME": str(home),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }  # fmt: skip
    port = free_port()
    output = tmp_path / "demo.log"
    with output.open("w") as log:
        ui = subprocess.Popen(
            [str(BIN / "tokenlake"), "demo", "--events", "12000", "--port", str(port)],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    warehouse = home / "warehouse.duckdb"
    try:
        data = None
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and ui.poll() is None:
            try:
                data = graphql(port, QUERY)["data"]
                if data["assetNodes"]:
                    break
            except (OSError, KeyError, TypeError):
                pass
            time.sleep(2)
        demo_output = output.read_text()
        assert data and data["assetNodes"], f"the UI did not come up: {demo_output[-3000:]}"
        assert "full_pipeline succeeded" in demo_output and "provider days" in demo_output
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
            "digest",
        } <= {j["name"] for j in repository["jobs"]}
        sensors = {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
        assert {"new_log_files": "RUNNING", "deliver_alerts": "RUNNING",
                "run_failure_alerts": "RUNNING"}.items() <= sensors.items()  # fmt: skip
        schedules = {s["name"]: s["scheduleState"]["status"] for s in repository["schedules"]}
        assert schedules == {"hourly_refresh": "RUNNING", "daily_forecast_and_scan": "RUNNING",
                             "daily_digest": "RUNNING", "weekly_digest": "RUNNING"}  # fmt: skip
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
        # Lose 30 days of the OpenAI bill: the backfill brings them back from the demo API.
        # A scheduled run may hold the write lock: wait for it, as the pipeline's checks do.
        with connect_when_unlocked(warehouse, read_only=False, seconds=600) as con:
            con.execute(
                "delete from raw.openai_costs where cast(bucket_start_at as date) between ? and ?",
                [days[0], days[-1]],
            )
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
        with duckdb.connect(str(warehouse), read_only=True) as con:
            loaded = con.execute(
                "select count(distinct cast(bucket_start_at as date)) from raw.openai_costs"
                " where cast(bucket_start_at as date) between ? and ?",
                [days[0], days[-1]],
            ).fetchone()[0]
        assert loaded == 30
        wait_for_runs_in_flight(port)
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait(timeout=30)

    # What the demo built: every event once, through to the marts; the bill from the demo API
    # (30 days of it re-read by the backfill) equals the providers' ledger.
    manifest = json.loads((home / "demo" / "manifest.json").read_text())
    events = manifest["events"]
    assert count(warehouse, "select count(*) from raw.usage_events") == events
    assert count(warehouse, "select count(*) from staging.stg_usage_logs__events") == events
    assert count(warehouse, "select count(*) from raw.usage_log_files where not balanced") == 0
    assert count(warehouse, "select count(*) from marts.fct_llm_attempts") == events
    assert count(warehouse, "select count(*) from marts.mart_unpriced_models") == 1
    ledger = home / "demo" / "provider_api" / "ledger.parquet"
    billed = count(
        warehouse,
        "select (select sum(amount_usd) from staging.stg_openai__costs)"
        " + (select sum(amount_usd) from staging.stg_anthropic__cost_report)",
    )
    expected = count(warehouse, f"select sum(cost_total) from read_parquet('{ledger}')")
    assert abs(billed - expected) < 0.01 and expected > 0

    # A cron job on the same home: nothing new, nothing doubled.
    again = subprocess.run(
        [str(BIN / "tokenlake"), "run"], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert count(warehouse, "select count(*) from raw.usage_events") == events
    assert count(warehouse, "select count(*) from marts.fct_llm_attempts") == events

    # Every run is in Dagster's storage under TOKENLAKE_HOME (what the UI lists), none failed
    # (an hourly_refresh run, if the test crossed :05, included), and no sensor started a second
    # ingest of files the demo had read.
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs()
    assert all(r.status.value == "SUCCESS" for r in runs), [(r.job_name, r.status) for r in runs]
    assert not [r for r in runs if r.tags.get("dagster/sensor_name")]
    scheduled = [r for r in runs if r.tags.get("dagster/schedule_name")]
    assert {r.job_name for r in scheduled} <= {"hourly_incremental", "forecast_and_scan"}
    assert sorted(
        r.job_name for r in runs if not r.tags.get("dagster/backfill") and r not in scheduled
    ) == ["full_pipeline", "full_pipeline"]
