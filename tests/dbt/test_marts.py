"""The marts on demo data: the planted incidents show up where a user looks, rollups agree with
the attempts, reconciliation finds the untracked usage, and incremental runs equal full ones.

The warehouse is built as the pipeline builds it: demo logs through the usage-log source, the
providers' reports over HTTP from the demo API, then `dbt build`.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo import generate
from demo.generator import DEMO_CUSTOM_DIMENSIONS
from demo.provider_api import ProviderAPIServer
from ingestion.pipeline import warehouse_pipeline
from ingestion.provider_usage import (
    Window,
    anthropic_client,
    anthropic_usage_source,
    openai_client,
    openai_usage_source,
)
from orchestration.settings import DBT_PROJECT_DIR
from tests.conftest import Warehouse, event, write_jsonl
from tests.support.dbt_cli import dbt

pytestmark = pytest.mark.slow

END = datetime(2026, 11, 20, 18, tzinfo=UTC)


def load_providers(warehouse: Warehouse, ledger: Path) -> None:
    with ProviderAPIServer(
        ledger, "marts-test-openai-key", "marts-test-anthropic-key", now=END
    ) as server:
        window = Window.of_days(END.date() - timedelta(days=95), END.date())
        for name, client, source in (
            ("openai", openai_client, openai_usage_source),
            ("anthropic", anthropic_client, anthropic_usage_source),
        ):
            key = "marts-test-openai-key" if name == "openai" else "marts-test-anthropic-key"
            pipeline = warehouse_pipeline(f"{name}_usage", warehouse.path, warehouse.dlt_dir)
            pipeline.run(source(client(server.base_url, key), window, now=END))


@pytest.fixture(scope="module", autouse=True)
def custom_dimensions():
    """The demo's custom dimensions for every dbt command of this module (as `tokenlake demo`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOKENLAKE_CUSTOM_DIMENSIONS", DEMO_CUSTOM_DIMENSIONS)
        yield


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("demo")
    generate(out, 40_000, seed=7, end=END)
    warehouse = Warehouse(tmp_path_factory.mktemp("home"))
    warehouse.ingest(out / "logs")
    warehouse.load_price_book(None)
    load_providers(warehouse, out / "provider_api" / "ledger.parquet")
    result = dbt("build", warehouse=warehouse.path)
    assert result.returncode == 0, result.stdout[-4000:]
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "out": out,
        "warehouse": warehouse,
        "incidents": {i["kind"]: i for i in manifest["incidents"]},
        "stdout": result.stdout,
    }


def q(warehouse: Warehouse, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).df()


def test_prompt_growth_ranks_first_in_the_why_mart_with_longer_prompts(demo):
    incident = demo["incidents"]["prompt_growth"]
    day = q(demo["warehouse"], f"""
        select scope_value, cost_change, main_cause from marts.mart_cost_change_drivers
        where scope_type = 'feature' and usage_date = '{incident["date"]}'
        order by cost_change desc""")  # fmt: skip
    assert day.scope_value.iloc[0] == incident["value"] == "code_review"
    assert day.main_cause.iloc[0] == "longer_prompts"


def test_the_spiking_tenants_day_stands_out(demo):
    incident = demo["incidents"]["tenant_spike"]
    day = q(demo["warehouse"], f"""
        select scope_value, cost_change, cost_change_pct, main_cause
        from marts.mart_cost_change_drivers
        where scope_type = 'tenant' and usage_date = '{incident["date"]}'
        order by cost_change desc""")  # fmt: skip
    top = day.iloc[0]
    assert top.scope_value == incident["value"]
    assert top.main_cause == "more_requests"
    assert top.cost_change_pct > 2  # about 5x its usual day


def test_the_unpriced_model_is_listed_and_never_costed_at_zero(demo):
    model = demo["incidents"]["unpriced_model"]["value"]
    unpriced = q(demo["warehouse"], "select model from marts.mart_unpriced_models")
    assert list(unpriced.model) == [model]
    rec = q(demo["warehouse"], f"""
        select distinct reconciliation_status from marts.mart_cost_reconciliation
        where model = '{model}'""")  # fmt: skip
    assert set(rec.reconciliation_status) == {"unpriced_model"}


