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
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from orchestration import dbt_standby
from orchestration.headless import (
    prepare_state,
    recover_runs_of_dead_processes,
    run_in_process,
    run_pipeline,
)
from orchestration.preflight import check_configuration
from orchestration.quick_exit import run_then_quick_exit
from orchestration.settings import (
    DBT_EXECUTABLE,
    DBT_PROJECT_DIR,
    REPO_ROOT,
    SHIPPED_PRICE_BOOK,
    ConfigError,
    Settings,
)
from orchestration.supervisor import supervise

DEFAULT_DEMO_EVENTS = 200_000


def serve_ui(settings: Settings, host: str, port: int) -> int:
    """Start `dagster dev` on the tokenlake code location (blocks until stopped)."""
    prepare_state(settings)
    cmd = [
        sys.executable, "-m", "dagster", "dev",
        "-m", "orchestration.definitions",
        "-h", host, "-p", str(port),
    ]  # fmt: skip
    print(f"tokenlake: Dagster UI on http://{host}:{port}  (Ctrl-C to stop)", flush=True)
    # dagster-dbt calls `dbt` by name while preparing the project: put this venv first on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, **settings.export_for_tools(), "PATH": path}
    return subprocess.call(cmd, cwd=REPO_ROOT, env=env)


def dbt_command(settings: Settings, args: list[str]) -> int:
    """dbt with this project, its profiles and the warehouse's target and connection variables."""
    env = {**os.environ, **settings.export_for_tools()}
    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    return subprocess.call([DBT_EXECUTABLE, *args, *(project if args else [])], env=env)


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
    shipped = SHIPPED_PRICE_BOOK
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
        help="also rebuild the once-a-day work (rankings, FOCUS, chargeback, day-partitioned marts, "
        "forecast) if built today",
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
    if args.command == "run" and args.in_process:
        # The supervisor's child. Its dbt step's process is started now and imports dbt while
        # this one imports Dagster (dbt_standby.py). The run is recorded and every connection
        # closed when it returns, so the interpreter's clean-up (about a second) is skipped.
        dbt_standby.start()
        run_then_quick_exit(lambda: _main(args))
    _main(args)


def _main(args: argparse.Namespace) -> None:
    try:
        sys.exit(_dispatch(args))
    except ConfigError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"tokenlake: {exc}", file=sys.stderr)
        sys.exit(2)


def _dispatch(args: argparse.Namespace) -> int:
    demo_logs = args.command == "demo" and "TOKENLAKE_LOGS_URL" not in os.environ
    if demo_logs:
        from demo.generator import DEMO_CUSTOM_DIMENSIONS

        # The demo's request metadata as dimensions, unless the user chose their own.
        os.environ.setdefault("TOKENLAKE_CUSTOM_DIMENSIONS", DEMO_CUSTOM_DIMENSIONS)
    settings = Settings.from_env()
    if args.command == "run":
        if args.in_process:  # the child of the supervisor below
            # Checked here, not in the supervisor: it imports what the run imports anyway.
            check_configuration(settings)
            return run_in_process(settings, args.job, args.daily)
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
        from demo import generate

        manifest = generate(args.out or settings.demo_dir, args.events)
        print(f"wrote {manifest.events:,} events in {manifest.files:,} files")
        return 0
    if args.command == "demo":
        return demo_command(settings, args, demo_logs)
    return 0


def demo_command(settings: Settings, args: argparse.Namespace, demo_logs: bool) -> int:
    """The demo's data and provider API (unless TOKENLAKE_LOGS_URL names real logs), one run of
    the pipeline, then the UI."""
    server = None
    if demo_logs:
        from demo.services import ensure_demo_data, start_demo_provider_api

        ensure_demo_data(settings.demo_dir, args.events)
        server, variables = start_demo_provider_api(settings.demo_dir)
        # This process's runs and the UI it starts read the sources' settings from here.
        os.environ.update(variables)
        settings = replace(
            settings,
            openai_api_base=variables["OPENAI_API_BASE"],
            openai_admin_key=variables["OPENAI_ADMIN_KEY"],
            anthropic_api_base=variables["ANTHROPIC_API_BASE"],
            anthropic_admin_key=variables["ANTHROPIC_ADMIN_KEY"],
        )
    try:
        if not run_pipeline(settings):
            return 1
        if not args.no_ui:
            return serve_ui(settings, args.host, args.port)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    main()
