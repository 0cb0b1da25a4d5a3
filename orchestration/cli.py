"""The `tokenlake` command.

tokenlake run              the whole pipeline once, headless (cron, CI, scripts)
tokenlake demo             demo data -> whole pipeline -> Dagster UI on 127.0.0.1:3000
tokenlake generate-demo    only write demo log files
tokenlake digest           the daily (or --period weekly) spend digest, sent now
tokenlake dbt ARGS...      dbt on the configured warehouse (e.g. `tokenlake dbt build`)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from orchestration.dagster_instance import write_dagster_yaml
from orchestration.preflight import check_configuration
from orchestration.settings import (
    DAGSTER_UI_URL,
    DBT_PROJECT_DIR,
    REPO_ROOT,
    ConfigError,
    Settings,
    redact_url,
)
from orchestration.supervisor import EXIT_WAREHOUSE_BUSY, supervise

DEFAULT_DEMO_EVENTS = 200_000


def _prepare_environment(settings: Settings) -> None:
    """State folders, DAGSTER_HOME with our dagster.yaml, and the variables child tools read."""
    settings.home.mkdir(parents=True, exist_ok=True)
    write_dagster_yaml(settings.dagster_home)
    for name, value in settings.export_for_tools().items():
        os.environ.setdefault(name, value)
    ensure_dbt_manifest()


def ensure_dbt_manifest() -> Path:
    """Dagster reads dbt's manifest at import: prepare it once if the set-up has not."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        print("preparing the dbt manifest (dbt parse) ...", flush=True)
        dbt = str(Path(sys.executable).with_name("dbt"))
        subprocess.run(
            [
                dbt,
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


# Jobs run every hour: their once-a-day marts are left out once built that day (cadence.py).
HOURLY_JOBS = ("full_pipeline", "hourly_incremental")


def run_pipeline(
    settings: Settings,
    job_name: str = "full_pipeline",
    run_config: dict | None = None,
    daily: bool = False,
) -> bool:
    """Materialise every asset once, in this process, recorded in the Dagster instance.
    `daily`: build the once-a-day marts even if they were built today."""
    _prepare_environment(settings)
    from dagster import AssetCheckSeverity, DagsterInstance

    from orchestration.definitions import defs
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
            from orchestration.defs.warehouse.cadence import hourly_run

            selection, cadence_tags = hourly_run(instance, job.asset_layer.selected_asset_keys)
            if daily:
                selection = None
            tags.update(cadence_tags)
            print(
                "tokenlake: once-a-day marts "
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
    from orchestration.alerts.model import Alert
    from orchestration.alerts.notifier import Notifier, deliver_pending
    from orchestration.alerts.outbox import Outbox

    outbox = Outbox(settings.alerts_db)
    if failed_run_id:
        outbox.add(Alert(
            kind="run_failure", severity="critical", title=f"Run failed: {job_name}",
            summary=f"tokenlake run: job {job_name} failed (run {failed_run_id[:8]}).",
            dimension="job", value=job_name, window_start=None, window_end=None, observed=None,
            expected=None, cause="other", cause_detail="see the run in Dagster",
            link=f"{DAGSTER_UI_URL}/runs/{failed_run_id}",
            dedup_key=f"run_failure|{failed_run_id}",
        ))  # fmt: skip
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


def ensure_demo_data(settings: Settings, events: int) -> None:
    """Write demo logs unless they exist (demo data lives at $TOKENLAKE_HOME/demo)."""
    from ingestion.demo import generate
    from ingestion.demo.generator import PROVIDER_API_DIR
    from ingestion.demo.provider_ledger import LEDGER_FILE

    ledger = settings.demo_dir / PROVIDER_API_DIR / LEDGER_FILE
    if (settings.demo_dir / "manifest.json").exists() and ledger.exists():
        print(f"tokenlake: demo data already at {settings.demo_dir}", flush=True)
        return
    if settings.demo_dir.exists():  # from an older version, without the providers' view
        shutil.rmtree(settings.demo_dir)
    print(
        f"tokenlake: generating ~{events:,} demo events under {settings.demo_dir} ...", flush=True
    )
    manifest = generate(settings.demo_dir, events)
    print(f"tokenlake: wrote {manifest.events:,} events in {manifest.files:,} files", flush=True)


DEMO_OPENAI_KEY = "demo-openai-admin-key"  # the local demo API's keys, not secrets
DEMO_ANTHROPIC_KEY = "demo-anthropic-admin-key"


def start_demo_provider_api(settings: Settings):  # -> ProviderAPIServer
    """Serve the demo's provider usage/cost API on loopback and point the sources at it.

    The sources are configured exactly as a user would (`*_API_BASE`, `*_ADMIN_KEY`): only the
    addresses differ. The server lives as long as this process (and the UI it starts).
    """
    from ingestion.demo.generator import PROVIDER_API_DIR
    from ingestion.demo.provider_api import ProviderAPIServer
    from ingestion.demo.provider_ledger import LEDGER_FILE

    server = ProviderAPIServer(
        settings.demo_dir / PROVIDER_API_DIR / LEDGER_FILE, DEMO_OPENAI_KEY, DEMO_ANTHROPIC_KEY
    ).start()
    os.environ.update(
        OPENAI_API_BASE=server.base_url,
        OPENAI_ADMIN_KEY=DEMO_OPENAI_KEY,
        ANTHROPIC_API_BASE=server.base_url,
        ANTHROPIC_ADMIN_KEY=DEMO_ANTHROPIC_KEY,
    )
    print(f"tokenlake: demo provider usage/cost API on {server.base_url}", flush=True)
    return server


def serve_ui(settings: Settings, host: str, port: int) -> int:
    """Start `dagster dev` on the tokenlake code location (blocks until stopped)."""
    _prepare_environment(settings)
    cmd = [
        sys.executable, "-m", "dagster", "dev",
        "-m", "orchestration.definitions",
        "-h", host, "-p", str(port),
    ]  # fmt: skip
    print(f"tokenlake: Dagster UI on http://{host}:{port}  (Ctrl-C to stop)", flush=True)
    # dagster-dbt calls `dbt` by name while preparing the project: put this venv first on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.call(cmd, cwd=REPO_ROOT, env={**os.environ, "PATH": path})


def dbt_command(settings: Settings, args: list[str]) -> int:
    """dbt with this project, its profiles and the warehouse's target and connection variables."""
    env = {**os.environ, **settings.export_for_tools()}
    dbt = str(Path(sys.executable).with_name("dbt"))
    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    return subprocess.call([dbt, *args, *(project if args else [])], env=env)


def import_prices_command(
    settings: Settings, source: str | None, into: Path | None, effective_from: str | None
) -> int:
    from datetime import date

    from ingestion.price_book.litellm import LITELLM_URL, import_prices

    target = into or settings.price_book
    if target is None:
        print(
            "tokenlake: give --into or set TOKENLAKE_PRICE_BOOK (the CSV to append to)",
            file=sys.stderr,
        )
        return 2
    shipped = REPO_ROOT / "seeds" / "price_book.csv"
    when = date.fromisoformat(effective_from) if effective_from else None
    result = import_prices(
        source or LITELLM_URL, target, [shipped] if target.resolve() != shipped else [], when
    )
    for row in result.appended:
        tier = row["service_tier"] or "standard"
        print(f"  + {row['provider']} {row['model_pattern']} [{tier}] from {row['effective_from']}: "
              f"in {row['input_per_mtok']} out {row['output_per_mtok']} per Mtok")  # fmt: skip
    print(
        f"tokenlake: {result.models_seen} models read, {len(result.appended)} price versions appended to {target}"
    )
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="tokenlake", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the traceback of a configuration error"
    )
    run = sub.add_parser("run", help="run the whole pipeline once, headless", parents=[common])
    run.add_argument("--job", default="full_pipeline", help="job to run (default: full_pipeline)")
    run.add_argument(
        "--daily",
        action="store_true",
        help="also rebuild the once-a-day marts (rankings, FOCUS, chargeback) if built today",
    )
    run.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    demo = sub.add_parser(
        "demo", help="generate demo data, run the pipeline, start the UI", parents=[common]
    )
    demo.add_argument("--events", type=int, default=DEFAULT_DEMO_EVENTS)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=3000)
    demo.add_argument("--no-ui", action="store_true", help="stop after the pipeline run")
    imp = sub.add_parser(
        "import-prices",
        help="append changed prices from LiteLLM's price file to a price book",
        parents=[common],
    )
    imp.add_argument(
        "--from",
        dest="source",
        default=None,
        help="path or URL of model_prices_and_context_window.json",
    )
    imp.add_argument(
        "--into", type=Path, help="price-book CSV to append to (default: $TOKENLAKE_PRICE_BOOK)"
    )
    imp.add_argument(
        "--effective-from", help="YYYY-MM-DD the imported prices apply from (default: today)"
    )
    digest = sub.add_parser(
        "digest", help="build and send the spend digest now (cron users)", parents=[common]
    )
    digest.add_argument("--period", choices=("daily", "weekly"), default="daily")
    dbt = sub.add_parser("dbt", help="run dbt on the configured warehouse", add_help=False)
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    gen = sub.add_parser("generate-demo", help="only write demo log files", parents=[common])
    gen.add_argument("--events", type=int, default=DEFAULT_DEMO_EVENTS)
    gen.add_argument("--out", type=Path, help="default: $TOKENLAKE_HOME/demo")
    args = parser.parse_args(argv)

    try:
        sys.exit(_dispatch(args))
    except ConfigError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"tokenlake: {exc}", file=sys.stderr)
        sys.exit(2)