def test_reconciliation_shows_the_untracked_usage(demo):
    """Provider bill - computed cost, per model, equals the ledger's untracked cost."""
    ledger = pd.read_parquet(demo["out"] / "provider_api" / "ledger.parquet")
    untracked = (
        ledger[~ledger.tracked & ledger.report.isin(["completions", "messages", "embeddings"])]
        .groupby("model")
        .cost_total.sum()
        .map(Decimal)
    )
    rec = q(demo["warehouse"], """
        select model, sum(cost_difference) as difference, sum(provider_cost) as billed
        from marts.mart_cost_reconciliation
        where reconciliation_status <> 'unpriced_model' and logged_attempts > 0
        group by model""").set_index("model")  # fmt: skip
    for model, expected in untracked.items():
        assert abs(Decimal(str(rec.difference[model])) - expected) < Decimal("0.01"), model
    # Every other logged model reconciles within the tolerance over the period.
    others = rec.drop(index=list(untracked.index))
    assert (others.difference.abs() <= 0.02 * others.billed).all()
    # Services that never go through the gateway are shown as such.
    absent = q(demo["warehouse"], """
        select distinct model from marts.mart_cost_reconciliation
        where reconciliation_status = 'not_in_logs'""")  # fmt: skip
    assert {"gpt-image-1", "tts-1", "whisper-1"} <= set(absent.model)
    assert "computed_cost_reconciles_with_provider_bill" in demo["stdout"]  # the warning test ran


def test_heatmap_in_a_time_zone_matches_pandas(demo, tmp_path):
    warehouse = demo["warehouse"]
    copy = tmp_path / "tz.duckdb"
    shutil.copyfile(warehouse.path, copy)
    tz = "America/New_York"
    result = dbt("run", "-s", "mart_usage_heatmap", "--vars", f"{{heatmap_timezone: '{tz}'}}",
                 warehouse=copy)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(copy), read_only=True) as con:
        cells = con.execute(
            "select day_of_week, hour_of_day, attempts, time_zone from marts.mart_usage_heatmap"
        ).df()
        events = con.execute("select event_at from marts.fct_llm_attempts").df()
    assert len(cells) == 168 and set(cells.time_zone) == {tz}
    local = pd.to_datetime(events.event_at).dt.tz_localize("UTC").dt.tz_convert(tz)
    expected = (
        pd.DataFrame({"day_of_week": local.dt.dayofweek + 1, "hour_of_day": local.dt.hour})
        .value_counts()
        .rename("expected")
    )
    merged = cells.set_index(["day_of_week", "hour_of_day"]).join(expected).fillna(0)
    assert (merged.attempts == merged.expected).all()


def test_chargeback_matches_the_price_plans(demo):
    w = demo["warehouse"]
    plans = pd.read_csv(Path(__file__).resolve().parents[2] / "seeds" / "tenant_price_plans.csv")
    daily = q(w, """
        select tenant_id, usage_date, key_source, sum(requests) as requests,
               sum(net_cost) as net_cost from marts.agg_usage_daily group by all""")  # fmt: skip
    daily = daily.merge(plans, on="tenant_id", how="left")
    daily = daily[pd.to_datetime(daily.usage_date) >= pd.to_datetime(daily.effective_from)]
    # The plan in force that day: the newest one that had started.
    daily = daily.sort_values("effective_from").drop_duplicates(
        ["tenant_id", "usage_date", "key_source"], keep="last"
    )
    daily["system_cost"] = daily.net_cost.where(daily.key_source == "system", 0).astype(float)
    daily["billed"] = (
        daily.system_cost * (1 + daily.markup_pct) + daily.requests * daily.per_request_fee_usd
    )
    daily["month"] = pd.to_datetime(daily.usage_date).dt.to_period("M").dt.to_timestamp()
    expected = daily.groupby(["tenant_id", "month"]).billed.sum()
    got = q(w, "select tenant_id, usage_month, billed_amount from marts.mart_chargeback_monthly")
    got = got.set_index(["tenant_id", pd.to_datetime(got.usage_month)]).billed_amount.astype(float)
    joined = pd.concat([expected.rename("expected"), got.rename("got")], axis=1).dropna()
    assert len(joined) == len(got)
    assert (joined.expected - joined.got).abs().max() < 1e-6


def test_session_costs_match_pandas_on_the_attempts(demo):
    attempts = q(demo["warehouse"], """select session_id, request_id, attempt, tenant_id, feature,
        model, event_at, input_tokens, output_tokens, total_cost, is_priced
        from marts.fct_llm_attempts where session_id is not null""")  # fmt: skip
    attempts["total_cost"] = attempts.total_cost.astype(float)
    g = attempts.groupby("session_id")
    expected = pd.DataFrame({
        "requests": g.request_id.nunique(), "attempts": g.size(),
        "retries": g.size() - g.request_id.nunique(), "models_used": g.model.nunique(),
        "tenants": g.tenant_id.nunique(), "features": g.feature.nunique(),
        "model_list": g.model.apply(lambda m: ", ".join(sorted(m.dropna().unique()))),
        "input_tokens": g.input_tokens.sum(), "output_tokens": g.output_tokens.sum(),
        "priced_cost": g.total_cost.sum(), "unpriced": g.is_priced.apply(lambda s: (~s).sum()),
        "duration_seconds": (g.event_at.max() - g.event_at.min()).dt.total_seconds().astype(int),
    })  # fmt: skip
    sessions = q(demo["warehouse"], "select * from marts.mart_session_costs").set_index(
        "session_id"
    )
    assert len(sessions) == len(expected) > 1000
    got = sessions.loc[expected.index]
    for column in (
        "requests",
        "attempts",
        "retries",
        "models_used",
        "tenants",
        "features",
        "input_tokens",
        "output_tokens",
    ):
        assert (got[column].astype(int) == expected[column]).all(), column
    assert abs(got.duration_seconds.astype(int) - expected.duration_seconds).max() <= 1
    assert (got.priced_cost.astype(float) - expected.priced_cost).abs().max() < 1e-6
    assert (got.total_cost.isna() == (expected.unpriced > 0)).all()
    # Sorted, distinct, comma-joined: DuckDB builds it from a list (cross_db.sql distinct_list).
    assert (got.model_list == expected.model_list).all()
    assert (got.models_used > 1).any()


