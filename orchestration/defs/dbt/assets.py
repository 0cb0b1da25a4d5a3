"""dbt models (staging -> intermediate -> marts) as Dagster assets; dbt tests as asset checks."""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration import warehouse
from orchestration.defs.dbt.dbt_cli import environment, reused_parse, streamed_to_the_end
from orchestration.defs.dbt.project import dbt_project
from orchestration.defs.partitions import DAILY
from orchestration.settings import DBT_BUILD_ARGS, Settings


class TokenlakeDbtTranslator(DagsterDbtTranslator):
    """Keys mirror warehouse schemas (raw/…, staging/…, marts/…) so the lineage reads as layers."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # raw/<table> is the key of the dlt asset that loads it.
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        layer = dbt_resource_props["config"].get("schema") or "main"
        return dg.AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["config"].get("schema") or "warehouse"


# A run with this tag ("true") rebuilds incremental models from scratch (`dbt --full-refresh`):
# the full_refresh job sets it; it can be added to any launch in the UI.
FULL_REFRESH_TAG = "tokenlake/full_refresh"


def _full_refresh(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(FULL_REFRESH_TAG) == "true"


def _environment(context: dg.AssetExecutionContext, settings: Settings) -> dict[str, str]:
    """What the dbt subprocess reads: the warehouse (profiles.yml) and the run's test scope."""
    return {**settings.export_for_tools(), **_test_scope(context, settings)}


# A build of a whole history of at least this many events runs one model at a time: each big
# model uses every core and DuckDB's whole memory limit, and two side by side spilled (10 M
# events: the big models took 172 s on two threads, 144 s on one). Smaller builds and hourly
# runs keep the profile's two threads, which overlap the small models (1 M: 2 s faster).
ONE_THREAD_BUILD_EVENTS = 3_000_000


def _build_args(context: dg.AssetExecutionContext, settings: Settings) -> list[str]:
    args = [*DBT_BUILD_ARGS, "--full-refresh"] if _full_refresh(context) else list(DBT_BUILD_ARGS)
    if not settings.is_duckdb:  # other engines: their profile's threads
        return args
    whole_history = _full_refresh(context) or not _priced_before(settings)
    if whole_history and _raw_events(settings) >= ONE_THREAD_BUILD_EVENTS:
        args += ["--threads", "1"]
    return args


def _priced_before(settings: Settings) -> bool:
    """Whether the warehouse has priced attempts, i.e. dbt has built it before."""
    return warehouse.table_exists(settings, "intermediate", "int_attempts_priced")


def _raw_events(settings: Settings) -> int:
    """The loaded events (DuckDB's row count of raw.usage_events, read from its catalog)."""
    rows = warehouse.query(
        settings,
        "select estimated_size from duckdb_tables() "
        "where schema_name = 'raw' and table_name = 'usage_events'",
    )
    return int(rows[0][0]) if rows else 0


# A run with this tag ("all" or "changed") sets its dbt tests' scope, over the setting: the first
# run of the day tests every row (cadence.py).
TEST_SCOPE_TAG = "tokenlake/dbt_test_scope"


def _test_scope(context: dg.AssetExecutionContext, settings: Settings) -> dict[str, str]:
    """Which rows the run's dbt tests check (dbt_project/macros/test_scope.sql), and which tests
    run: with `buildable` indirect selection, a test runs when each model it reads is built in the
    run or upstream of one that is; a run that leaves the once-a-day marts out (cadence.py) skips
    the tests that compare them with the hour's rows, which they would fail until rebuilt."""
    scope = settings.dbt_test_environment()
    tagged = context.run.tags.get(TEST_SCOPE_TAG)
    if tagged in ("all", "changed"):
        scope = {name: tagged for name in scope}
    return {**scope, "DBT_INDIRECT_SELECTION": "buildable"}


def _run_target(
    context: dg.AssetExecutionContext, settings: Settings, *parts: str
) -> tuple[Any, Any]:
    """The run's own artifact folder (logs, run results) and the parse cache shared by runs."""
    dbt_home = settings.home / "dbt"
    return dbt_home.joinpath("runs", context.run_id, *parts), dbt_home / "partial_parse.msgpack"


TRANSLATOR = TokenlakeDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
# Day-grain marts that are partitioned by day: a run rebuilds the days of its partition range.
DAILY_PARTITIONED = "tag:daily_partitioned"
# The run's days as the daily_partition_filter macro reads them (a user's backfill: --vars).
PARTITION_START_VARIABLE = "TOKENLAKE_PARTITION_START"
PARTITION_END_VARIABLE = "TOKENLAKE_PARTITION_END"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    exclude=DAILY_PARTITIONED,
    pool="warehouse",
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: dg.ResourceParam[Settings]
) -> Iterator[Any]:
    # Each run's dbt artifacts (logs, run results) go to the state folder, not the source tree.
    target, parse_cache = _run_target(context, settings)
    args = _build_args(context, settings)
    with reused_parse(target, parse_cache), environment(_environment(context, settings)):
        yield from streamed_to_the_end(dbt.cli(args, context=context, target_path=target))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    select=DAILY_PARTITIONED,
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse",
    name="dbt_daily_marts",
)
def dbt_daily_marts(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: dg.ResourceParam[Settings]
) -> Iterator[Any]:
    """The daily marts for the run's days (a range in one dbt run), plus any re-priced days."""
    start, end = context.partition_time_window
    target, parse_cache = _run_target(context, settings, "daily")
    days = {
        PARTITION_START_VARIABLE: start.date().isoformat(),
        PARTITION_END_VARIABLE: end.date().isoformat(),
    }
    args = _build_args(context, settings)
    with (
        reused_parse(target, parse_cache),
        environment({**days, **_environment(context, settings)}),
    ):
        yield from streamed_to_the_end(dbt.cli(args, context=context, target_path=target))
