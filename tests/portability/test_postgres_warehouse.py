"""The same pipeline with PostgreSQL as the warehouse: dlt loads the raw tables there, dbt builds
every model, test and unit test there, and every total equals the DuckDB build's to the cent."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg2
import pytest

from tests.support.postgres_server import create_database

pytestmark = pytest.mark.slow

WAREHOUSE_DB = "warehouse_pg"

# (name, SQL run on both engines): the numbers a user would compare between the two builds.
TOTALS = {
    "raw events": "select count(*), sum(input_tokens), sum(output_tokens) from raw.usage_events",
    "attempts": """select count(*), sum(total_cost), sum(net_cost), sum(cache_savings),
        count(case when not is_priced then 1 end) from marts.fct_llm_attempts""",
    "requests": "select count(*), sum(total_cost), sum(attempts) from marts.fct_llm_requests",
    "daily by day, feature, model": """select usage_date, feature, model, sum(total_cost),
        sum(net_cost), sum(attempts), sum(input_tokens) from marts.agg_usage_daily
        group by 1, 2, 3 order by 1, 2, 3""",
    "hourly": "select count(*), sum(total_cost), sum(retries), sum(errors) from marts.agg_usage_hourly",
    "sessions": """select count(*), sum(requests), sum(attempts), sum(models_used), sum(priced_cost)
        from marts.mart_session_costs""",
    "chargeback": """select tenant_id, usage_month, provider_cost, billed_amount, margin
        from marts.mart_chargeback_monthly order by 1, 2""",
    "reconciliation": """select usage_date, provider, model, computed_cost, provider_cost
        from marts.mart_cost_reconciliation order by 1, 2, 3""",
    "cost change drivers": """select scope_type, count(*), sum(cost_change), sum(more_requests),
        sum(longer_prompts), sum(price_change) from marts.mart_cost_change_drivers
        group by 1 order by 1""",
    "heatmap cells": "select count(*), sum(total_cost) from marts.mart_usage_heatmap",
    "OpenAI bill": "select count(*), sum(amount_usd) from staging.stg_openai__costs",
    "Anthropic bill": "select count(*), sum(amount_usd) from staging.stg_anthropic__cost_report",
    # The demo's custom dimensions: JSON paths read by each engine's own JSON functions.
    "custom dimensions": """select environment, experiment, count(*), sum(total_cost)
        from marts.fct_llm_attempts group by 1, 2 order by 1, 2""",
    "provider lines": """select source, line_item, count(*), sum(quantity), sum(billed_cost)
        from marts.mart_provider_usage_daily group by 1, 2 order by 1, 2""",
}


def _cents(value: object) -> object:
    """Money and other numbers to the cent; everything else (dates, names) as text."""
    if value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    return str(value)[:19]


def _rows(execute, sql: str) -> list[tuple]:
    return [tuple(_cents(v) for v in row) for row in execute(sql)]


@pytest.fixture(scope="module")
def postgres_build(demo_pipeline, tmp_path_factory):
    """tokenlake run into PostgreSQL on the demo pipeline's logs and provider API."""
    from orchestration.settings import Settings

    url = create_database(demo_pipeline.pg, WAREHOUSE_DB)
    home = tmp_path_factory.mktemp("pg-home")
    # The providers' first window ends today: reach back to the DuckDB run's first day even when
    # midnight (UTC) passed in between.
    days_since = (datetime.now(UTC).date() - demo_pipeline.first_run_on).days
    env = {
        "TOKENLAKE_PROVIDER_HISTORY_DAYS": str(Settings.provider_history_days + days_since),
        "TOKENLAKE_HOME": str(home),
        "TOKENLAKE_WAREHOUSE": "",
        "DAGSTER_HOME": str(home / "dagster"),
        "TOKENLAKE_DESTINATION": "postgres",
        "TOKENLAKE_WAREHOUSE_URL": url,
        "TOKENLAKE_PUBLISH_POSTGRES_URL": "",
    }
    succeeded = demo_pipeline.run(**env)
    return demo_pipeline, url, env, succeeded


def test_tokenlake_run_builds_everything_in_postgres(postgres_build):
    _, url, _, succeeded = postgres_build
    assert succeeded
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select table_schema, count(*) from information_schema.tables "
            "where table_schema in ('raw', 'staging', 'intermediate', 'marts') group by 1"
        )
        schemas = dict(cur.fetchall())
    assert schemas.keys() == {"raw", "staging", "intermediate", "marts"}
    assert schemas["marts"] >= 20


def test_the_warehouse_password_is_in_no_log_or_state_file(postgres_build):
    _, url, env, succeeded = postgres_build
    assert succeeded
    password = url.split(":")[2].split("@")[0].encode()
    home = Path(env["TOKENLAKE_HOME"])
    leaked = [p for p in home.rglob("*") if p.is_file() and password in p.read_bytes()]
    assert not leaked  # Dagster's event log and compute logs, dlt's state, dbt's logs


def test_every_total_equals_the_duckdb_build_to_the_cent(postgres_build):
    demo, url, _, succeeded = postgres_build
    assert succeeded
    with duckdb.connect(str(demo.warehouse), read_only=True) as con, psycopg2.connect(url) as pg:
        con.execute("set TimeZone = 'UTC'")
        cur = pg.cursor()
        cur.execute("set time zone 'UTC'")

        def on_postgres(sql: str) -> list[tuple]:
            cur.execute(sql)
            return cur.fetchall()

        for name, sql in TOTALS.items():
            expected = _rows(lambda q: con.execute(q).fetchall(), sql)
            assert expected and expected[0][0] not in (None, Decimal(0)), f"{name}: no data"
            # Compared as sets of rows: the engines' text collations may order names apart.
            assert sorted(_rows(on_postgres, sql), key=str) == sorted(expected, key=str), name


def test_dbt_tests_and_pricing_unit_tests_pass_on_postgres(postgres_build):
    demo, _, env, succeeded = postgres_build
    assert succeeded
    with demo.environment(**env):
        result = subprocess.run(
            [sys.executable, "-m", "orchestration.cli", "dbt", "test",
             "--target-path", os.path.join(env["TOKENLAKE_HOME"], "dbt-test")],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "unit_test" in result.stdout and " ERROR=0 " in result.stdout
    password = env["TOKENLAKE_WAREHOUSE_URL"].split(":")[2].split("@")[0]
    assert password not in result.stdout + result.stderr
