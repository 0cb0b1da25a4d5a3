"""Which days an unattended run (`tokenlake run`, a schedule) reads from the providers' APIs.

From the earliest `last complete bucket` over the configured providers (dlt state, restored
from the warehouse when the local folder is gone) minus the look-back, through today; the
configured history on the first sync. Providers without a key do not widen the range.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingestion.provider_usage import Window, cursor_of, sync_window
from orchestration import warehouse
from orchestration.settings import Settings

PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def provider_sync_window(settings: Settings, now: datetime | None = None) -> Window:
    from orchestration.providers import PROVIDERS

    moment = now or datetime.now(UTC)
    windows = []
    for provider in PROVIDERS:
        if not provider.key(settings):
            continue
        cursor = None
        if settings.warehouse.exists() or not settings.is_duckdb:
            pipeline = warehouse.pipeline(provider.pipeline_name, settings)
            pipeline.sync_destination()  # local state may be gone; the warehouse keeps a copy
            cursor = cursor_of(pipeline, provider.pipeline_name)
        windows.append(
            sync_window(
                cursor, moment, settings.provider_lookback_days, settings.provider_history_days
            )
        )
    if not windows:  # no provider configured: today's partition (the assets skip at once)
        return sync_window(moment, moment, lookback_days=0)
    return Window(min(w.start for w in windows), max(w.end for w in windows))


def partition_range_tags(window: Window) -> dict[str, str]:
    first, last = window.days
    return {
        PARTITION_RANGE_START_TAG: first.isoformat(),
        PARTITION_RANGE_END_TAG: last.isoformat(),
    }
