"""Import prices from LiteLLM's community file (model_prices_and_context_window.json).

Per-token USD prices become per-million-token columns; a version is appended to a price-book CSV
only where the price in force for that model and tier differs (or the model has none yet).
Fields LiteLLM does not state are carried over from the current version, never zeroed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import fsspec

from ingestion.price_book import PRICE_BOOK_COLUMNS

LITELLM_URL = (
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
)
SOURCE = "LiteLLM model_prices_and_context_window.json"

# litellm_provider -> our provider name; other providers are not imported.
PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
}
MODES = {"chat", "completion", "embedding", "responses"}
TIERS = {"": "", "_priority": "priority", "_flex": "flex"}  # LiteLLM field suffix -> our tier
PRICE_FIELDS = {
    "input_per_mtok": "input_cost_per_token",
    "output_per_mtok": "output_cost_per_token",
    "cache_read_per_mtok": "cache_read_input_token_cost",
    "cache_write_per_mtok": "cache_creation_input_token_cost",
    "cache_write_1h_per_mtok": "cache_creation_input_token_cost_above_1hr",
}
LONG_CONTEXT = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
COMPARED = (
    *PRICE_FIELDS,
    "long_context_threshold",
    "long_context_input_per_mtok",
    "long_context_output_per_mtok",
    "batch_discount",
)


def per_mtok(value: float | int | str | None) -> str:
    """LiteLLM's USD per token as our USD per million tokens, exactly (decimal, no float noise)."""
    if value is None:
        return ""
    return format((Decimal(str(value)) * 1_000_000).normalize(), "f")


def read_litellm(source: str) -> dict:
    """The price file from a local path or any URL fsspec opens (http(s), s3, ...)."""
    with fsspec.open(source, "rt", encoding="utf-8") as f:
        return json.load(f)


def quoted_prices(entry: dict) -> dict[str, dict[str, str]]:
    """Our columns as LiteLLM states them for one model, by tier ('' = standard)."""
    quotes: dict[str, dict[str, str]] = {}
    for suffix, tier in TIERS.items():
        row = {col: per_mtok(entry.get(field + suffix)) for col, field in PRICE_FIELDS.items()}
        row = {k: v for k, v in row.items() if v != ""}
        if "input_per_mtok" not in row:
            continue
        if not suffix:
            for key in entry:
                match = LONG_CONTEXT.match(key)
                if match:
                    row["long_context_threshold"] = str(int(match.group(1)) * 1000)
                    row["long_context_input_per_mtok"] = per_mtok(entry[key])
                    row["long_context_output_per_mtok"] = per_mtok(
                        entry.get(f"output_cost_per_token_above_{match.group(1)}k_tokens")
                    )
            batch_in = entry.get("input_cost_per_token_batches")
            if batch_in is not None and Decimal(str(entry["input_cost_per_token"])) > 0:
                ratio = Decimal(str(batch_in)) / Decimal(str(entry["input_cost_per_token"]))
                row["batch_discount"] = format((1 - ratio).normalize(), "f")
        quotes[tier] = row
    return quotes


def read_book(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def current_version(
    rows: list[dict[str, str]], provider: str, model: str, tier: str, on: str
) -> dict | None:
    """The row that prices (provider, model, tier) on date `on`: exact name beats pattern,
    longest pattern wins (the rules of int_model_price_matches)."""
    patterns = {r["model_pattern"] for r in rows if r["provider"] == provider}
    if model in patterns:
        pattern = model
    else:
        hits = [p for p in patterns if re.fullmatch(p, model)]
        if not hits:
            return None
        pattern = max(hits, key=len)
    versions = [
        r for r in rows
        if r["provider"] == provider and r["model_pattern"] == pattern
        and (r["service_tier"] or "") == tier and r["effective_from"] <= on
    ]  # fmt: skip
    return max(versions, key=lambda r: r["effective_from"]) if versions else None


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return Decimal(a or "0") == Decimal(b or "0") and bool(a) == bool(b)
    except ArithmeticError:
        return False


@dataclass
class ImportResult:
    appended: list[dict[str, str]]
    models_seen: int


def import_prices(
    source: str,
    into: Path,
    also_current: list[Path] | None = None,
    effective_from: date | None = None,
) -> ImportResult:
    """Append to `into` a version for every (model, tier) whose LiteLLM price differs from the
    one in force (in `into` plus the books in `also_current`, e.g. the shipped seed)."""
    on = (effective_from or date.today()).isoformat()
    book = [r for path in (also_current or []) for r in read_book(path)] + read_book(into)
    appended: list[dict[str, str]] = []
    seen = 0
    for key, entry in read_litellm(source).items():
        provider = (
            PROVIDERS.get(entry.get("litellm_provider", "")) if isinstance(entry, dict) else None
        )
        if provider is None or entry.get("mode") not in MODES or key == "sample_spec":
            continue
        seen += 1
        model = key.split("/", 1)[1] if "/" in key else key
        for tier, quote in quoted_prices(entry).items():
            current = current_version(book + appended, provider, model, tier, on)
            if current and all(
                _same(quote.get(c, current.get(c, "")), current.get(c, "")) for c in COMPARED
            ):
                continue
            row = {c: (current or {}).get(c, "") for c in PRICE_BOOK_COLUMNS} | quote
            row |= {
                "provider": provider,
                "model_pattern": model,
                "service_tier": tier,
                "effective_from": on,
                "currency": "USD",
                "source": SOURCE,
                "note": f"imported from {Path(source).name if '://' not in source else source}",
            }
            appended.append(row)
    if appended:
        _append(into, appended)
    return ImportResult(appended=appended, models_seen=seen)


def _append(path: Path, rows: list[dict[str, str]]) -> None:
    """Append rows to a price-book CSV (writing the header if the file is new)."""
    new = not path.exists() or path.stat().st_size == 0
    text = path.read_text() if not new else ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PRICE_BOOK_COLUMNS, lineterminator="\n")
    if new:
        writer.writeheader()
    elif not text.endswith("\n"):
        buffer.write("\n")
    writer.writerows(rows)
    with path.open("a", newline="") as f:
        f.write(buffer.getvalue())
