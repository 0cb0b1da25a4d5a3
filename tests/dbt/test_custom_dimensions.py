"""Custom dimensions (TOKENLAKE_CUSTOM_DIMENSIONS): extra fields promoted to typed columns on
the attempts and every usage rollup, built by real dbt on a real warehouse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestration.dimensions import CustomDimension, parse_custom_dimensions
from orchestration.settings import ConfigError, Settings
from tests.conftest import Warehouse, event, write_jsonl
from tests.support.dbt_cli import dbt

SPEC = (
    "environment=metadata.environment|environment,"
    'region_code=attributes."deployment.region",'
    "seats:integer=metadata.plan.seats,"
    "trial:boolean=metadata.plan.trial"
)

# request -> the fields its event carries beyond the contract, and the dimensions expected.
CASES = {
    "req-0": ({"metadata": {"environment": "prod", "plan": {"seats": 12, "trial": True}}},
              ("prod", None, 12, True)),
    "req-1": ({"environment": "staging"}, ("staging", None, None, None)),  # the other spelling
    "req-2": ({"metadata": {"environment": "dev"}, "environment": "ignored"}, ("dev", None, None, None)),
    "req-3": ({"attributes": {"deployment.region": "eu-1"}, "metadata": {"plan": {"seats": "x"}}},
              (None, "eu-1", None, None)),  # "x" is not an integer: NULL, not a failed build
    "req-4": ({"metadata": {"plan": {"seats": "40", "trial": "false"}}}, (None, None, 40, False)),
    "req-5": ({}, (None, None, None, None)),
}  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Warehouse:
    logs = tmp_path_factory.mktemp("logs")
    records = [event(i, **CASES[f"req-{i}"][0]) for i in range(len(CASES))]
    # Two hours of the same day, so that hourly and daily rollups differ.
    records += [event(i, **CASES[f"req-{i % 6}"][0]) for i in range(6, 30)]
    write_jsonl(logs / "events.jsonl", records)
    warehouse = Warehouse(tmp_path_factory.mktemp("home"))
    warehouse.ingest(logs)
    warehouse.load_price_book(None)
    result = dbt("build", warehouse=warehouse.path, TOKENLAKE_CUSTOM_DIMENSIONS=SPEC)
    assert result.returncode == 0, result.stdout[-4000:]
    return warehouse


def test_attempts_carry_each_dimension_typed(built: Warehouse):
    rows = built.query(
        "select request_id, environment, region_code, seats, trial from marts.fct_llm_attempts"
        " where request_id in ('req-0', 'req-1', 'req-2', 'req-3', 'req-4', 'req-5')"
        " order by request_id"
    )
    assert {r[0]: r[1:] for r in rows} == {k: v[1] for k, v in CASES.items()}
    types = dict(
        built.query(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'marts' and table_name = 'fct_llm_attempts'"
        )
    )
    assert [types[c] for c in ("environment", "region_code", "seats", "trial")] == [
        "VARCHAR", "VARCHAR", "BIGINT", "BOOLEAN"]  # fmt: skip


def test_every_rollup_groups_by_the_dimensions_and_adds_up(built: Warehouse):
    expected = built.query(
        "select environment, seats, count(*), sum(total_cost) from marts.fct_llm_attempts"
        " group by all order by all"
    )
    for rollup in ("agg_usage_hourly", "agg_usage_daily", "agg_usage_daily_by_tenant"):
        got = built.query(
            f"select environment, seats, sum(attempts), sum(total_cost) from marts.{rollup}"
            " group by all order by all"
        )
        assert got == expected, rollup
    # One row per (day, dimension, value) in the long mart, equal to the attempts' sums.
    by_value = built.query(
        "select dimension, dimension_value, sum(attempts), sum(total_cost)"
        " from marts.mart_custom_dimension_daily where dimension = 'trial' group by all order by all"
    )
    trial = built.query(
        "select coalesce(cast(trial as varchar), '(not set)'), count(*), sum(total_cost)"
        " from marts.fct_llm_attempts group by all order by all"
    )
    assert by_value == [("trial", *row) for row in trial]


def test_a_changed_list_reaches_history_and_a_removed_dimension_empties(built: Warehouse):
    spec = "plan_seats:integer=metadata.plan.seats"
    result = dbt("build", warehouse=built.path, TOKENLAKE_CUSTOM_DIMENSIONS=spec)
    assert result.returncode == 0, result.stdout[-4000:]
    # Attempts loaded before the change have the new column: history was read again.
    assert built.query(
        "select request_id, plan_seats from marts.fct_llm_attempts"
        " where request_id in ('req-0', 'req-4') order by 1"
    ) == [("req-0", 12), ("req-4", 40)]
    assert built.query(
        "select sum(attempts) from marts.agg_usage_daily where plan_seats = 12"
    ) == built.query("select count(*) from marts.fct_llm_attempts where plan_seats = 12")
    # A dimension no longer listed is empty everywhere (its column stays until --full-refresh).
    assert built.scalar("select count(environment) from marts.agg_usage_hourly") == 0
    assert built.query("select distinct dimension from marts.mart_custom_dimension_daily") == [
        ("plan_seats",)
    ]
    # Without any, the long mart is empty.
    assert dbt("build", warehouse=built.path, TOKENLAKE_CUSTOM_DIMENSIONS="").returncode == 0
    assert built.scalar("select count(*) from marts.mart_custom_dimension_daily") == 0
    assert dbt("build", warehouse=built.path, TOKENLAKE_CUSTOM_DIMENSIONS=SPEC).returncode == 0


def test_a_bad_list_is_one_clear_error(tmp_path: Path):
    result = dbt("compile", "--select", "stg_usage_logs__events", warehouse=tmp_path / "w.duckdb",
                 TOKENLAKE_CUSTOM_DIMENSIONS="model=metadata.model")  # fmt: skip
    assert result.returncode != 0
    assert "'model' is already a column" in result.stdout
    for spec, message in [
        ("Env=metadata.env", "cannot read 'Env=metadata.env'"),
        ("seats:float=x", "cannot read 'seats:float=x'"),
        ("tenant_id=metadata.tenant", "'tenant_id' is already a column"),
        ("a=x,a=y", "'a' is already a column"),
    ]:
        with pytest.raises(ConfigError, match=message) as caught:
            Settings.from_env({"TOKENLAKE_CUSTOM_DIMENSIONS": spec})
        assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="TOKENLAKE_ANOMALY_DIMENSIONS: plan is not a dimension"):
        Settings.from_env({"TOKENLAKE_ANOMALY_DIMENSIONS": "feature,plan"})


def test_the_list_is_read_the_same_way_in_python():
    assert parse_custom_dimensions(SPEC) == (
        CustomDimension("environment", "text", (("metadata", "environment"), ("environment",))),
        CustomDimension("region_code", "text", (("attributes", "deployment.region"),)),
        CustomDimension("seats", "integer", (("metadata", "plan", "seats"),)),
        CustomDimension("trial", "boolean", (("metadata", "plan", "trial"),)),
    )
    assert parse_custom_dimensions(" experiment ") == (
        CustomDimension("experiment", "text", (("experiment",),)),
    )
    settings = Settings.from_env(
        {
            "TOKENLAKE_CUSTOM_DIMENSIONS": SPEC,
            "TOKENLAKE_ANOMALY_DIMENSIONS": "feature,environment",
            "TOKENLAKE_ANOMALY_MIN_USD_BY_DIMENSION": "environment=3",
        }  # fmt: skip
    )
    assert settings.anomaly_dimensions == ("feature", "environment")
    assert settings.anomaly_min_usd_by_dimension == (("environment", 3.0),)
    assert settings.export_for_tools()["TOKENLAKE_CUSTOM_DIMENSIONS"] == SPEC


def test_python_and_dbt_reserve_the_same_names():
    from orchestration.dimensions import RESERVED
    from orchestration.settings import DBT_PROJECT_DIR

    macro = (DBT_PROJECT_DIR / "macros" / "custom_dimensions.sql").read_text()
    body = macro[macro.index("macro reserved_dimension_names") :].split("])", 1)[0]
    assert set(re.findall(r"'([a-z0-9_]+)'", body)) == RESERVED
