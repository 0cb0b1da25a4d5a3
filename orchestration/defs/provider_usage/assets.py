"""Provider usage and cost reports -> raw tables, one daily partition per UTC day.

A partition (or a range of them, run as one backfill) reads exactly its days from the
provider's admin API and merges them over what was stored, so a re-read replaces and a
backfill of months is one run. `tokenlake run` picks the range itself: from the last complete
bucket minus the look-back through today (`orchestration.provider_sync`).
"""

from collections.abc import Iterator

import dagster as dg
from dagster_dlt import DagsterDltResource

from ingestion.provider_usage import Window
from ingestion.provider_usage.endpoints import Endpoint
from orchestration import warehouse
from orchestration.defs.partitions import DAILY
from orchestration.defs.resources import RawTableTranslator
from orchestration.providers import ANTHROPIC, OPENAI, Provider
from orchestration.settings import Settings

DESCRIPTIONS = {
    "costs": "OpenAI's billed cost per day, project and line item (amount.value in USD).",
    "cost_report": "Anthropic's billed cost per day, workspace and description (amount in cents).",
    "messages": "Anthropic Messages usage per bucket, model, API key, workspace, tier, context window.",
}


def raw_key(endpoint: Endpoint) -> dg.AssetKey:
    return dg.AssetKey(["raw", endpoint.table])


def _specs(provider: Provider) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            raw_key(e),
            group_name="raw",
            kinds={"dlt", "duckdb"},
            partitions_def=DAILY,
            description=DESCRIPTIONS.get(
                e.name,
                f"{provider.title} `{e.path}` usage per bucket and group (every field kept).",
            )
            + f" Read from {provider.title}'s admin API with {provider.key_variable}.",
            metadata={"endpoint": e.path, "group_by": ", ".join(e.group_by)},
        )
        for e in provider.endpoints
    ]


def build_provider_assets(provider: Provider) -> dg.AssetsDefinition:
    @dg.multi_asset(
        specs=_specs(provider),
        name=f"{provider.name}_usage",
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="warehouse",
    )
    def _assets(
        context: dg.AssetExecutionContext,
        dlt: DagsterDltResource,
        settings: dg.ResourceParam[Settings],
    ) -> Iterator[dg.MaterializeResult]:
        key = provider.key(settings)
        if not key:
            context.log.warning(
                "%s is not set: skipping the %s usage and cost sync (set it to an organisation "
                "admin key to load the provider's own usage and billed cost).",
                provider.key_variable,
                provider.title,
            )
            for endpoint in provider.endpoints:
                yield dg.MaterializeResult(
                    asset_key=raw_key(endpoint),
                    metadata={"status": "skipped", "reason": f"{provider.key_variable} is not set"},
                )
            return
        start, end = context.partition_time_window
        window = Window(start, end)
        context.log.info(
            "%s: reading %s .. %s (%s buckets)",
            provider.title, start.isoformat(), end.isoformat(), settings.provider_bucket_width,
        )  # fmt: skip
        pipeline = warehouse.pipeline(provider.pipeline_name, settings)
        source = provider.source(
            provider.client(provider.api_base(settings), key),
            window,
            settings.provider_bucket_width,
        )
        for result in dlt.run(
            context=context,
            dlt_source=source,
            dlt_pipeline=pipeline,
            dagster_dlt_translator=RawTableTranslator(),
        ):
            yield dg.MaterializeResult(
                asset_key=result.asset_key,
                metadata={
                    **(result.metadata or {}),
                    "status": "loaded",
                    "window_start": start.isoformat(),
                    "window_end": end.isoformat(),
                },
            )

    return _assets


openai_usage_assets = build_provider_assets(OPENAI)
anthropic_usage_assets = build_provider_assets(ANTHROPIC)

provider_assets = [openai_usage_assets, anthropic_usage_assets]