def test_rollup_latency_percentiles_match_pandas_on_the_attempts(demo):
    """The rollups rank each attempt's latency in its group (a window, which spills) instead of
    quantile_cont (which cannot): the values are pandas' linear-interpolation quantiles."""
    keys = ["usage_date", "tenant_id", "user_id", "feature", "agent", "action_type", "provider",
            "model", "region", "key_source", "status", "environment", "experiment"]  # fmt: skip
    attempts = q(demo["warehouse"], f"""
        select cast(event_at as date) as usage_date, {", ".join(keys[1:])}, latency_ms
        from marts.fct_llm_attempts""")  # fmt: skip
    attempts[keys[1:]] = attempts[keys[1:]].fillna("<null>")  # NULL is a group of its own
    grouped = attempts.groupby(keys)["latency_ms"]
    expected = pd.DataFrame({"p50": grouped.quantile(0.5), "p95": grouped.quantile(0.95)})
    rolled = q(demo["warehouse"], f"""
        select {", ".join(keys)}, latency_p50_ms as p50, latency_p95_ms as p95
        from marts.agg_usage_daily""")  # fmt: skip
    rolled[keys[1:]] = rolled[keys[1:]].fillna("<null>")
    rolled = rolled.set_index(keys)
    assert len(rolled) == len(expected) > 1000
    both = rolled.join(expected, rsuffix="_pandas", how="inner")
    assert len(both) == len(rolled)
    for p in ("p50", "p95"):
        ours, theirs = both[p].astype(float), both[f"{p}_pandas"].astype(float)
        assert (ours.isna() == theirs.isna()).all()
        close = (ours - theirs).abs() <= 1e-9 * theirs.abs().clip(lower=1)
        assert close[theirs.notna()].all(), both[~close & theirs.notna()].head()
    assert both.p95.notna().sum() > 1000


