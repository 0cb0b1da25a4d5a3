"""OpenTelemetry spans as the real instrumentations emit them (recorded by
tests/fixtures/otel/record_otel_spans.py: opentelemetry-instrumentation-openai-v2 and OpenLLMetry's
anthropic instrumentation beside the Anthropic SDK's own span, in a plain OTel set-up)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingestion.usage_logs.otlp import OtelOptions
from tests.conftest import Warehouse
from tests.support.dbt_cli import dbt

OTEL = Path(__file__).resolve().parents[1] / "fixtures" / "otel"
COLUMNS = ("request_id, provider, model, tenant_id, input_tokens, cache_read_tokens, output_tokens,"
           " cache_tokens_reported, json_extract(extra_fields, '$.tenant_defaulted')")  # fmt: skip


def spans(name: str) -> list[dict]:
    export = json.loads((OTEL / name).read_text())
    return [s for rs in export["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def logs_with(tmp_path: Path, name: str) -> Path:
    (tmp_path / "logs").mkdir(exist_ok=True)
    shutil.copy(OTEL / name, tmp_path / "logs" / name)
    return tmp_path / "logs"


@pytest.mark.parametrize("name", ["spans.jsonl", "spans_pretty.json"])
def test_every_span_is_accounted_for_and_tenantless_spans_are_kept(tmp_path: Path, name: str):
    """The app's attribute-less spans are skipped and counted; a plain set-up without a tenant
    attribute loads as `unattributed` (flagged), not quarantined; a pretty-printed export is
    read like a one-line one."""
    warehouse = Warehouse(tmp_path / "home")
    report = warehouse.ingest(logs_with(tmp_path, name))
    assert len(spans(name)) == 5
    assert (report.records_read, report.rows_loaded, report.rows_quarantined,
            report.records_skipped) == (5, 3, 0, 2)  # fmt: skip
    assert report.unbalanced_files == []
    # Two of the loaded spans are one call (the Anthropic SDK's and OpenLLMetry's): merged.
    assert report.records_merged == 1 and "1 of them merged" in report.summary()
    rows = warehouse.query(f"select {COLUMNS} from raw.usage_events order by provider")
    assert rows == [
        # The Anthropic SDK's span and OpenLLMetry's for the same call: one attempt.
        ("msg_01OtelRec", "anthropic", "claude-sonnet-4-5-20250929", "unattributed", 1620, 1500, 95,
         True, "true"),
        # openai-v2 sets no cache attribute: 1,920 cached tokens are unknown, not absent.
        ("chatcmpl-OtelRec", "openai", "gpt-4o-2024-08-06", "unattributed", 2400, 0, 180,
         False, "true"),
    ]  # fmt: skip


def test_the_tenant_attribute_and_its_default_are_settings(tmp_path: Path):
    logs = logs_with(tmp_path, "spans.jsonl")
    named = Warehouse(tmp_path / "named")
    named.ingest(logs, otel=OtelOptions(tenant_attributes=("service.name",)))
    assert named.query("select distinct tenant_id, extra_fields like '%tenant_defaulted%'"
                       " from raw.usage_events") == [("support-bot", False)]  # fmt: skip
    strict = Warehouse(tmp_path / "strict")
    report = strict.ingest(logs, otel=OtelOptions(default_tenant=""))
    assert (report.rows_loaded, report.rows_quarantined, report.records_skipped) == (0, 3, 2)
    assert {r for (r,) in strict.query("select reason from raw.usage_events_quarantine")} == {
        "missing_field:tenant_id"}  # fmt: skip


@pytest.mark.slow
def test_unknown_cache_is_visible_in_the_marts(tmp_path: Path):
    warehouse = Warehouse(tmp_path / "home")
    warehouse.ingest(logs_with(tmp_path, "spans.jsonl"))
    warehouse.load_price_book(None)
    result = dbt("build", "--exclude-resource-type", "unit_test", warehouse=warehouse.path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert warehouse.query(
        "select provider, is_cache_reported from marts.fct_llm_attempts order by 1") == [
        ("anthropic", True), ("openai", False)]  # fmt: skip
    for rollup in ("agg_usage_hourly", "agg_usage_daily", "agg_usage_daily_by_tenant"):
        assert warehouse.query(
            f"select provider, sum(cache_unreported_attempts) from marts.{rollup} group by 1 order by 1"
        ) == [("anthropic", 0), ("openai", 1)], rollup


def test_the_otel_settings_are_read_and_checked():
    from orchestration.settings import ConfigError, Settings

    settings = Settings.from_env({"TOKENLAKE_OTEL_TENANT_ATTRIBUTES": "org.id, service.name",
                                  "TOKENLAKE_OTEL_DEFAULT_TENANT": ""})  # fmt: skip
    assert settings.otel == OtelOptions(("org.id", "service.name"), "")
    assert Settings.from_env({}).otel == OtelOptions()
    with pytest.raises(ConfigError, match='TOKENLAKE_OTEL_TENANT_ATTRIBUTES: "x\'y"'):
        Settings.from_env({"TOKENLAKE_OTEL_TENANT_ATTRIBUTES": "x'y"})
