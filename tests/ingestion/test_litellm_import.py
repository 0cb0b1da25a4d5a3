"""The LiteLLM price importer on excerpts of the real file: offline, append-only, only changes."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

from ingestion.price_book.litellm import import_prices, quoted_prices
from orchestration.settings import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "litellm"
EXCERPT = FIXTURES / "model_prices_excerpt.json"
CHANGED = FIXTURES / "model_prices_excerpt_changed.json"  # gpt-4o input 2.50 -> 2.00 per Mtok
SHIPPED = REPO_ROOT / "seeds" / "price_book.csv"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_per_token_fields_map_to_per_million_columns():
    import json

    entries = json.loads(EXCERPT.read_text())
    sonnet = quoted_prices(entries["claude-sonnet-4-5-20250929"])[""]
    assert sonnet == {
        "input_per_mtok": "3",
        "output_per_mtok": "15",
        "cache_read_per_mtok": "0.3",
        "cache_write_per_mtok": "3.75",
        "cache_write_1h_per_mtok": "6",
        "long_context_threshold": "200000",
        "long_context_input_per_mtok": "6",
        "long_context_output_per_mtok": "22.5",
    }
    gpt4o = quoted_prices(entries["gpt-4o"])
    assert gpt4o[""]["batch_discount"] == "0.5"
    assert gpt4o["priority"] == {
        "input_per_mtok": "4.25",
        "output_per_mtok": "17",
        "cache_read_per_mtok": "2.125",
    }


def test_only_changed_or_new_prices_are_appended(tmp_path: Path):
    book = tmp_path / "my_prices.csv"
    first = import_prices(str(EXCERPT), book, [SHIPPED], date(2026, 11, 1))
    # Skipped: the schema sample, an image model, a Bedrock model. Unchanged: Claude, embeddings.
    assert first.models_seen == 5
    assert {(r["model_pattern"], r["service_tier"]) for r in first.appended} == {
        ("gpt-4o", "priority"),
        ("gpt-5.4", ""),
    }
    assert (
        import_prices(str(EXCERPT), book, [SHIPPED], date(2026, 11, 2)).appended == []
    )  # idempotent
    before = rows(book)

    changed = import_prices(str(CHANGED), book, [SHIPPED], date(2026, 11, 3))
    assert len(changed.appended) == 1
    after = rows(book)
    assert after[: len(before)] == before  # appended, never edited
    new = after[-1]
    assert (new["model_pattern"], new["service_tier"], new["effective_from"]) == (
        "gpt-4o",
        "",
        "2026-11-03",
    )
    assert (new["input_per_mtok"], new["output_per_mtok"], new["cache_read_per_mtok"]) == (
        "2",
        "10",
        "1.25",
    )
    assert new["source"].startswith("LiteLLM")


def test_fields_litellm_does_not_state_are_carried_over(tmp_path: Path):
    import json

    entries = json.loads(EXCERPT.read_text())
    entries["claude-sonnet-4-5-20250929"]["output_cost_per_token"] = 1.6e-05
    source = tmp_path / "prices.json"
    source.write_text(json.dumps(entries))
    book = tmp_path / "book.csv"
    result = import_prices(str(source), book, [SHIPPED], date(2026, 11, 5))
    sonnet = [r for r in result.appended if r["model_pattern"].startswith("claude-sonnet")][0]
    assert sonnet["output_per_mtok"] == "16"
    assert sonnet["batch_discount"] == "0.5"  # not in LiteLLM's entry: kept from the shipped book


def test_command_line(tmp_path: Path):
    book = tmp_path / "book.csv"
    tokenlake = str(Path(sys.executable).with_name("tokenlake"))
    out = subprocess.run(
        [tokenlake, "import-prices", "--from", str(EXCERPT), "--into", str(book), "--effective-from", "2026-11-01"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "2 price versions appended" in out.stdout
    assert len(rows(book)) == 2
