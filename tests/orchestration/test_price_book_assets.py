"""The on-demand LiteLLM import asset, materialised as a user would from the UI."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.defs.price_book.assets import litellm_import
from orchestration.defs.resources import settings_resource
from orchestration.settings import REPO_ROOT

EXCERPT = REPO_ROOT / "tests" / "fixtures" / "litellm" / "model_prices_excerpt.json"


def run_import(effective_from: str = "2026-11-01") -> dg.ExecuteInProcessResult:
    config = {
        "ops": {
            "price_book__litellm_import": {
                "config": {"source": str(EXCERPT), "effective_from": effective_from}
            }
        }
    }
    return dg.materialize(
        [litellm_import],
        run_config=config,
        raise_on_error=False,
        resources={"settings": settings_resource},
    )


def test_import_appends_to_the_users_price_book(tmp_path: Path, monkeypatch):
    book = tmp_path / "prices.csv"
    monkeypatch.setenv("TOKENLAKE_PRICE_BOOK", str(book))
    result = run_import()
    assert result.success
    materialization = result.asset_materializations_for_node("price_book__litellm_import")[0]
    assert materialization.metadata["versions_appended"].value == 2
    assert len(book.read_text().splitlines()) == 3  # header + 2 rows


def test_import_without_a_price_book_says_what_to_set(monkeypatch):
    monkeypatch.delenv("TOKENLAKE_PRICE_BOOK", raising=False)
    result = run_import()
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    assert "TOKENLAKE_PRICE_BOOK" in failure.step_failure_data.error.message
