"""Gateway log formats and user mappings on data nobody here designed: LiteLLM's records made
by the real library (tests/fixtures/gateways/record_litellm.py), Helicone's, Langfuse's,
OpenRouter's and Portkey's shaped from their sources (shape_*.py), a homegrown log with a YAML
mapping. Each is loaded through the real source and priced by real dbt: our cost equals the
gateway's own to 1e-6 USD."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ingestion.usage_logs.formats import LogFormats, LogMapping, MappingError
from orchestration.settings import REPO_ROOT, ConfigError, Settings
from tests.conftest import Warehouse, event, write_jsonl
from tests.fixtures.gateways import shape_helicone
from tests.support.dbt_cli import dbt

GATEWAYS = Path(__file__).resolve().parents[1] / "fixtures" / "gateways"
SLP = GATEWAYS / "litellm_standard_logging.jsonl"
SPEND_LOGS = GATEWAYS / "litellm_spend_logs.jsonl"
HELICONE = GATEWAYS / "helicone_export.jsonl"
LANGFUSE = GATEWAYS / "langfuse_observations.jsonl"
OPENROUTER = GATEWAYS / "openrouter_generations.jsonl"
PORTKEY = GATEWAYS / "portkey_logs.jsonl"
HOMEGROWN = GATEWAYS / "homegrown.jsonl"
HOMEGROWN_MAPPING = GATEWAYS / "homegrown_mapping.yaml"

TOKENS = "input_tokens, cache_read_tokens, cache_write_tokens, output_tokens"


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def copy(tmp_path: Path, *files: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    for f in files:
        shutil.copy(f, logs / f.name)
    return logs


def test_litellm_payloads_load_with_litellms_token_semantics(warehouse: Warehouse, tmp_path):
    """Every recorded StandardLoggingPayload loads; tokens are what LiteLLM's usage object says
    (prompt_tokens include cache reads and writes, also for Anthropic)."""
    report = warehouse.ingest(copy(tmp_path, SLP))
    assert (report.records_read, report.rows_loaded, report.rows_quarantined) == (5, 5, 0)
    got = {r[0]: r[1:] for r in warehouse.query(
        f"select request_id, tenant_id, user_id, feature, provider, {TOKENS}, status, computed_cost"
        " from raw.usage_events")}  # fmt: skip
    for p in records(SLP):
        usage = p["metadata"]["usage_object"] or {}
        details = usage.get("prompt_tokens_details") or {}
        expected = (
            p["metadata"]["user_api_key_team_id"],
            p["end_user"] or p["metadata"]["user_api_key_user_id"],
            p["metadata"]["spend_logs_metadata"]["feature"],
            p["custom_llm_provider"],
            p["prompt_tokens"],
            details.get("cached_tokens") or 0,
            usage.get("cache_creation_input_tokens") or 0,
            p["completion_tokens"],
            "ok" if p["status"] == "success" else "rate_limited",
        )
        row = got[p["litellm_call_id"]]
        assert row[:-1] == expected
        assert float(row[-1]) == pytest.approx(p["response_cost"], abs=1e-9)
    # Anthropic's cache parts are inside prompt_tokens: input 350 + written 1,500.
    assert (1850, 0, 1500) in [r[4:7] for r in got.values()]


def test_litellm_spend_log_rows_match_the_payloads_of_the_same_calls(warehouse, tmp_path):
    warehouse.ingest(copy(tmp_path, SPEND_LOGS))
    by_call = {p["litellm_call_id"]: p for p in records(SLP)}
    rows = warehouse.query(
        f"select json_extract_string(extra_fields, '$.litellm_call_id'), tenant_id, {TOKENS},"
        " computed_cost from raw.usage_events")  # fmt: skip
    assert len(rows) == len(records(SPEND_LOGS)) == 5
    for call_id, tenant, *tokens, cost in rows:
        p = by_call.get(call_id)
        if p is None:  # the rate-limited call: its spend-log row is keyed by the call id
            assert tokens == [0, 0, 0, 0] and cost == 0
            continue
        usage = p["metadata"]["usage_object"] or {}
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        assert tenant == p["metadata"]["user_api_key_team_id"]
        assert tokens == [p["prompt_tokens"], cached,
                          usage.get("cache_creation_input_tokens") or 0, p["completion_tokens"]]  # fmt: skip
        assert float(cost) == pytest.approx(p["response_cost"], abs=1e-9)


def test_helicone_export_reads_each_providers_prompt_tokens_right(warehouse, tmp_path):
    """Anthropic's prompt_tokens exclude the cache, OpenAI's (current Helicone) too, older
    Helicone's OpenAI rows include it: all three give the provider's own input total."""
    report = warehouse.ingest(copy(tmp_path, HELICONE))
    assert (report.rows_loaded, report.rows_quarantined) == (6, 0)
    got = {r[0]: r[1:] for r in warehouse.query(
        f"select request_id, tenant_id, provider, {TOKENS}, status, session_id from raw.usage_events")}  # fmt: skip
    openai_input = shape_helicone.OPENAI_CACHED["prompt_tokens"]
    write, read = shape_helicone.ANTHROPIC_WRITE, shape_helicone.ANTHROPIC_READ
    assert got["hc-req-1"][2:6] == (openai_input, 1920, 0, 180)  # current: cached subtracted
    assert got["hc-req-2"][2:6] == (openai_input, 1920, 0, 180)  # older: cached inside
    assert got["hc-req-3"][2:6] == (
        write["input_tokens"] + write["cache_creation_input_tokens"], 0, 1500, 420)  # fmt: skip
    assert got["hc-req-4"][2:6] == (
        read["input_tokens"] + read["cache_read_input_tokens"],
        1500,
        0,
        95,
    )
    assert got["hc-req-5"][2:] == (0, 0, 0, 0, "rate_limited", "sess-2")
    assert got["hc-req-6"][2:6] == (0, 0, 0, 0)  # served from Helicone's cache
    assert {got[k][0] for k in got} == {"acme", "globex"}


def test_langfuse_observations_sum_disjoint_usage_types_and_skip_spans(warehouse, tmp_path):
    """usageDetails' types are disjoint (cached tokens beside `input`): the contract's input is
    their sum; legacy observations use promptTokens; spans and events are skipped, counted."""
    report = warehouse.ingest(copy(tmp_path, LANGFUSE))
    assert (report.records_read, report.rows_loaded, report.rows_quarantined,
            report.records_skipped) == (7, 5, 0, 2)  # fmt: skip
    got = {r[0]: r[1:] for r in warehouse.query(
        f"select request_id, provider, {TOKENS}, status, session_id from raw.usage_events")}  # fmt: skip
    assert got == {
        "lf-obs-1": ("openai", 2400, 1920, 0, 180, "ok", "lf-trace-0"),
        "lf-obs-2": ("anthropic", 1620, 1500, 0, 95, "ok", "lf-trace-1"),
        "lf-obs-3": ("anthropic", 1850, 0, 1500, 420, "ok", "lf-trace-1"),
        "lf-obs-4": ("openai", 900, 0, 0, 60, "ok", "lf-trace-2"),
        "lf-obs-7": ("openai", 0, 0, 0, 0, "error", "lf-trace-3"),
    }


def test_openrouter_generations_split_provider_and_model(warehouse, tmp_path):
    report = warehouse.ingest(copy(tmp_path, OPENROUTER))
    assert (report.rows_loaded, report.rows_quarantined) == (3, 0)
    assert warehouse.query(
        f"select provider, model, key_source, {TOKENS} from raw.usage_events order by request_id"
    ) == [
        ("openai", "gpt-4o-2024-08-06", "system", 2400, 1920, 0, 180),
        ("openai", "gpt-4o-2024-08-06", "byok", 900, 0, 0, 60),
        ("anthropic", "claude-sonnet-4-5-20250929", "system", 1620, 1500, 0, 95),
    ]


def test_portkey_logs_tell_anthropics_cache_apart_by_the_total(warehouse, tmp_path):
    """Portkey's Anthropic prompt_tokens leave the cache out (its total counts it); OpenAI's hold
    it: both give the provider's own input total. Metadata written as JSON text is read."""
    report = warehouse.ingest(copy(tmp_path, PORTKEY))
    assert (report.rows_loaded, report.rows_quarantined) == (4, 0)
    assert warehouse.query(
        f"select request_id, tenant_id, user_id, {TOKENS}, status from raw.usage_events order by 1"
    ) == [
        ("pk-log-1", "acme", "user-1", 2400, 1920, 0, 180, "ok"),
        ("pk-log-2", "acme", "user-2", 1620, 1500, 0, 95, "ok"),
        ("pk-log-3", "acme", "user-3", 1850, 0, 1500, 420, "ok"),
        ("pk-log-4", "acme", "user-4", 0, 0, 0, 0, "rate_limited"),
    ]


