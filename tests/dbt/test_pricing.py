"""Priced attempts checked against an independent calculation, on the real pipeline's output."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from demo import generate
from orchestration.settings import REPO_ROOT
from tests.conftest import Warehouse
from tests.support.dbt_cli import dbt

PRICE_BOOK = REPO_ROOT / "seeds" / "price_book.csv"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Warehouse:
    """Demo data ingested and `dbt build` run (models, data tests and unit tests)."""
    out = tmp_path_factory.mktemp("demo")
    generate(out, 20_000, seed=11, end=datetime(2026, 11, 20, 18, tzinfo=UTC))
    warehouse = Warehouse(tmp_path_factory.mktemp("home"))
    warehouse.ingest(out / "logs")
    warehouse.load_price_book(None)
    result = dbt("build", warehouse=warehouse.path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "WARN 1 unpriced_attempts" in result.stdout  # the demo's unpriced model is reported
    return warehouse


def independent_costs(events: pd.DataFrame, book: pd.DataFrame) -> pd.Series:
    """docs/design.md §2 written again with pandas, from the raw events and the price CSV."""
    book = book.copy()
    book["service_tier"] = book["service_tier"].fillna("standard").replace("", "standard")
    book["effective_from"] = pd.to_datetime(book["effective_from"], utc=True)

    def pattern_for(provider: str, model: str) -> str | None:
        rows = book[book.provider == provider].model_pattern.unique()
        if model in rows:
            return model
        hits = [p for p in rows if re.fullmatch(p, model)]
        return max(hits, key=len) if hits else None

    pairs = events[["provider", "model"]].drop_duplicates()
    pairs["model_pattern"] = [
        pattern_for(p, m) for p, m in zip(pairs.provider, pairs.model, strict=True)
    ]
    ev = events.merge(pairs, on=["provider", "model"], how="left").sort_values("timestamp")
    ev["row"] = np.arange(len(ev))
    ev["standard_tier"] = "standard"
    prices = book.sort_values("effective_from")

    def asof(tier_column: str) -> pd.DataFrame:
        left = (
            ev.reset_index(drop=True)
            .dropna(subset=["model_pattern"])
            .assign(tier=lambda d: d[tier_column])
        )
        return pd.merge_asof(
            left, prices, left_on="timestamp", right_on="effective_from",
            left_by=["provider", "model_pattern", "tier"], right_by=["provider", "model_pattern", "service_tier"],
            suffixes=("", "_price"),
        ).set_index("row")  # fmt: skip

    ev = ev.set_index("row", drop=False)
    own = asof("service_tier").reindex(ev.index)
    std = asof("standard_tier").reindex(ev.index)
    use_own = own["input_per_mtok"].notna()
    p = own.where(use_own, std)
    p["priced_tier"] = np.where(use_own, own["service_tier_price"], std["service_tier_price"])
    num = lambda c: pd.to_numeric(p[c], errors="coerce")  # noqa: E731
    inp, out = num("input_per_mtok"), num("output_per_mtok")
    long = (num("long_context_threshold").notna()) & (
        ev.input_tokens > num("long_context_threshold")
    )
    mult = np.where(long, num("long_context_input_per_mtok") / inp, 1.0)
    in_price = np.where(long, num("long_context_input_per_mtok"), inp)
    out_price = np.where(long, num("long_context_output_per_mtok"), out)
    read_price = num("cache_read_per_mtok").fillna(inp) * mult
    write_price = num("cache_write_per_mtok").fillna(inp) * mult
    write_1h_price = (
        num("cache_write_1h_per_mtok").fillna(num("cache_write_per_mtok")).fillna(inp) * mult
    )
    uncached = ev.input_tokens - ev.cache_read_tokens - ev.cache_write_tokens
    cost = (
        uncached * in_price
        + ev.cache_read_tokens * read_price
        + (ev.cache_write_tokens - ev.cache_write_1h_tokens) * write_price
        + ev.cache_write_1h_tokens * write_1h_price
        + ev.output_tokens * out_price
    ) / 1e6
    discount = np.where(
        (ev.service_tier == "batch") & (p["priced_tier"] == "standard"),
        1 - num("batch_discount").fillna(0),
        1.0,
    )
    cost = cost * discount
    return pd.Series(cost.values, index=pd.MultiIndex.from_frame(ev[["request_id", "attempt"]]))


def test_every_attempt_costs_what_an_independent_calculation_says(built: Warehouse):
    with duckdb.connect(str(built.path), read_only=True) as con:
        events = con.sql(
            "select request_id, attempt, timestamp, provider, model, service_tier, input_tokens, output_tokens,"
            " cache_read_tokens, cache_write_tokens, cache_write_1h_tokens from raw.usage_events"
        ).df()
        fct = con.sql(
            "select request_id, attempt, is_priced, cast(total_cost as double) as total_cost from marts.fct_llm_attempts"
        ).df()
    events["timestamp"] = pd.to_datetime(events["timestamp"], utc=True)
    expected = independent_costs(events, pd.read_csv(PRICE_BOOK, dtype={"service_tier": str}))
    got = fct.set_index(["request_id", "attempt"])
    assert len(got) == len(events)
    joined = got.join(expected.rename("expected"))
    unpriced = joined[~joined.is_priced]
    assert unpriced.total_cost.isna().all() and unpriced.expected.isna().all()
    assert set(unpriced.index.get_level_values(0)) <= set(events.request_id)
    priced = joined[joined.is_priced]
    cents = (priced.total_cost * 100).round() != (priced.expected * 100).round()
    assert (priced.total_cost - priced.expected).abs().max() < 1e-8
    assert not cents.any(), priced[cents].head()


def test_rollups_reconcile_and_unpriced_models_are_listed(built: Warehouse):
    assert (
        built.scalar(
            "select count(*) from marts.fct_llm_requests r join (select request_id, sum(total_cost) c from marts.fct_llm_attempts group by 1) a"
            " using (request_id) where r.priced_cost <> a.c"
        )
        == 0
    )
    assert built.scalar("select sum(priced_cost) from marts.fct_llm_requests") == built.scalar(
        "select sum(total_cost) from marts.fct_llm_attempts"
    )
    assert built.query("select model from marts.mart_unpriced_models") == [
        ("ft:gpt-4.1-mini-2025-04-14:acme:support-v3:B7x9Q2",)
    ]
    assert (
        built.scalar(
            "select count(*) from marts.fct_llm_attempts where is_priced and price_version_id is null"
        )
        == 0
    )


def test_user_price_rows_win_ties_price_new_models_and_reprice_history(
    built: Warehouse, tmp_path: Path
):
    """TOKENLAKE_PRICE_BOOK rows join the book; a correction dated in the past re-prices history."""
    mini = "model like 'gpt-4o-mini%'"
    before = built.scalar(f"select sum(total_cost) from marts.fct_llm_attempts where {mini}")
    header = PRICE_BOOK.read_text().splitlines()[0]
    user_book = tmp_path / "my_prices.csv"
    user_book.write_text(
        header + "\n"
        "openai,ft:gpt-4.1-mini-2025-04-14:acme:support-v3:B7x9Q2,,2025-06-01,USD,0.80,3.20,0.20,,,,,,0.5,fine-tuning price,\n"
        "openai,gpt-4o-mini(-\\d{4}-\\d{2}-\\d{2})?,,2024-07-18,USD,0.30,1.20,0.15,,,,,,0.5,correction,doubled\n"
    )
    built.load_price_book(user_book)
    try:
        result = dbt("build", warehouse=built.path)
        assert result.returncode == 0, result.stdout[-3000:]
        assert (
            "unpriced_attempts" in result.stdout and "WARN 1 unpriced_attempts" not in result.stdout
        )
        after = built.scalar(f"select sum(total_cost) from marts.fct_llm_attempts where {mini}")
        assert after == 2 * before  # every list price doubled: every past attempt re-priced
        assert built.scalar("select count(*) from marts.mart_unpriced_models") == 0
        assert (
            built.scalar(
                f"select count(distinct price_version_id) from marts.fct_llm_attempts where {mini}"
            )
            == 1
        )
    finally:  # leave the module's warehouse as the other tests expect it
        built.load_price_book(None)
        assert dbt("build", warehouse=built.path).returncode == 0


def test_a_broken_user_price_book_is_a_clear_error(tmp_path: Path):
    from ingestion.price_book import PriceBookError, read_price_book

    with pytest.raises(PriceBookError, match="not a file"):
        read_price_book(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("provider,model,price\nopenai,x,1\n")
    with pytest.raises(PriceBookError, match="header"):
        read_price_book(tmp_path / "bad.csv")
    header = PRICE_BOOK.read_text().splitlines()[0]
    (tmp_path / "noprice.csv").write_text(header + "\nopenai,x,,2025-01-01,USD,,1,,,,,,,,,\n")
    with pytest.raises(PriceBookError, match="no input_per_mtok"):
        read_price_book(tmp_path / "noprice.csv")
