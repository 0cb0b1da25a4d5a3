"""The Dagster definitions load and hold the assets, checks, jobs and sensor users rely on."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from tests.conftest import event, write_jsonl


def load_defs() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs


def settings_resources() -> dict:
    """What a sensor receives from the definitions: the settings, read when its tick starts."""
    from orchestration.defs.resources import settings_resource

    return {"settings": settings_resource}


def test_one_connected_graph_from_log_files_to_staging():
    defs = load_defs()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "sources/usage_log_files",
        "raw/usage_events",
        "raw/usage_events_quarantine",
        "raw/usage_log_files",
        "staging/stg_usage_logs__events",
        "staging/stg_usage_logs__quarantine",
        "seeds/price_book",
        "raw/user_price_book",
        "staging/stg_seeds__price_book",
        "intermediate/int_attempts_priced",
        "marts/fct_llm_attempts",
        "marts/fct_llm_requests",
        "marts/mart_unpriced_models",
    } <= keys
    book = graph.get(dg.AssetKey(["staging", "stg_seeds__price_book"]))
    assert {
        dg.AssetKey(["seeds", "price_book"]),
        dg.AssetKey(["raw", "user_price_book"]),
    } <= book.parent_keys
    stg = graph.get(dg.AssetKey(["staging", "stg_usage_logs__events"]))
    assert dg.AssetKey(["raw", "usage_events"]) in stg.parent_keys
    raw = graph.get(dg.AssetKey(["raw", "usage_events"]))
    assert dg.AssetKey(["sources", "usage_log_files"]) in raw.parent_keys


def test_jobs_sensor_and_checks():
    defs = load_defs()
    assert defs.resolve_job_def("full_pipeline")
    ingest = defs.resolve_job_def("ingest_logs")
    selected = {k.to_user_string() for k in ingest.asset_layer.executable_asset_keys}
    assert {
        "raw/usage_events",
        "raw/user_price_book",
        "seeds/price_book",
        "marts/fct_llm_attempts",
    } <= selected
    assert defs.resolve_sensor_def("new_log_files").default_status == dg.DefaultSensorStatus.RUNNING
    check_keys = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert {"every_record_accounted_for", "quarantined_records"} <= check_keys
    assert "stg_usage_logs__events_column_checks" in check_keys  # dbt tests


def test_new_log_files_sensor_requests_a_run_only_when_files_change(tmp_path: Path, monkeypatch):
    logs = tmp_path / "logs"
    monkeypatch.setenv("TOKENLAKE_LOGS_URL", str(logs))
    sensor = load_defs().resolve_sensor_def("new_log_files")
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(instance=instance, resources=settings_resources()))
        assert isinstance(result, dg.SkipReason)
        write_jsonl(logs / "a.jsonl", [event(1)])
        first = sensor(dg.build_sensor_context(instance=instance, resources=settings_resources()))
        assert len(first.run_requests) == 1
        again = sensor(
            dg.build_sensor_context(
                instance=instance, cursor=first.cursor, resources=settings_resources()
            )
        )
        assert isinstance(again, dg.SkipReason)
        write_jsonl(logs / "b.jsonl", [event(2)])
        os.utime(logs / "b.jsonl", (2_000_000_000, 2_000_000_000))
        changed = sensor(
            dg.build_sensor_context(
                instance=instance, cursor=first.cursor, resources=settings_resources()
            )
        )
        assert len(changed.run_requests) == 1 and changed.cursor != first.cursor


def test_new_log_files_sensor_skips_files_a_headless_run_already_ingested(
    tmp_path: Path, monkeypatch
):
    from orchestration.defs.usage_logs.fingerprint import logs_fingerprint, record_ingested
    from orchestration.settings import Settings

    logs = tmp_path / "logs"
    monkeypatch.setenv("TOKENLAKE_LOGS_URL", str(logs))
    monkeypatch.setenv("TOKENLAKE_HOME", str(tmp_path / "home"))
    write_jsonl(logs / "a.jsonl", [event(1)])
    record_ingested(Settings.from_env(), logs_fingerprint(str(logs))[0])  # as `tokenlake run` does
    sensor = load_defs().resolve_sensor_def("new_log_files")
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance, resources=settings_resources()))
        assert not first.run_requests and "ingested already" in first.skip_reason.skip_message
        write_jsonl(logs / "b.jsonl", [event(2)])
        later = sensor(
            dg.build_sensor_context(
                instance=instance, cursor=first.cursor, resources=settings_resources()
            )
        )
        assert len(later.run_requests) == 1


def test_jobs_for_full_refresh_hourly_increments_and_publishing():
    defs = load_defs()
    graph = defs.resolve_asset_graph()

    def selected(job: str) -> set[str]:
        return {
            k.to_user_string() for k in defs.resolve_job_def(job).asset_layer.executable_asset_keys
        }

    everything = selected("full_pipeline")
    assert {"publish/duckdb_file", "publish/parquet_exports", "publish/postgres"} <= everything
    assert selected("full_refresh") == everything
    hourly = selected("hourly_incremental")
    assert everything - hourly == {"analytics/spend_forecast", "analytics/budget_status"}
    assert selected("publish_only") == {
        "publish/duckdb_file",
        "publish/parquet_exports",
        "publish/postgres",
    }
    assert defs.resolve_schedule_def("hourly_refresh").job_name == "hourly_incremental"
    # Publishing waits for every mart and for the forecasts and anomalies.
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] in ("marts", "analytics")}
    marts.discard(dg.AssetKey(["analytics", "digest"]))  # a message, not a table
    publish = graph.get(dg.AssetKey(["publish", "postgres"]))
    assert marts <= publish.parent_keys


def test_full_refresh_job_tags_its_runs_for_dbt_full_refresh():
    from orchestration.defs.dbt.assets import FULL_REFRESH_TAG

    defs = load_defs()
    assert defs.resolve_job_def("full_refresh").tags[FULL_REFRESH_TAG] == "true"
    assert FULL_REFRESH_TAG not in defs.resolve_job_def("full_pipeline").tags


def test_day_grain_marts_are_daily_partitioned_like_the_provider_reports():
    defs = load_defs()
    graph = defs.resolve_asset_graph()
    provider = graph.get(dg.AssetKey(["raw", "openai_costs"])).partitions_def
    for name in ("mart_cache_savings", "mart_key_source_split", "mart_action_type_breakdown"):
        node = graph.get(dg.AssetKey(["marts", name]))
        assert node.partitions_def == provider
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert graph.get(dg.AssetKey(["marts", "agg_usage_daily"])).partitions_def is None


def test_loading_the_definitions_writes_no_environment_variable(tmp_path: Path):
    """Settings reach assets, checks, sensors and schedules as a resource; importing the code
    location changes nothing in the process's environment."""
    import subprocess
    import sys

    code = (
        "import os; before = dict(os.environ); import orchestration.definitions; "
        "print(sorted(k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENLAKE_", "DAGSTER_"))}
    env["TOKENLAKE_HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"
