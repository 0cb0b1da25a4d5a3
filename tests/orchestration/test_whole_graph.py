"""The whole graph through Dagster: in-process on demo data (row counts, check results), a
selection from the `dagster asset materialize` CLI, blocking checks before publishing, and
run/event storage in a real PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import psycopg2
import pytest

from orchestration.publish.snapshot import Manifest, store_folder
from tests.support.demo_pipeline import DemoPipeline
from tests.support.postgres_server import create_database

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def materialize(pipeline: DemoPipeline, *args: str) -> dg.DagsterRun:
    """`dagster asset materialize` in a terminal with the pipeline's environment; its run."""
    with pipeline.environment():
        env = dict(os.environ)
    result = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "orchestration.definitions", *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    run = pipeline.instance().get_run_records(limit=1)[0].dagster_run
    assert run.status == dg.DagsterRunStatus.SUCCESS
    return run


def latest_run(instance: dg.DagsterInstance, job: str) -> dg.DagsterRun:
    records = instance.get_run_records(dg.RunsFilter(job_name=job), limit=1)
    assert records, f"no {job} run recorded"
    return records[0].dagster_run


def materialized_keys(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    return {
        e.dagster_event.asset_key.to_user_string()
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    }


def check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list:
    return [
        e.asset_check_evaluation
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]


def scalar(path: Path, sql: str):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_whole_graph_materialises_in_process_with_row_counts_and_check_results(demo_pipeline):
    assert demo_pipeline.first_run_succeeded
    from orchestration.definitions import defs

    instance = demo_pipeline.instance()
    run = latest_run(instance, "full_pipeline")
    assert run.status == dg.DagsterRunStatus.SUCCESS
    job = defs.resolve_job_def("full_pipeline")
    expected = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    done = materialized_keys(instance, run.run_id)
    assert expected - done == set(), "assets of the job not materialised"
    assert {"publish/duckdb_file", "publish/parquet_exports", "publish/postgres"} <= done

    # Row counts against the demo generator's own manifest: every line is loaded or quarantined,
    # and each loaded attempt reaches the attempt fact, the compatibility table and the publish.
    manifest = json.loads((demo_pipeline.demo_dir / "manifest.json").read_text())
    wh = demo_pipeline.warehouse
    loaded = scalar(wh, "select count(*) from raw.usage_events")
    quarantined = scalar(wh, "select count(*) from raw.usage_events_quarantine")
    assert loaded + quarantined == manifest["events"]
    attempts = scalar(wh, "select count(distinct (request_id, attempt)) from raw.usage_events")
    assert scalar(wh, "select count(*) from marts.fct_llm_attempts") == attempts
    assert scalar(wh, "select count(*) from marts.llm_usage_events") == attempts
    assert scalar(wh, "select count(*) from marts.fct_llm_requests") == scalar(
        wh, "select count(distinct request_id) from raw.usage_events"
    )
    published = scalar(
        demo_pipeline.published_duckdb,
        "select row_count from _publish_info where table_name = 'llm_usage_events'",
    )
    assert published == attempts

    # Every check of the graph ran in this run; none failed except warnings by design.
    evaluations = check_evaluations(instance, run.run_id)
    all_checks = set(defs.resolve_asset_graph().asset_check_keys)
    assert {e.asset_check_key for e in evaluations} == all_checks
    failed_errors = [
        e.asset_check_key.name
        for e in evaluations
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert failed_errors == []
    ingest_check = next(e for e in evaluations if e.check_name == "every_record_accounted_for")
    assert ingest_check.passed


def test_dagster_asset_materialize_cli_runs_a_selection(demo_pipeline):
    """As a user would from a terminal: one mart and the Parquet export, recorded in the instance."""
    selection = "marts/mart_feature_ranking,publish/parquet_exports"
    store = store_folder(demo_pipeline.published_duckdb)
    before = Manifest.load(store).version
    run = materialize(demo_pipeline, "--select", selection)
    instance = demo_pipeline.instance()
    assert materialized_keys(instance, run.run_id) == {
        "marts/mart_feature_ranking",
        "publish/parquet_exports",
    }
    # The rebuilt mart was compared with the published snapshot (a new version; its file is
    # rewritten only if its rows changed) and exported.
    assert Manifest.load(store).version > before
    assert (demo_pipeline.exports / "mart_feature_ranking" / "data.parquet").exists()
    # Only the selected dbt model was built (its tests ran as checks).
    assert {e.asset_key.to_user_string() for e in check_evaluations(instance, run.run_id)} == {
        "marts/mart_feature_ranking"
    }


def copy_of(pipeline: DemoPipeline, root: Path) -> DemoPipeline:
    """The pipeline's state (warehouse, Dagster instance, outputs) under another home."""
    home = root / "home"
    shutil.copytree(pipeline.home, home, ignore=shutil.ignore_patterns("*.tmp"))
    env = {k: v.replace(str(pipeline.home), str(home)) for k, v in pipeline.env.items()}
    return DemoPipeline(home=home, pg=pipeline.pg, env=env)


def published_at(pipeline: DemoPipeline) -> tuple:
    with psycopg2.connect(pipeline.publish_url) as conn, conn.cursor() as cur:
        cur.execute("select max(published_at) from tokenlake._publish_info")
        in_postgres = cur.fetchone()[0]
    conn.close()
    in_file = scalar(pipeline.published_duckdb, "select max(published_at) from _publish_info")
    parquet = (pipeline.exports / "mart_feature_ranking" / "data.parquet").stat().st_mtime_ns
    return in_postgres, in_file, parquet


def test_a_failing_blocking_check_stops_publishing(demo_pipeline, tmp_path):
    pipeline = copy_of(demo_pipeline, tmp_path)
    before = published_at(pipeline)
    # A user's price row with a negative price: dbt's error-severity test on the price book fails.
    book = tmp_path / "my_prices.csv"
    shipped = (REPO / "seeds" / "price_book.csv").read_text().splitlines()
    bad = "openai,gpt-4o-mini,,2026-01-01,USD,-0.15,0.60,0.075,,,,,,0.5,test,typo"
    book.write_text("\n".join([shipped[0], bad]) + "\n")

    assert not pipeline.run(TOKENLAKE_PRICE_BOOK=str(book))
    instance = pipeline.instance()
    failed = latest_run(instance, "full_pipeline")
    assert failed.status == dg.DagsterRunStatus.FAILURE
    evaluations = check_evaluations(instance, failed.run_id)
    assert any(
        not e.passed and e.asset_key.to_user_string() == "staging/stg_seeds__price_book"
        for e in evaluations
    )
    assert not {k for k in materialized_keys(instance, failed.run_id) if k.startswith("publish/")}

    # "Publish only" afterwards is refused by the gate, naming the failing check.
    assert not pipeline.run("publish_only", TOKENLAKE_PRICE_BOOK=str(book))
    refused = latest_run(instance, "publish_only")
    assert refused.status == dg.DagsterRunStatus.FAILURE
    failures = [
        e.dagster_event.step_failure_data.error.message
        for e in instance.all_logs(refused.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    ]
    assert failures and all("prices_are_not_negative" in message for message in failures)
    assert published_at(pipeline) == before

    # Fixed price book: the build passes and publishing resumes.
    book.write_text("\n".join([shipped[0], bad.replace("-0.15", "0.15")]) + "\n")
    assert pipeline.run(TOKENLAKE_PRICE_BOOK=str(book))
    assert published_at(pipeline)[1] > before[1]


def test_runs_and_events_stored_in_postgres_when_dagster_pg_url_is_set(demo_pipeline, tmp_path):
    storage_url = create_database(demo_pipeline.pg, "dagster_storage")
    home = tmp_path / "home"
    with demo_pipeline.environment():
        env = dict(os.environ)
    env.update(
        TOKENLAKE_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        DAGSTER_PG_URL=storage_url,
        TOKENLAKE_PUBLISHED_DUCKDB=str(tmp_path / "published.duckdb"),
        TOKENLAKE_EXPORTS_URL=str(tmp_path / "exports"),
    )  # the warehouse is still the demo pipeline's (TOKENLAKE_WAREHOUSE), read-only here
    result = subprocess.run(
        [str(BIN / "tokenlake"), "run", "--job", "publish_only"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    run_id = result.stdout.rsplit("(run ", 1)[1].split(")")[0]

    with psycopg2.connect(storage_url) as conn, conn.cursor() as cur:
        cur.execute("select pipeline_name, status from runs where run_id = %s", (run_id,))
        assert cur.fetchone() == ("publish_only", "SUCCESS")
        cur.execute(
            "select count(*) from event_logs where run_id = %s and dagster_event_type = %s",
            (run_id, "ASSET_MATERIALIZATION"),
        )
        assert cur.fetchone()[0] == 3
    conn.close()
    # Nothing went to local SQLite storage, and the instance file names the variable only.
    assert not (home / "dagster" / "history").exists()
    written = (home / "dagster" / "dagster.yaml").read_text()
    assert "env: DAGSTER_PG_URL" in written and demo_pipeline.pg.password not in written


def test_dagster_cli_backfills_a_date_range_of_provider_partitions(demo_pipeline):
    from orchestration.definitions import defs

    openai = sorted(
        k.to_user_string()
        for k in defs.resolve_job_def("sync_provider_usage").asset_layer.executable_asset_keys
        if k.path[-1].startswith("openai_")
    )
    assert len(openai) == 9
    run = materialize(
        demo_pipeline, "--select", ",".join(openai), "--partition-range", "2026-11-01...2026-11-05"
    )
    instance = demo_pipeline.instance()
    assert run.tags["dagster/asset_partition_range_start"] == "2026-11-01"
    assert run.tags["dagster/asset_partition_range_end"] == "2026-11-05"
    partitions = {
        (e.dagster_event.asset_key.to_user_string(), e.dagster_event.partition)
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    }
    days = [f"2026-11-0{d}" for d in range(1, 6)]
    assert partitions == {(key, day) for key in openai for day in days}


def test_full_refresh_job_rebuilds_incremental_models_to_the_same_totals(demo_pipeline):
    totals = "select count(*), sum(total_cost), sum(input_tokens), sum(output_tokens) from marts.{}"
    before = {t: scalar_row(demo_pipeline.warehouse, totals.format(t)) for t in ROLLED_UP}
    assert demo_pipeline.run("full_refresh")
    instance = demo_pipeline.instance()
    run = latest_run(instance, "full_refresh")
    commands = [
        e.user_message
        for e in instance.all_logs(run.run_id)
        if "Running dbt command" in (e.user_message or "")
    ]
    assert commands and all("--full-refresh" in c for c in commands)
    after = {t: scalar_row(demo_pipeline.warehouse, totals.format(t)) for t in ROLLED_UP}
    assert after == before


ROLLED_UP = ("fct_llm_attempts", "agg_usage_hourly", "agg_usage_daily")


def scalar_row(path: Path, sql: str) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()


def test_dagster_cli_backfill_rebuilds_the_days_of_a_daily_mart(demo_pipeline):
    """Days lost from a daily-partitioned mart come back from a backfill of their partitions."""
    days = ("2026-11-10", "2026-11-12")  # the range ... is inclusive: three days
    recompute = (
        "select usage_date, provider, model, sum(cache_savings) from marts.agg_usage_daily "
        "where usage_date between ? and ? group by all order by all"
    )
    mart = (
        "select usage_date, provider, model, estimated_savings from marts.mart_cache_savings "
        "where usage_date between ? and ? order by all"
    )
    with duckdb.connect(str(demo_pipeline.warehouse)) as con:
        expected = con.execute(recompute, list(days)).fetchall()
        assert expected and con.execute(mart, list(days)).fetchall() == expected
        con.execute("delete from marts.mart_cache_savings where usage_date between ? and ?", days)
        untouched = con.execute("select count(*) from marts.mart_cache_savings").fetchone()
    run = materialize(
        demo_pipeline, "--select", "marts/mart_cache_savings", "--partition-range", "...".join(days)
    )
    with duckdb.connect(str(demo_pipeline.warehouse), read_only=True) as con:
        assert con.execute(mart, list(days)).fetchall() == expected
        restored = con.execute("select count(*) from marts.mart_cache_savings").fetchone()
    assert restored[0] == untouched[0] + len(expected)
    instance = demo_pipeline.instance()
    partitions = {
        e.dagster_event.partition
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    }
    assert partitions == {"2026-11-10", "2026-11-11", "2026-11-12"}