def test_a_yaml_mapping_reads_a_homegrown_log(warehouse: Warehouse, tmp_path: Path):
    report = warehouse.ingest(HOMEGROWN, mapping_path=str(HOMEGROWN_MAPPING))
    assert (report.rows_loaded, report.rows_quarantined) == (3, 1)
    rows = warehouse.query(
        "select request_id, attempt, tenant_id, feature, input_tokens, cache_read_tokens,"
        " output_tokens, latency_ms, status, epoch_ms(timestamp), extra_fields"
        " from raw.usage_events order by 1, 2")  # fmt: skip
    assert rows == [
        ("hg-1", 1, "acme", "search", 2400, 1920, 180, 1250, "ok", 1795687200500, '{"env":"prod"}'),
        ("hg-2", 1, "globex", "chat", 900, 0, 60, 400, "rate_limited", 1795687260000, '{"env":"staging"}'),
        ("hg-2", 2, "unattributed", "chat", 900, 0, 75, 2000, "ok", 1795687320000,
         '{"env":"staging","region_hint":"eu"}'),
    ]  # fmt: skip
    assert warehouse.query("select _source_line, reason from raw.usage_events_quarantine") == [
        (4, "missing_field:input_tokens; invalid_timestamp")]  # fmt: skip


def test_formats_are_recognised_by_content_and_can_be_forced(warehouse: Warehouse, tmp_path):
    logs = copy(tmp_path, HELICONE)
    write_jsonl(logs / "app.jsonl", [event(1), "{not json", event(2)])
    report = warehouse.ingest(logs)  # auto: Helicone's rows mapped, the app's read as they are
    assert (report.rows_loaded, report.rows_quarantined) == (8, 1)
    assert warehouse.query("select reason from raw.usage_events_quarantine") == [("invalid_json",)]
    # Forcing a format applies it to every record: the app's events are not Helicone's.
    forced = Warehouse(tmp_path / "forced")
    report = forced.ingest(logs, log_format="helicone")
    assert report.rows_loaded == 6 and report.rows_quarantined == 3
    # `contract`: no gateway format is recognised, their records fail the contract visibly.
    plain = Warehouse(tmp_path / "plain")
    report = plain.ingest(logs, log_format="contract")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 7)
    assert "missing_field:timestamp" in plain.scalar(
        "select reason from raw.usage_events_quarantine where _source_file like '%helicone%' limit 1"
    )