def test_rollups_built_in_chunks_of_days_equal_one_pass_over_the_attempts(demo, tmp_path):
    """A first build fills each usage rollup a week of attempts at a time (each chunk's groups
    fit in memory): the rows and their values are those of one pass."""
    one_pass = Warehouse(tmp_path / "one_pass")
    one_pass.root.mkdir()
    shutil.copyfile(demo["warehouse"].path, one_pass.path)
    result = dbt("run", "--full-refresh", "--select", "agg_usage_hourly", "agg_usage_daily",
                 "--vars", "{rollup_build_chunk_days: 100000}", warehouse=one_pass.path)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    log = one_pass.path.with_name("dbt-target").joinpath("dbt.log").read_text()
    for table in ("agg_usage_hourly", "agg_usage_daily"):
        assert log.count(f'insert into "warehouse"."marts"."{table}"') == 1  # one chunk
    weeks = q(demo["warehouse"], "select count(distinct date_trunc('week', usage_date)) as n "
              "from marts.agg_usage_daily").n[0]  # fmt: skip
    assert weeks >= 10  # the demo's build took as many chunks
    for table, bucket in (("agg_usage_hourly", "usage_hour"), ("agg_usage_daily", "usage_date")):
        rows = f"select * exclude (priced_at) from marts.{table}"
        chunked, whole = q(demo["warehouse"], rows), q(one_pass, rows)
        assert len(chunked) == len(whole) > 1000
        # Stored chunk after chunk: clustered by week, so recent days skip the older blocks.
        day = pd.to_datetime(chunked[bucket]).dt.normalize()
        assert ((day - day.min()).dt.days // 7).is_monotonic_increasing
        ordered = list(chunked.columns)
        pd.testing.assert_frame_equal(
            chunked.sort_values(ordered, ignore_index=True, na_position="first"),
            whole.sort_values(ordered, ignore_index=True, na_position="first"),
        )


def test_sessions_built_in_chunks_of_sessions_equal_one_pass(demo, tmp_path):
    """mart_session_costs' first build sums the sessions in chunks by a hash of session_id (at
    most 16): every session lies in one chunk, so the rows equal one pass's (the demo's build,
    one chunk at its size)."""
    chunked = Warehouse(tmp_path / "chunked")
    chunked.root.mkdir()
    shutil.copyfile(demo["warehouse"].path, chunked.path)
    attempts = q(demo["warehouse"], "select count(*) as n from marts.fct_llm_attempts "
                 "where session_id is not null").n[0]  # fmt: skip
    per_chunk = attempts // 5 + 1  # five chunks
    result = dbt("run", "--full-refresh", "--select", "mart_session_costs",
                 "--vars", f"{{session_build_chunk_attempts: {per_chunk}}}", warehouse=chunked.path)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    log = chunked.path.with_name("dbt-target").joinpath("dbt.log").read_text()
    assert log.count('insert into "warehouse"."marts"."mart_session_costs"') == 5
    rows = "select * exclude (priced_at) from marts.mart_session_costs"
    ours, whole = q(chunked, rows), q(demo["warehouse"], rows)
    assert len(ours) == len(whole) > 100
    assert ours.session_id.is_unique
    pd.testing.assert_frame_equal(
        ours.sort_values("session_id", ignore_index=True),
        whole.sort_values("session_id", ignore_index=True),
    )


def test_custom_dimensions_match_pandas_on_the_raw_events(demo):
    """environment and experiment, read by pandas from each raw event's extra fields (the
    gateway's metadata, the app's top-level field), equal the attempts' columns; the long mart
    sums the attempts per day and value."""
    raw = q(demo["warehouse"], "select request_id, attempt, extra_fields from raw.usage_events")
    extras = raw.extra_fields.map(lambda e: json.loads(e) if isinstance(e, str) else {})
    metadata = extras.map(lambda e: e.get("metadata") or {})
    raw["environment"] = [m.get("environment") or e.get("environment")
                          for m, e in zip(metadata, extras, strict=True)]  # fmt: skip
    raw["experiment"] = metadata.map(lambda m: m.get("experiment"))
    attempts = q(demo["warehouse"], """select request_id, attempt, event_at, environment,
        experiment, total_cost from marts.fct_llm_attempts""")  # fmt: skip
    both = attempts.merge(raw, on=["request_id", "attempt"], suffixes=("", "_raw"))
    assert len(both) == len(attempts) == len(raw)
    for column in ("environment", "experiment"):
        assert (both[column].fillna("-") == both[f"{column}_raw"].fillna("-")).all(), column
    assert set(both.environment.dropna()) == {"production", "staging"}
    assert set(both.experiment.dropna()) == {"control", "prompt-v2"}
    expected = pd.concat(
        attempts.assign(usage_date=attempts.event_at.dt.date, dimension=d,
                        dimension_value=attempts[d].fillna("(not set)"),
                        total_cost=attempts.total_cost.astype(float).fillna(0))
        .groupby(["usage_date", "dimension", "dimension_value"])
        .agg(attempts=("request_id", "size"), total_cost=("total_cost", "sum"))
        for d in ("environment", "experiment")
    )  # fmt: skip
    mart = q(demo["warehouse"], "select * from marts.mart_custom_dimension_daily")
    mart["usage_date"] = mart.usage_date.dt.date
    got = mart.set_index(["usage_date", "dimension", "dimension_value"]).loc[expected.index]
    assert len(mart) == len(expected)
    assert (got.attempts.astype(int) == expected.attempts).all()
    assert (got.total_cost.astype(float) - expected.total_cost).abs().max() < 1e-6


def test_every_mart_column_is_described(demo):
    """The marts' yml files describe every column a mart really has, and none it lacks."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    marts = {
        n["alias"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "marts"
    }
    built = q(demo["warehouse"], """select table_name, column_name from information_schema.columns
        where table_schema = 'marts' order by table_name, ordinal_position""")  # fmt: skip
    assert set(built.table_name) == set(marts)
    for table, columns in built.groupby("table_name").column_name:
        described = {c.lower(): v["description"] for c, v in marts[table]["columns"].items()}
        # Custom dimensions are the user's columns, documented where they are configured.
        described |= {"environment": "custom", "experiment": "custom"}
        assert [c for c in columns if not described.get(c.lower())] == [], table
        custom = {"environment", "experiment"}
        assert sorted(set(described) - custom - {c.lower() for c in columns}) == [], table


def test_llm_usage_events_has_the_published_names(demo):
    cols = q(demo["warehouse"], "select * from marts.llm_usage_events limit 1").columns
    names = ["timestamp", "tenant_id", "user_id", "feature", "request_id", "attempt", "prompt_tokens", "completion_tokens", "total_tokens", "computed_cost", "latency_ms", "retry_count", "model", "provider", "region", "cache_hit", "status", "prompt_template_id"]  # fmt: skip
    assert list(cols[: len(names)]) == names
    check = q(demo["warehouse"], """
        select count(*) filter (where total_tokens <> prompt_tokens + completion_tokens) as bad_total,
               count(*) filter (where cache_hit not in (0, 1)) as bad_hit,
               sum(computed_cost) as ours, (select sum(total_cost) from marts.fct_llm_attempts) as fact
        from marts.llm_usage_events""")  # fmt: skip
    assert check.bad_total[0] == 0 and check.bad_hit[0] == 0
    assert check.ours[0] == check.fact[0]


def loaded_attempt(warehouse: Warehouse, condition: str, params: list) -> dict:
    """The contract fields of the first loaded attempt (by time) that meets `condition`."""
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        row = con.execute(
            f"""select * exclude (extra_fields, _source_file, _source_line, _source_record,
                                  _source_modified_at, _dlt_load_id)
            from raw.usage_events where {condition} order by "timestamp", request_id limit 1""",
            params,
        ).df()
    record = json.loads(row.to_json(orient="records", date_format="iso"))[0]
    record["timestamp"] = row["timestamp"][0]
    return {k: v for k, v in record.items() if v is not None}


def moved_attempt(warehouse: Warehouse, around: datetime, shift: timedelta) -> dict:
    """A loaded attempt near `around`, its timestamp moved by `shift`."""
    record = loaded_attempt(warehouse, '"timestamp" >= ?', [around])
    return record | {"timestamp": (record["timestamp"] + shift).isoformat()}


def retry_of_attempt(warehouse: Warehouse, around: datetime) -> dict:
    """A second attempt, a minute later, of a request near `around` that had one attempt."""
    record = loaded_attempt(
        warehouse,
        """"timestamp" >= ? and attempt = 1
        and request_id not in (select request_id from raw.usage_events where attempt > 1)""",
        [around],
    )
    later = (record["timestamp"] + timedelta(minutes=1)).isoformat()
    return record | {"timestamp": later, "attempt": 2, "retry_count": 1}


def test_incremental_runs_equal_a_full_rebuild_and_reprice_history(demo, tmp_path):
    warehouse = Warehouse(tmp_path / "inc")
    warehouse.root.mkdir()
    shutil.copyfile(demo["warehouse"].path, warehouse.path)
    shutil.copytree(demo["warehouse"].dlt_dir, warehouse.dlt_dir)
    # One more hour of events, one of them a late event for three days ago.
    late = (END - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # A model the price correction below does not touch: these must arrive on their own.
    records = [event(i, timestamp=f"{END.date()}T18:{i:02d}:00Z", tenant_id="acme",
                     model="gpt-4.1-2025-04-14") for i in range(40)]  # fmt: skip
    records.append(event(99, timestamp=late, tenant_id="acme", model="gpt-4.1-2025-04-14"))
    # A retry of a request of two days ago: its summary must count the attempt it already had.
    retry = retry_of_attempt(warehouse, END - timedelta(days=2))
    write_jsonl(tmp_path / "new" / "events.jsonl", [*records, retry])
    warehouse.ingest(tmp_path / "new")
    # A corrected price for gpt-4o-mini, effective before any event: history is re-priced.
    book = tmp_path / "my_prices.csv"
    header = (
        (Path(__file__).resolve().parents[2] / "seeds" / "price_book.csv")
        .read_text()
        .splitlines()[0]
    )
    book.write_text(
        header
        + "\nopenai,gpt-4o-mini(-\\d{4}-\\d{2}-\\d{2})?,,2024-07-18,USD,0.30,1.20,0.15,,,,,,0.5,,correction\n"
    )
    warehouse.load_price_book(book)
    assert dbt("build", warehouse=warehouse.path).returncode == 0
    new = q(
        warehouse, "select count(*) as n from marts.fct_llm_attempts where request_id like 'req-%'"
    )
    assert new.n[0] == 41  # the new hour and the late event were priced incrementally
    retried = q(warehouse, f"""select attempts, retries from marts.fct_llm_requests
        where request_id = '{retry["request_id"]}'""")  # fmt: skip
    assert (retried.attempts[0], retried.retries[0]) == (2, 1)

    full = Warehouse(tmp_path / "full")
    full.root.mkdir()
    shutil.copyfile(warehouse.path, full.path)
    result = dbt("build", "--full-refresh", warehouse=full.path)
    assert result.returncode == 0, result.stdout[-3000:]
    for table, key in (("agg_usage_hourly", "usage_hour"), ("agg_usage_daily", "usage_date"),
                       ("agg_usage_daily_by_tenant", "usage_date")):  # fmt: skip
        sql = f"select {key}, sum(attempts) as a, sum(total_cost) as c, sum(net_cost) as n from marts.{table} group by 1 order by 1"
        pd.testing.assert_frame_equal(q(warehouse, sql), q(full, sql))
    # Every request's summary, column by column (when it was priced aside).
    requests = "select * exclude (priced_at) from marts.fct_llm_requests order by request_id"
    pd.testing.assert_frame_equal(q(warehouse, requests), q(full, requests))
    # Every session's summary too (the retry's session re-summarised with its earlier attempts).
    sessions = "select * exclude (priced_at) from marts.mart_session_costs order by session_id"
    pd.testing.assert_frame_equal(q(warehouse, sessions), q(full, sessions))
    rate_limits = """select usage_date, tier, tenant_id, sum(attempts) as a, sum(rate_limited) as r,
        sum(succeeded) as s from marts.mart_rate_limits group by all order by all"""
    pd.testing.assert_frame_equal(q(warehouse, rate_limits), q(full, rate_limits))
    # The new hour reached it incrementally (the new events are the only ones without a user).
    new_in_rate_limits = q(
        warehouse,
        f"""select sum(attempts) as n from marts.mart_rate_limits
        where user_id is null and usage_date = date '{END.date()}'""",
    )
    assert new_in_rate_limits.n[0] == 40
    # The corrected price doubled gpt-4o-mini's list prices: its rollup cost doubled with them.
    before = q(
        demo["warehouse"],
        "select sum(total_cost) as c from marts.agg_usage_daily where model like 'gpt-4o-mini%'",
    ).c[0]
    # (the new events have no user_id; the demo's all have one)
    after = q(warehouse, """select sum(total_cost) as c from marts.agg_usage_daily
        where model like 'gpt-4o-mini%' and user_id is not null""").c[0]  # fmt: skip
    assert abs(after - 2 * before) < Decimal("0.000001")

    # A tenant moves to another tier (its plan row changed in place): every day of the
    # incremental rate-limit mart is rebuilt with the new tier, as a full rebuild has it.
    with duckdb.connect(str(warehouse.path)) as con:
        tenant, tier = con.execute(
            "select tenant_id, tier from seeds.tenant_price_plans order by tenant_id limit 1"
        ).fetchone()
        other = "enterprise" if tier != "enterprise" else "free"
        con.execute(
            "update seeds.tenant_price_plans set tier = ? where tenant_id = ?", [other, tenant]
        )
    # An attempt of yesterday late evening re-delivered with its timestamp corrected by two
    # hours, into the next day: it leaves an hour and a day that no new or re-priced row points
    # to, found only by the look-back's count check.
    moved = moved_attempt(warehouse, END.replace(hour=22) - timedelta(days=1), timedelta(hours=2))
    # And today's new hour re-delivered an hour later (a shipper's clock fixed): its old hour is
    # left without attempts, so its rollup rows must go.
    shifted = [{**r, "timestamp": r["timestamp"].replace("T18:", "T19:")} for r in records[:40]]
    write_jsonl(tmp_path / "moved" / "events.jsonl", [moved, *shifted])
    warehouse.ingest(tmp_path / "moved")
    assert dbt("run", warehouse=warehouse.path).returncode == 0  # no seed: keeps the change
    tiers = q(
        warehouse, f"select distinct tier from marts.mart_rate_limits where tenant_id = '{tenant}'"
    )
    assert list(tiers.tier) == [other]
    assert_rollups_count_the_attempts(warehouse, since=END.date() - timedelta(days=4))

    # Two attempts stamped two days ahead (a shipper's clock), then re-delivered at their true
    # time: their whole day is left without attempts, and every rollup drops it.
    ahead = [event(200 + i, timestamp=f"{(END + timedelta(days=2)).date()}T08:0{i}:00Z")
             for i in range(2)]  # fmt: skip
    write_jsonl(tmp_path / "ahead" / "events.jsonl", ahead)
    warehouse.ingest(tmp_path / "ahead")
    assert (
        dbt("run", "--select", "+agg_usage_daily_by_tenant", warehouse=warehouse.path).returncode
        == 0
    )
    back = [{**r, "timestamp": r["timestamp"].replace(str((END + timedelta(days=2)).date()),
                                                      str(END.date()))} for r in ahead]  # fmt: skip
    write_jsonl(tmp_path / "back" / "events.jsonl", back)
    warehouse.ingest(tmp_path / "back")
    assert (
        dbt("run", "--select", "+agg_usage_daily_by_tenant", warehouse=warehouse.path).returncode
        == 0
    )
    for table in ("agg_usage_daily", "agg_usage_daily_by_tenant"):
        newest = q(warehouse, f"select cast(max(usage_date) as varchar) as d from marts.{table}")
        assert newest.d[0] == str(END.date())
    assert_rollups_count_the_attempts(warehouse, since=END.date() - timedelta(days=4), hourly=False)


def assert_rollups_count_the_attempts(
    warehouse: Warehouse, since: date, hourly: bool = True
) -> None:
    """Each rollup's attempts per bucket since `since` are the attempts counted in that bucket."""
    rollups = [
        ("agg_usage_daily", "usage_date", "day"),
        ("agg_usage_daily_by_tenant", "usage_date", "day"),
    ]
    if hourly:
        rollups.append(("agg_usage_hourly", "usage_hour", "hour"))
        rollups.append(("mart_token_trend_hourly", "usage_hour", "hour"))
    for table, bucket, grain in rollups:
        rolled_up = f"""select {bucket} as bucket, sum(attempts) as a from marts.{table}
            where {bucket} >= date '{since}' group by 1 order by 1"""
        counted = f"""select cast(date_trunc('{grain}', event_at) as {"timestamp" if grain == "hour" else "date"}) as bucket,
            count(*) as a from marts.fct_llm_attempts
            where event_at >= date '{since}' group by 1 order by 1"""
        pd.testing.assert_frame_equal(
            q(warehouse, rolled_up), q(warehouse, counted), check_dtype=False
        )


def test_rollup_rows_are_unique_finds_each_duplicated_row(demo, tmp_path):
    """The uniqueness test of the rollups (rows pre-grouped by a hash, then compared column by
    column) reports a repeated row of each rollup, one whose dimensions are NULL included."""
    broken = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo["warehouse"].path, broken)
    with duckdb.connect(str(broken)) as con:
        for rollup, condition in (("agg_usage_hourly", "agent is null"),
                                  ("agg_usage_daily", "agent is not null"),
                                  ("agg_usage_daily_by_tenant", "agent is null")):  # fmt: skip
            con.execute(
                f"insert into marts.{rollup} select * from marts.{rollup} "
                f"where rowid = (select min(rowid) from marts.{rollup} where {condition})"
            )
    test = "rollup_rows_are_unique"
    result = dbt("test", "--select", test, "--store-failures", warehouse=broken)
    assert result.returncode != 0 and f"Failure in test {test}" in result.stdout
    with duckdb.connect(str(broken), read_only=True) as con:
        (schema,) = con.execute(
            "select table_schema from information_schema.tables where table_name = ?", [test]
        ).fetchone()
        failing = con.execute(f'select rollup, n from "{schema}"."{test}" order by 1').fetchall()
    assert failing == [
        ("agg_usage_daily", 2),
        ("agg_usage_daily_by_tenant", 2),
        ("agg_usage_hourly", 2),
    ]
    assert dbt("test", "--select", test, warehouse=demo["warehouse"].path).returncode == 0


