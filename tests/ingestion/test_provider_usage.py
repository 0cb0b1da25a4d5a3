"""Provider usage/cost sources over real HTTP against a local server in the documented formats.

The server (`demo.provider_api`) serves a small hand-written ledger; every figure
checked here is computed from that ledger independently of the source under test.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dlt
import pyarrow.parquet as pq
import pytest

from demo.provider_api import ProviderAPIServer
from demo.provider_ledger import ledger_table
from ingestion.pipeline import warehouse_pipeline
from ingestion.provider_usage import (
    RetryPolicy,
    Window,
    anthropic_client,
    anthropic_usage_source,
    cursor_of,
    openai_client,
    openai_usage_source,
    sync_window,
)
from ingestion.provider_usage.reports import STATE_CURSOR

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
FIRST_DAY = date(2026, 1, 20)  # 50 days up to NOW: two pages of 31 daily buckets
LAST_DAY = NOW.date()
OPENAI_KEY = "test-openai-admin-7f3a9c"
ANTHROPIC_KEY = "test-anthropic-admin-51d0e2"
FAST = RetryPolicy(attempts=4, backoff_seconds=0.01, max_delay_seconds=2)


def fixture_rows(first_day: date = FIRST_DAY, last_day: date = LAST_DAY) -> list[dict]:
    """Usage on some days only (the others are empty buckets), two providers, several reports."""
    rows = []
    for n in range((last_day - first_day).days + 1):
        day = first_day + timedelta(days=n)
        hour = datetime(day.year, day.month, day.day, 9)
        if n % 3 == 0:
            rows.append(dict(hour=hour, provider="openai", report="completions",
                             model="gpt-4o-2024-08-06", project_id="proj_a", api_key_id="key_1",
                             user_id="user_1", service_tier="default", requests=10 + n,
                             input_tokens=1000 * (n + 1), cache_read_tokens=100 * n,
                             output_tokens=50 * (n + 1), cost_input="0.25", cost_output="0.05",
                             cost_cache_read="0.01"))  # fmt: skip
        if n % 4 == 1:
            rows.append(dict(hour=hour, provider="openai", report="completions",
                             model="gpt-4.1-mini-2025-04-14", project_id="proj_b",
                             api_key_id="key_2", user_id="user_2", service_tier="default",
                             batch=n % 8 == 1, requests=3, input_tokens=700, output_tokens=70,
                             cost_input="0.0012", cost_output="0.0004"))  # fmt: skip
        if n % 5 == 2:
            rows.append(dict(hour=hour, provider="openai", report="embeddings",
                             model="text-embedding-3-small", project_id="proj_a",
                             api_key_id="key_1", user_id="user_1", requests=4,
                             input_tokens=5000, cost_input="0.0001"))  # fmt: skip
        if n % 2 == 0:
            rows.append(dict(hour=hour, provider="anthropic", report="messages",
                             model="claude-sonnet-4-5-20250929", workspace_id="wrkspc_x",
                             api_key_id="apikey_1", service_tier="standard",
                             context_window="0-200k", requests=5, input_tokens=4000 + n,
                             cache_read_tokens=1000, cache_write_5m_tokens=300,
                             cache_write_1h_tokens=200, output_tokens=400,
                             cost_input="0.00756", cost_cache_read="0.0003",
                             cost_cache_write_5m="0.001125", cost_cache_write_1h="0.0012",
                             cost_output="0.006"))  # fmt: skip
        if n == 7:
            rows.append(dict(hour=hour, provider="openai", report="images", model="gpt-image-1",
                             project_id="proj_a", api_key_id="key_1", user_id="user_1",
                             size="1024x1024", image_source="image.generation", requests=2,
                             images=2, line_item="gpt-image-1, images", cost_other="0.084"))  # fmt: skip
    return rows


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.parquet"
    pq.write_table(ledger_table(fixture_rows()), path)
    return path


@pytest.fixture
def server(ledger: Path):
    with ProviderAPIServer(ledger, OPENAI_KEY, ANTHROPIC_KEY, now=NOW) as srv:
        yield srv


def totals(rows: list[dict], report: str, field: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["report"] == report:
            out[r["model"]] += r.get(field) or 0
    return dict(out)


class Sync:
    """A warehouse plus the two provider pipelines that load into it."""

    def __init__(self, root: Path, server: ProviderAPIServer) -> None:
        self.root, self.server = root, server
        self.path = root / "warehouse.duckdb"

    def pipeline(self, provider: str) -> dlt.Pipeline:
        return warehouse_pipeline(f"{provider}_usage", self.path, self.root / "dlt")

    def openai(self, window: Window, key: str = OPENAI_KEY, retry: RetryPolicy = FAST, **kw):
        client = openai_client(self.server.base_url, key, retry=retry, **kw)
        return self.pipeline("openai").run(openai_usage_source(client, window, now=NOW))

    def anthropic(self, window: Window, key: str = ANTHROPIC_KEY, retry: RetryPolicy = FAST):
        client = anthropic_client(self.server.base_url, key, retry=retry)
        return self.pipeline("anthropic").run(anthropic_usage_source(client, window, now=NOW))

    def query(self, sql: str) -> list[tuple]:
        import duckdb

        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql).fetchall()

    def by_model(self, table: str, expr: str) -> dict[str, int]:
        return {
            m: int(v)
            for m, v in self.query(f"select model, sum({expr}) from raw.{table} group by 1")
        }


@pytest.fixture
def sync(tmp_path: Path, server: ProviderAPIServer) -> Sync:
    return Sync(tmp_path / "home", server)


WHOLE = Window.of_days(FIRST_DAY, NOW.date())


def test_multi_page_results_load_every_bucket_and_match_the_fixture(sync: Sync, server):
    sync.openai(WHOLE)
    sync.anthropic(WHOLE)
    rows = fixture_rows()
    completions = [r for r in server.requests_seen if r["path"].endswith("/completions")]
    assert len(completions) == 2  # 50 daily buckets, 31 per page
    assert completions[1]["query"]["page"]  # the second request followed next_page
    assert sync.by_model("openai_usage_completions", "input_tokens") == totals(
        rows, "completions", "input_tokens"
    )
    assert sync.by_model("openai_usage_completions", "input_cached_tokens") == totals(
        rows, "completions", "cache_read_tokens"
    )
    assert sync.by_model("openai_usage_completions", "num_model_requests") == totals(
        rows, "completions", "requests"
    )
    assert sync.by_model("openai_usage_embeddings", "input_tokens") == totals(
        rows, "embeddings", "input_tokens"
    )
    assert sync.by_model("openai_usage_images", "images") == totals(rows, "images", "images")
    # Anthropic reports uncached input apart from cache reads and writes.
    uncached = {m: t - c for m, t, c in [(
        "claude-sonnet-4-5-20250929",
        sum(r["input_tokens"] for r in rows if r["report"] == "messages"),
        sum(r["cache_read_tokens"] + r["cache_write_5m_tokens"] + r["cache_write_1h_tokens"]
            for r in rows if r["report"] == "messages"),
    )]}  # fmt: skip
    assert sync.by_model("anthropic_usage_messages", "uncached_input_tokens") == uncached
    assert sync.by_model(
        "anthropic_usage_messages", "cache_creation__ephemeral_1h_input_tokens"
    ) == totals(rows, "messages", "cache_write_1h_tokens")
    # Every request carried the documented headers and parameters.
    anthropic = [r for r in server.requests_seen if "organizations" in r["path"]]
    assert all(r["authorized"] for r in server.requests_seen)
    assert {r["anthropic_version"] for r in anthropic} == {"2023-06-01"}
    assert set(anthropic[0]["query"]["group_by[]"]) >= {"model", "workspace_id"}
    assert completions[0]["query"]["start_time"] == [str(int(WHOLE.start.timestamp()))]


def test_costs_are_decimal_and_equal_the_fixture(sync: Sync):
    sync.openai(WHOLE)
    sync.anthropic(WHOLE)
    rows = fixture_rows()
    from decimal import Decimal

    def billed(provider: str) -> Decimal:
        return sum(
            (Decimal(str(r.get(k) or 0)) for r in rows if r["provider"] == provider
             for k in ("cost_input", "cost_cache_read", "cost_cache_write_5m",
                       "cost_cache_write_1h", "cost_output", "cost_other")),
            Decimal(0),
        )  # fmt: skip

    openai_total = sync.query("select sum(amount__value) from raw.openai_costs")[0][0]
    assert isinstance(openai_total, Decimal)  # parsed as Decimal, stored as DECIMAL
    assert openai_total == billed("openai")
    cents = sync.query("select sum(cast(amount as decimal(38, 9))) from raw.anthropic_cost_report")
    assert cents[0][0] / 100 == billed("anthropic")


def test_empty_buckets_load_nothing_but_count_as_read(sync: Sync):
    sync.openai(WHOLE)
    state = sync.pipeline("openai").state["sources"]["openai_usage"]["resources"]
    completions = state["openai_usage_completions"]
    assert completions["last_buckets_read"] == 50  # every day was answered, data or not
    days_with_data = {r["hour"].date() for r in fixture_rows() if r["report"] == "completions"}
    loaded = sync.query(
        "select count(distinct cast(bucket_start_at as date)) from raw.openai_usage_completions"
    )
    assert loaded[0][0] == len(days_with_data) < 50
    # A window with no usage at all still succeeds.
    sync.openai(Window.of_days(date(2025, 6, 1), date(2025, 6, 3)))


def test_overlapping_rerun_replaces_never_duplicates(sync: Sync):
    sync.openai(Window.of_days(FIRST_DAY, FIRST_DAY + timedelta(days=29)))
    sync.openai(Window.of_days(FIRST_DAY + timedelta(days=20), NOW.date()))
    sync.openai(WHOLE)
    rows = fixture_rows()
    assert sync.by_model("openai_usage_completions", "input_tokens") == totals(
        rows, "completions", "input_tokens"
    )
    keys = sync.query("select count(*), count(distinct _row_key) from raw.openai_usage_completions")
    assert keys[0][0] == keys[0][1] == len([r for r in rows if r["report"] == "completions"])


def test_restated_bucket_replaces_the_stored_figures(tmp_path: Path, sync: Sync, server):
    sync.anthropic(WHOLE)
    rows = fixture_rows()
    target = FIRST_DAY + timedelta(days=4)
    for r in rows:
        if r["report"] == "messages" and r["hour"].date() == target:
            r["output_tokens"] = 9_999  # the provider restates the day
    restated = tmp_path / "restated.parquet"
    pq.write_table(ledger_table(rows), restated)
    with ProviderAPIServer(restated, OPENAI_KEY, ANTHROPIC_KEY, now=NOW) as second:
        sync.server = second
        sync.anthropic(Window.of_days(target - timedelta(days=2), NOW.date()))
    assert sync.by_model("anthropic_usage_messages", "output_tokens") == totals(
        rows, "messages", "output_tokens"
    )


def test_429_with_retry_after_is_honoured_then_succeeds(sync: Sync, server):
    server.fail_next("/usage/completions", 429, headers={"Retry-After": "1"})
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    client = openai_client(server.base_url, OPENAI_KEY, retry=FAST, sleep=sleep)
    started = time.monotonic()
    sync.pipeline("openai").run(openai_usage_source(client, WHOLE, now=NOW))
    assert sleeps == [1.0]  # the server's hint, not the 0.01 s back-off
    assert time.monotonic() - started >= 1.0
    assert sync.by_model("openai_usage_completions", "input_tokens") == totals(
        fixture_rows(), "completions", "input_tokens"
    )


def test_500_twice_then_success(sync: Sync, server):
    server.fail_next("/organizations/cost_report", 500, times=2)
    sync.anthropic(WHOLE)
    cost_calls = [r for r in server.requests_seen if r["path"].endswith("/cost_report")]
    assert len(cost_calls) == 2 + 2  # two failures, then both pages
    assert sync.query("select count(*) from raw.anthropic_cost_report")[0][0] > 0


def test_401_fails_fast_naming_the_variable_and_never_the_key(sync: Sync, server):
    with pytest.raises(Exception) as failure:
        sync.openai(WHOLE, key="wrong-openai-key-d34db33f")
    text = "".join(str(e) for e in _chain(failure.value))
    assert "OPENAI_ADMIN_KEY" in text and "401" in text
    assert "wrong-openai-key-d34db33f" not in text and OPENAI_KEY not in text
    assert len(server.requests_seen) == 1  # no retries on 401


def test_anthropic_401_names_its_variable(sync: Sync):
    with pytest.raises(Exception) as failure:
        sync.anthropic(WHOLE, key="wrong-anthropic-key")
    text = "".join(str(e) for e in _chain(failure.value))
    assert "ANTHROPIC_ADMIN_KEY" in text and "wrong-anthropic-key" not in text


def test_a_page_failing_after_retries_commits_no_cursor_and_no_rows(sync: Sync, server):
    first = Window.of_days(FIRST_DAY, FIRST_DAY + timedelta(days=9))
    sync.openai(first)
    pipeline = sync.pipeline("openai")
    cursor_before = cursor_of(pipeline, "openai_usage")
    rows_before = sync.query("select count(*) from raw.openai_usage_completions")[0][0]
    # The second page of the completions report fails on every attempt.
    server.fail_next("/usage/completions", 503, times=100)
    with pytest.raises(Exception, match="503"):
        sync.openai(WHOLE)
    pipeline = sync.pipeline("openai")
    pipeline.sync_destination()
    assert cursor_of(pipeline, "openai_usage") == cursor_before
    assert sync.query("select count(*) from raw.openai_usage_completions")[0][0] == rows_before
    # Once the provider recovers, the next run loads everything exactly once.
    server.faults.clear()
    sync.openai(WHOLE)
    assert sync.by_model("openai_usage_completions", "input_tokens") == totals(
        fixture_rows(), "completions", "input_tokens"
    )


def test_cursor_is_the_last_complete_bucket_and_drives_the_next_window(sync: Sync):
    sync.openai(WHOLE)
    sync.anthropic(WHOLE)
    cursor = cursor_of(sync.pipeline("openai"), "openai_usage")
    # Today's bucket is still growing: the cursor stops at today's midnight.
    assert cursor == datetime(2026, 3, 10, tzinfo=UTC)
    resources = sync.pipeline("openai").state["sources"]["openai_usage"]["resources"]
    assert {r[STATE_CURSOR] for r in resources.values()} == {cursor.isoformat()}
    window = sync_window(cursor, NOW, lookback_days=2)
    assert window.days == (date(2026, 3, 8), date(2026, 3, 10))


def test_first_sync_reads_the_configured_history():
    window = sync_window(None, NOW, lookback_days=2, history_days=90)
    assert window.days == (NOW.date() - timedelta(days=89), NOW.date())


def test_api_base_with_or_without_v1(sync: Sync, server):
    client = openai_client(server.base_url + "/v1/", OPENAI_KEY, retry=FAST)
    sync.pipeline("openai").run(openai_usage_source(client, WHOLE, now=NOW))
    assert all(r["path"].startswith("/v1/organization/") for r in server.requests_seen)


def _chain(exc: BaseException):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__