def _dispatch(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.command == "run":
        if args.in_process:  # the child of the supervisor below
            return run_in_process(settings, args.job, args.daily)
        check_configuration(settings)
        _prepare_environment(settings)
        child = [sys.executable, "-m", "orchestration.cli", "run", "--job", args.job]
        child += ["--in-process", *(["--debug"] if args.debug else [])]
        child += ["--daily"] if args.daily else []
        return supervise(
            child, settings.stop_grace_seconds, lambda: recover_runs_of_dead_processes(settings)
        )
    if args.command == "digest":
        config = {"ops": {"analytics__digest": {"config": {"period": args.period}}}}
        return 0 if run_pipeline(settings, "digest", config) else 1
    if args.command == "dbt":
        return dbt_command(settings, args.dbt_args)
    if args.command == "import-prices":
        return import_prices_command(settings, args.source, args.into, args.effective_from)
    if args.command == "generate-demo":
        from ingestion.demo import generate

        manifest = generate(args.out or settings.demo_dir, args.events)
        print(f"wrote {manifest.events:,} events in {manifest.files:,} files")
        return 0
    if args.command == "demo":
        server = None
        if "TOKENLAKE_LOGS_URL" not in os.environ:
            from ingestion.demo.generator import DEMO_CUSTOM_DIMENSIONS

            # The demo's request metadata as dimensions, unless the user chose their own.
            os.environ.setdefault("TOKENLAKE_CUSTOM_DIMENSIONS", DEMO_CUSTOM_DIMENSIONS)
            ensure_demo_data(settings, args.events)
            server = start_demo_provider_api(settings)
            settings = Settings.from_env()
        try:
            if not run_pipeline(settings):
                return 1
            if not args.no_ui:
                return serve_ui(settings, args.host, args.port)
        finally:
            if server is not None:
                server.stop()
    return 0


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

    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        recover_dead_runs(instance)


if __name__ == "__main__":
    main()