def test_column_checks_fail_and_name_every_failing_column(demo, tmp_path):
    """One test per model checks all its not-null and non-negative columns (one dbt node), and a
    failure names each failing (column, check) with its count of bad rows."""
    broken = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo["warehouse"].path, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute(
            "update marts.agg_usage_daily set input_tokens = -1 "
            "where rowid in (select rowid from marts.agg_usage_daily limit 3)"
        )
        con.execute(
            "update marts.agg_usage_daily set usage_date = null "
            "where rowid in (select rowid from marts.agg_usage_daily order by rowid desc limit 2)"
        )
    test = "agg_usage_daily_column_checks"
    result = dbt("test", "--select", test, "--store-failures", warehouse=broken)
    assert result.returncode != 0
    assert f"Failure in test {test}" in result.stdout and "Got 2 results" in result.stdout
    with duckdb.connect(str(broken), read_only=True) as con:
        (schema,) = con.execute(
            "select table_schema from information_schema.tables where table_name = ?", [test]
        ).fetchone()
        failing = con.execute(
            f'select column_name, check_name, failing_rows from "{schema}"."{test}" order by 1'
        ).fetchall()
    assert failing == [("input_tokens", "non_negative", 3), ("usage_date", "not_null", 2)]

    # The untouched demo warehouse passes the same test.
    assert dbt("test", "--select", test, warehouse=demo["warehouse"].path).returncode == 0


