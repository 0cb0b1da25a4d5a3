"""What an hourly run builds. dbt models tagged `daily` rebuild the whole history (or a window of
it: rankings, the FOCUS export, the chargeback) and change little in an hour; the day-grain
breakdowns partitioned by day (dbt_daily_marts: cache savings, key source, action type, custom
dimensions) show days, which an hour only starts; and the month-end forecast and the budgets it
feeds are a daily judgement. They are built by the first run of each UTC day, and by any run
that finds them not built since that day began (a machine that was off at midnight). Every
other run leaves them out, so that an hourly run costs what the new hour costs (one dbt
invocation, not two: ~3 s of dbt's start-up). That first run of the day also tests every row
(test scope `all`); the others test the rows they wrote.

The dbt models that read only the providers' reports (their staging views and daily usage) are
left out of those other runs too when no provider key is set: with no provider to read, nothing
new can reach them in an hour, and their 13 models and 26 tests were ~1 s of each hourly run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import dagster as dg

from orchestration.defs.analytics.assets import BUDGETS_KEY, FORECAST_KEY
from orchestration.defs.dbt.assets import TEST_SCOPE_TAG, dbt_daily_marts, dbt_models
from orchestration.defs.provider_usage.assets import provider_assets

DAILY_TAG = "daily"


def daily_mart_keys() -> frozenset[dg.AssetKey]:
    """The asset keys of the dbt models tagged `daily` (dagster-dbt carries dbt's tags) and of
    the day-partitioned marts."""
    tagged = {spec.key for spec in dbt_models.specs if DAILY_TAG in spec.tags}
    return frozenset(tagged | set(dbt_daily_marts.keys))


def daily_keys() -> frozenset[dg.AssetKey]:
    """Everything built once a day: the daily marts, the month-end forecast and the budgets."""
    return daily_mart_keys() | {FORECAST_KEY, BUDGETS_KEY}


def provider_fed_keys() -> frozenset[dg.AssetKey]:
    """The dbt models that read nothing but the providers' raw reports, directly or through
    each other (found from the dbt assets' dependencies)."""
    reports = {key for assets in provider_assets for key in assets.keys}
    models = {spec.key: {dep.asset_key for dep in spec.deps} for spec in dbt_models.specs}
    fed: set[dg.AssetKey] = set()
    while True:  # ends: each pass adds a model or stops
        added = {k for k, deps in models.items() if k not in fed and deps and deps <= reports | fed}
        if not added:
            return frozenset(fed)
        fed |= added


def daily_work_due(instance: dg.DagsterInstance, now: datetime | None = None) -> bool:
    """True when some daily asset has not been built since the start of the current UTC day."""
    now = now or datetime.now(UTC)
    day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for key in daily_keys():
        event = instance.get_latest_materialization_event(key)
        if event is None or event.timestamp < day_start.timestamp():
            return True
    return False


def hourly_run(
    instance: dg.DagsterInstance,
    job_keys: Iterable[dg.AssetKey],
    now: datetime | None = None,
    providers_configured: bool = True,
) -> tuple[list[dg.AssetKey] | None, dict[str, str]]:
    """The asset selection (None: the whole job) and run tags of a scheduled run of a job."""
    keys = set(job_keys)
    daily = daily_keys() & keys
    if not daily:
        return None, {}
    if daily_work_due(instance, now):
        return None, {TEST_SCOPE_TAG: "all"}
    left_out = daily if providers_configured else daily | provider_fed_keys()
    return sorted(keys - left_out, key=lambda k: k.to_user_string()), {}
