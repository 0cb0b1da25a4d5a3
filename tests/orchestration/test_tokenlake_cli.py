"""`tokenlake run` and `tokenlake demo` as a cron job or a user would run them: a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

TOKENLAKE = str(Path(sys.executable).with_name("tokenlake"))
REPO = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENLAKE_", "DAGSTER_"))}
    return subprocess.run(
        [TOKENLAKE, *args],
        env={**clean, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def count(warehouse: Path, sql: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_run_exits_non_zero_when_the_pipeline_fails(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "warehouse.duckdb").write_bytes(b"not a database\n" * 1000)
    from tests.conftest import event, write_jsonl

    write_jsonl(tmp_path / "logs" / "a.jsonl", [event(1)])
    result = run(
        ["run"], {"TOKENLAKE_HOME": str(home), "TOKENLAKE_LOGS_URL": str(tmp_path / "logs")}
    )
    assert result.returncode == 1
    assert "FAILED" in result.stderr


def test_the_sensor_job_works_on_a_fresh_warehouse(tmp_path: Path):
    from tests.conftest import event, write_jsonl

    write_jsonl(tmp_path / "logs" / "a.jsonl", [event(i) for i in range(20)])
    env = {"TOKENLAKE_HOME": str(tmp_path / "home"), "TOKENLAKE_LOGS_URL": str(tmp_path / "logs")}
    result = run(["run", "--job", "ingest_logs"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        count(
            tmp_path / "home" / "warehouse.duckdb",
            "select count(*) from marts.fct_llm_attempts where is_priced",
        )
        == 20
    )


def test_run_reads_logs_providers_and_warehouse_from_the_environment_and_resumes_at_cursors(
    tmp_path: Path,
):
    """A cron job's two runs: logs, warehouse and provider API from the environment; the second
    run reads the providers from their cursors; keys never printed."""
    from datetime import UTC, datetime, timedelta

    import pyarrow.parquet as pq

    from demo.provider_api import ProviderAPIServer
    from demo.provider_ledger import ledger_table
    from tests.conftest import event, write_jsonl
    from tests.ingestion.test_provider_usage import ANTHROPIC_KEY, OPENAI_KEY, fixture_rows

    today = datetime.now(UTC).date()
    rows = fixture_rows(today - timedelta(days=20), today)
    ledger = tmp_path / "ledger.parquet"
    pq.write_table(ledger_table(rows), ledger)
    home = tmp_path / "home"
    logs = tmp_path / "elsewhere"
    write_jsonl(logs / "a.jsonl", [event(i) for i in range(50)] + ["not json"])
    warehouse = tmp_path / "custom" / "wh.duckdb"
    with ProviderAPIServer(ledger, OPENAI_KEY, ANTHROPIC_KEY) as server:
        env = {
            "TOKENLAKE_HOME": str(home),
            "TOKENLAKE_LOGS_URL": str(logs),
            "TOKENLAKE_WAREHOUSE": str(warehouse),
            "TOKENLAKE_PROVIDER_HISTORY_DAYS": "21",
            "OPENAI_API_BASE": server.base_url,
            "OPENAI_ADMIN_KEY": OPENAI_KEY,
            "ANTHROPIC_API_BASE": server.base_url,
            "ANTHROPIC_ADMIN_KEY": ANTHROPIC_KEY,
        }
        first = run(["run"], env)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        second = run(["run"], env)
        assert second.returncode == 0, second.stderr[-3000:]
    assert f"provider days {today - timedelta(days=20)} .. {today}" in first.stdout
    # The second run starts from the last complete bucket (today's midnight) minus 2 days.
    assert f"provider days {today - timedelta(days=2)} .. {today}" in second.stdout
    for output in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert OPENAI_KEY not in output and ANTHROPIC_KEY not in output
    assert "51 records read = 50 loaded + 1 quarantined" in first.stdout + first.stderr
    assert not (home / "warehouse.duckdb").exists()
    assert count(warehouse, "select count(*) from raw.usage_events") == 50
    assert count(warehouse, "select count(*) from raw.usage_events_quarantine") == 1
    assert count(warehouse, "select count(*) from marts.fct_llm_attempts") == 50
    assert count(
        warehouse, "select sum(input_tokens) from staging.stg_openai__completions_usage"
    ) == sum(r["input_tokens"] for r in rows if r["report"] == "completions")
    assert (
        count(
            warehouse,
            "select count(*) - count(distinct usage_row_key) from staging.stg_anthropic__messages_usage",
        )
        == 0
    )
