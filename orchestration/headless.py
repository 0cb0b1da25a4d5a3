"""`tokenlake run`: one job executed in this process and recorded in the Dagster instance, the
alerts the sensors would send delivered at the end (nothing else runs when cron calls it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from orchestration.dagster_instance import write_dagster_yaml
from orchestration.settings import (
    DAGSTER_UI_URL,
    DBT_EXECUTABLE,
    DBT_PROJECT_DIR,
    Settings,
    redact_url,
)
from orchestration.supervisor import EXIT_WAREHOUSE_BUSY


def prepare_state(settings: Settings) -> None:
    """State folders, the Dagster instance folder with our dagster.yaml, and dbt's manifest."""
    settings.home.mkdir(parents=True, exist_ok=True)
    write_dagster_yaml(settings.dagster_home)
    # Dagster's own variable: the instance this process and its children record runs in.
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    ensure_dbt_manifest()


def ensure_dbt_manifest() -> Path:
    """Dagster reads dbt's manifest at import: prepare it once if the set-up has not."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        print("preparing the dbt manifest (dbt parse) ...", flush=True)
        subprocess.run(
            [
                DBT_EXECUTABLE,
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
            ],
            check=True,
        )
    return manifest


def run_pipeline(
    settings: Settings,
    job_name: str = "full_pipeline",
    run_config: dict | None = None,
    daily: bool = False,
) -> bool:
    """Materialise every asset once, in this process, recorded in the Dagster instance.
    `daily`: build the once-a-day work (marts, forecast, budgets) even if built today."""
    prepare_state(settings)
    from dagster import AssetCheckSeverity, DagsterInstance

    from orchestration.definitions import defs
    from orchestration.defs.jobs import HOURLY_JOBS
    from orchestration.run_guard import Heartbeat, owner_tags, wait_for_warehouse

    started = time.perf_counter()
    job = defs.resolve_job_def(job_name)
    tags: dict[str, str] = {}
    days = ""
    if job.partitions_def is not None:
        from orchestration.provider_sync import partition_range_tags, provider_sync_window

        window = provider_sync_window(settings)
        tags = partition_range_tags(window)
        first, last = window.days
        days = f", provider days {first} .. {last}"
    print(
        f"tokenlake: running {job_name} (warehouse {settings.warehouse_label()}, "
        f"logs {redact_url(settings.logs_url)}{days})",
        flush=True,
    )
    with DagsterInstance.get() as instance:
        if settings.is_duckdb:  # only the DuckDB file's writers share a pool
            wait_for_warehouse(instance, settings.warehouse_wait_seconds)
        selection = None
        if job_name in HOURLY_JOBS:
            from orchestration.defs.cadence import hourly_run

            selection, cadence_tags = hourly_run(
                instance,
                job.asset_layer.selected_asset_keys,
                providers_configured=settings.providers_configured,
            )
            if daily:
                selection = None
            tags.update(cadence_tags)
            print(
                "tokenlake: once-a-day work (daily marts, forecast, budgets) "
                + ("left out (built today; --daily builds them)" if selection else "included"),
                flush=True,
            )
        run_id = str(uuid.uuid4())  # known before the run starts: the heartbeat tags it
        with Heartbeat(instance, run_id, settings.warehouse_wait_seconds):
            result = job.execute_in_process(
                run_config=run_config,
                asset_selection=selection,
                instance=instance,
                raise_on_error=False,
                tags={**tags, **owner_tags()},
                run_id=run_id,
            )
    elapsed = time.perf_counter() - started
    failed_checks = [
        f"{c.asset_key.to_user_string()}:{c.check_name}"
        for c in result.get_asset_check_evaluations()
        if not c.passed and c.severity == AssetCheckSeverity.ERROR
    ]
    deliver_alerts(settings, job_name, None if result.success else result.run_id)
    if result.success and failed_checks:
        # The data is not right even though every step ran: say so, and exit non-zero.
        print(
            f"tokenlake: {job_name} ran in {elapsed:.1f}s but checks FAILED: "
            f"{', '.join(failed_checks)} (run {result.run_id})",
            file=sys.stderr,
        )
        return False
    if result.success:
        print(
            f"tokenlake: {job_name} succeeded in {elapsed:.1f}s (run {result.run_id})", flush=True
        )
    else:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(
            f"tokenlake: {job_name} FAILED after {elapsed:.1f}s in {', '.join(failed) or 'the run'}",
            file=sys.stderr,
        )
    return result.success


def deliver_alerts(settings: Settings, job_name: str, failed_run_id: str | None) -> None:
    """What the sensors do in `dagster dev`, done at the end of a headless run: a failed run
    becomes an alert, and every pending alert is sent to TOKENLAKE_WEBHOOK_URL."""
    from orchestration.alerts.email import EmailSender
    from orchestration.alerts.model import run_failure_alert
    from orchestration.alerts.notifier import Notifier, deliver_pending
    from orchestration.alerts.outbox import Outbox

    outbox = Outbox(settings.alerts_db)
    if failed_run_id:
        outbox.add(
            run_failure_alert(
                job_name,
                failed_run_id,
                summary=f"tokenlake run: job {job_name} failed (run {failed_run_id[:8]}).",
                detail="see the run in Dagster",
                link=f"{DAGSTER_UI_URL}/runs/{failed_run_id}",
            )
        )
    email = EmailSender.from_settings(settings)
    if not settings.webhook_url and email is None:
        pending = outbox.counts().get("pending", 0)
        if pending:
            print(
                f"tokenlake: {pending} alert(s) pending; set TOKENLAKE_WEBHOOK_URL to receive them"
            )
        return
    notifier = Notifier.from_settings(settings)
    report = deliver_pending(outbox, notifier, email=email)
    receivers = ", ".join(r.receiver for r in (notifier, email) if r is not None)
    print(
        f"tokenlake: alerts to {receivers}: {report.delivered} delivered, "
        f"{report.suppressed} suppressed (cool-down), {report.failed + report.deferred} kept "
        f"pending{' (' + report.errors[0] + ')' if report.errors else ''}",
        flush=True,
    )


def run_in_process(settings: Settings, job_name: str, daily: bool = False) -> int:
    """The job in this process: 0 succeeded, 1 failed, 3 the warehouse stayed busy."""
    from orchestration.run_guard import WarehouseBusy

    try:
        return 0 if run_pipeline(settings, job_name, daily=daily) else 1
    except WarehouseBusy as exc:
        print(f"tokenlake: {exc}", file=sys.stderr, flush=True)
        return EXIT_WAREHOUSE_BUSY


def recover_runs_of_dead_processes(settings: Settings) -> None:
    """After the run's process was killed: its run marked failed, its pool slots freed."""
    from dagster import DagsterInstance

    from orchestration.run_guard import recover_dead_runs

    if not (settings.dagster_home / "dagster.yaml").exists():  # the run never got that far
        return
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        recover_dead_runs(instance)