def test_a_bad_mapping_is_one_clear_line(tmp_path: Path):
    with pytest.raises(MappingError, match="tokens_in is not a contract field"):
        LogMapping.from_dict({"fields": {"tokens_in": "a"}}, "mine")
    with pytest.raises(MappingError, match="unit must be one of"):
        LogMapping.from_dict({"fields": {"timestamp": {"path": "t", "unit": "days"}}}, "mine")
    with pytest.raises(MappingError, match=r"\{=cache\} names a field"):
        LogMapping.from_dict({"fields": {"input_tokens": {"sql": "{=cache} + 1"}}}, "mine")
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields: [unclosed\n")
    with pytest.raises(MappingError, match="cannot be read"):
        LogFormats.from_settings(mapping_path=str(bad))
    from orchestration.preflight import check_configuration

    logs = write_jsonl(tmp_path / "logs" / "a.jsonl", [event(1)]).parent
    settings = Settings.from_env({"TOKENLAKE_HOME": str(tmp_path / "home"),
                                  "TOKENLAKE_LOGS_URL": str(logs),
                                  "TOKENLAKE_LOGS_MAPPING": str(bad)})  # fmt: skip
    with pytest.raises(ConfigError, match="TOKENLAKE_LOGS_MAPPING=") as caught:
        check_configuration(settings)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="TOKENLAKE_LOGS_FORMAT must be one of"):
        Settings.from_env({"TOKENLAKE_LOGS_FORMAT": "langsmith"})


@pytest.mark.slow
def test_our_cost_equals_each_gateways_own_cost(tmp_path: Path):
    """Priced by dbt from the price book, every gateway record costs what the gateway said."""
    warehouse = Warehouse(tmp_path / "home")
    report = warehouse.ingest(copy(tmp_path, SLP, HELICONE, LANGFUSE, OPENROUTER))
    warehouse.ingest(HOMEGROWN, mapping_path=str(HOMEGROWN_MAPPING))
    assert report.rows_quarantined == 0
    warehouse.load_price_book(None)
    result = dbt("build", "--exclude-resource-type", "unit_test", warehouse=warehouse.path)
    assert result.returncode == 0, result.stdout[-3000:]
    rows = warehouse.query(
        "select request_id, is_priced, total_cost, gateway_computed_cost from marts.fct_llm_attempts"
        " where gateway_computed_cost is not null")  # fmt: skip
    assert len(rows) == 19
    for request_id, priced, ours, theirs in rows:
        assert priced, request_id
        assert abs(float(ours) - float(theirs)) <= 1e-6, request_id
    drift = "select provider, bool_and(is_within_tolerance) from marts.mart_gateway_cost_drift group by 1"
    assert sorted(warehouse.query(drift)) == [("anthropic", True), ("openai", True)]
    assert (
        "gateway_cost_matches_ours" in result.stdout and "WARN 1 gateway_cost" not in result.stdout
    )
    # Our book raises gpt-4o's input price from a date in the past: the gap opens, and the
    # warning test names it.
    header = (REPO_ROOT / "seeds" / "price_book.csv").read_text().splitlines()[0]
    book = tmp_path / "prices.csv"
    book.write_text(
        header
        + "\nopenai,gpt-4o-20\\d{2}-\\d{2}-\\d{2},,2026-01-01,USD,5.00,10.00,1.25,,,,,,0.5,test,raised\n"
    )
    warehouse.load_price_book(book)
    result = dbt("build", "--exclude-resource-type", "unit_test", warehouse=warehouse.path,
                 TOKENLAKE_GATEWAY_COST_DRIFT_MIN_USD="0")  # a few calls: cents apart  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(warehouse.query(drift)) == [("anthropic", True), ("openai", False)]
    assert re.search(r"WARN \d+ gateway_cost_matches_ours", result.stdout)
