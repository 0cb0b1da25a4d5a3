"""Dashboards as code against the published PostgreSQL: every query of the Grafana dashboard
(template variables and time macros substituted as Grafana does) and every SQL file for
Metabase/Superset runs and returns rows on demo data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest

pytestmark = pytest.mark.slow

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
GRAFANA = DASHBOARDS / "grafana" / "tokenlake.json"
SQL_FILES = sorted((DASHBOARDS / "sql").glob("*.sql"))


def query(url: str, sql: str) -> list[tuple]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def grafana_sql(sql: str, variables: dict[str, str], start: datetime, end: datetime) -> str:
    """Grafana's substitution for the PostgreSQL data source: $__timeFilter, $var, ${var}."""
    sql = re.sub(
        r"\$__timeFilter\(([^)]+)\)",
        lambda m: f"{m[1]} BETWEEN '{start:%Y-%m-%dT%H:%M:%SZ}' AND '{end:%Y-%m-%dT%H:%M:%SZ}'",
        sql,
    )
    for name, value in variables.items():
        sql = sql.replace(f"${{{name}}}", value).replace(f"${name}", value)
    assert "$" not in sql, f"unsubstituted macro or variable in: {sql}"
    return sql


def panels(dashboard: dict) -> list[dict]:
    return [p for p in dashboard["panels"] if p.get("targets")]


def test_dashboard_has_the_panels_users_ask_for():
    dashboard = json.loads(GRAFANA.read_text())
    titles = {p["title"] for p in panels(dashboard)}
    for wanted in ("Total cost", "Total tokens", "Input tokens", "Output tokens", "Daily cost",
                   "Tokens per hour: prompt vs completion", "Top tenants by cost",
                   "Top features by cost", "Top models by cost", "Top agents by cost",
                   "Input vs output tokens", "Cache hit rate", "Cache savings per day",
                   "Month-end forecast (80 % interval)", "Cost by day of week and hour (UTC)",
                   "System vs BYOK", "Rate-limited share by tier", "Most expensive sessions",
                   "Cost by custom dimension"):  # fmt: skip
        assert wanted in titles
    names = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"tenant", "feature", "model", "dimension"} <= names
    for panel in panels(dashboard):
        assert panel["datasource"]["type"] == "grafana-postgresql-datasource"


def test_every_grafana_query_runs_and_returns_rows(demo_pipeline):
    dashboard = json.loads(GRAFANA.read_text())
    url = demo_pipeline.bi_url
    end = datetime.now(UTC) + timedelta(hours=1)
    start = end - timedelta(days=30)
    variables = {}
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            values = [r[0] for r in query(url, var["query"])]
            assert values, var["name"]
            variables[var["name"]] = values
    everything = {name: "'__all'" for name in variables}  # "All" (allValue)
    one_each = {name: f"'{values[0]}'" for name, values in variables.items()}
    for panel in panels(dashboard):
        for target in panel["targets"]:
            rows = query(url, grafana_sql(target["rawSql"], everything, start, end))
            assert rows and any(v is not None for v in rows[0]), panel["title"]
            query(url, grafana_sql(target["rawSql"], one_each, start, end))  # runs with a pick


def test_every_sql_file_runs_and_returns_rows(demo_pipeline):
    assert len(SQL_FILES) >= 7
    url = demo_pipeline.bi_url
    retried = query(
        url,
        "select request_id from tokenlake.mart_request_summary where attempts > 1 "
        "order by total_cost desc limit 1",
    )[0][0]
    for path in SQL_FILES:
        sql = path.read_text().replace("{{request_id}}", f"'{retried}'")
        rows = query(url, sql)
        assert rows, path.name
        if path.name == "request_detail.sql":
            assert len(rows) > 1  # the request and each of its attempts
        if "zero" in path.read_text().lower() or "as 0" in path.read_text():
            assert len(rows) in (7, 72), path.name  # every day / hour present