SCOPED = {"TOKENLAKE_DBT_TEST_SCOPE": "changed"}


def test_scheduled_runs_test_the_new_loads_and_catch_a_repeated_key(demo, tmp_path):
    """With TOKENLAKE_DBT_TEST_SCOPE=changed (Dagster's runs) the usage-log staging tests check
    the loads not priced yet: a bad new row fails, and so does a new row repeating an old key."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo["warehouse"].path, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        # A new load written past dlt (so nothing checked it on the way in): a repeat of an
        # existing attempt's key, and an attempt with a key source outside the contract.
        later = "'9999999999.000001'"
        con.execute(f"""insert into raw.usage_events by name
            select * replace ({later} as _dlt_load_id) from raw.usage_events
            where rowid = (select min(rowid) from raw.usage_events)""")
        con.execute(f"""insert into raw.usage_events by name
            select * replace ({later} as _dlt_load_id, request_id || '-bad' as request_id,
                              'shared' as key_source)
            from raw.usage_events where rowid = (select max(rowid) from raw.usage_events)""")
    result = dbt("build", warehouse=warehouse, **SCOPED)
    assert result.returncode != 0
    results = json.loads((tmp_path / "dbt-target" / "run_results.json").read_text())["results"]
    failed = {r["unique_id"].split(".")[2] for r in results if r["status"] == "fail"}
    assert failed == {
        "unique_combination_stg_usage_logs__events_request_id__attempt",
        "accepted_values_stg_usage_logs__events_key_source__system__byok",
    }


def test_scheduled_runs_test_keys_written_by_delete_insert_among_their_own_rows(demo, tmp_path):
    """The priced attempts and the requests are written by delete+insert on their keys (a run's
    rows replace every stored row with the same key), so the scheduled runs' uniqueness tests of
    fct_llm_attempts, fct_llm_requests and mart_request_summary check the run's own rows: a key
    twice among them fails. A repeat of an older row, which those writes cannot leave, is left to
    the day's first run, which tests every row."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo["warehouse"].path, warehouse)
    tests = [
        "unique_combination_fct_llm_attempts_request_id__attempt",
        "unique_fct_llm_requests_request_id",
        "unique_mart_request_summary_request_id",
    ]
    stamped = "timestamp '2100-01-01'"  # after the scoped test's start: one of its rows
    with duckdb.connect(str(warehouse)) as con:
        for table in ("intermediate.int_attempts_priced", "marts.fct_llm_requests"):
            con.execute(f"""insert into {table} by name
                select * replace ({stamped} as priced_at) from {table}
                where rowid = (select min(rowid) from {table})""")

    def failing(**scope: str) -> set[str]:
        dbt("test", "--select", *tests, warehouse=warehouse, **scope)
        results = json.loads((tmp_path / "dbt-target" / "run_results.json").read_text())
        return {r["unique_id"].split(".")[2] for r in results["results"] if r["status"] == "fail"}

    # Each copy repeats an older row: out of the scheduled scope, found by a full test.
    assert failing(**SCOPED) == set()
    assert failing() == set(tests)
    with duckdb.connect(str(warehouse)) as con:  # a second copy: a repeat among the run's rows
        for table in ("intermediate.int_attempts_priced", "marts.fct_llm_requests"):
            con.execute(f"""insert into {table} by name
                select * from {table} where priced_at = {stamped}""")
    assert failing(**SCOPED) == set(tests)


def test_scheduled_runs_test_the_rows_they_wrote_and_a_full_test_all_rows(demo, tmp_path):
    """A scoped run checks the rows it wrote (priced_at from this run on), not an old row it did
    not touch; a plain `dbt test` checks every row and finds that one."""
    warehouse = Warehouse(tmp_path / "scoped")
    warehouse.root.mkdir()
    shutil.copyfile(demo["warehouse"].path, warehouse.path)
    shutil.copytree(demo["warehouse"].dlt_dir, warehouse.dlt_dir)
    test = "agg_usage_daily_column_checks"
    with duckdb.connect(str(warehouse.path)) as con:
        # An old rollup row broken behind dbt's back (a day long outside the look-back).
        con.execute(
            "update marts.agg_usage_daily set input_tokens = -1 where rowid = "
            "(select min(rowid) from marts.agg_usage_daily where usage_date = "
            "(select min(usage_date) from marts.agg_usage_daily))"
        )
    records = [event(i, timestamp=f"{END.date()}T18:{i:02d}:00Z") for i in range(20)]
    write_jsonl(tmp_path / "new" / "events.jsonl", records)
    warehouse.ingest(tmp_path / "new")
    result = dbt("build", warehouse=warehouse.path, **SCOPED)
    assert result.returncode == 0, result.stdout[-3000:]  # the old row is not this run's
    assert warehouse.scalar(
        "select count(*) from marts.fct_llm_attempts where priced_at = "
        "(select max(priced_at) from marts.fct_llm_attempts) and request_id like 'req-%'"
    ) == 20  # fmt: skip
    full = dbt("test", "--select", test, warehouse=warehouse.path)
    assert full.returncode != 0 and f"Failure in test {test}" in full.stdout

    # The same broken row, stamped as if the run had just written it, is in scope.
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute(
            "update marts.agg_usage_daily set priced_at = timestamp '2100-01-01' "
            "where input_tokens < 0"
        )
    scoped = dbt("test", "--select", test, warehouse=warehouse.path, **SCOPED)
    assert scoped.returncode != 0 and f"Failure in test {test}" in scoped.stdout


def test_daily_marts_built_empty_fill_once_usage_arrives(demo, tmp_path):
    """A first run before any usage arrived leaves the day-grain marts empty; the next plain
    `dbt build` fills every day (an empty mart has no newest day to start after)."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo["warehouse"].path, warehouse)
    marts = ("mart_cache_savings", "mart_key_source_split", "mart_action_type_breakdown",
             "mart_rate_limits")  # fmt: skip
    with duckdb.connect(str(warehouse)) as con:
        expected = {m: con.execute(f"select count(*) from marts.{m}").fetchone()[0] for m in marts}
        for mart in marts:
            con.execute(f"delete from marts.{mart}")
    result = dbt("build", "--select", *marts, warehouse=warehouse)
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        filled = {m: con.execute(f"select count(*) from marts.{m}").fetchone()[0] for m in marts}
    assert filled == expected and all(expected.values())
