"""The one Dagster `Definitions` of tokenlake: each domain under defs/ contributes its assets,
checks, sensors and resources; defs/jobs.py every job and schedule; one settings resource
(defs/resources.py) gives them all the configuration."""

import dagster as dg

from orchestration.defs.alerting import definitions as alerting
from orchestration.defs.analytics import definitions as analytics
from orchestration.defs.dbt import definitions as dbt
from orchestration.defs.jobs import JOBS, SCHEDULES
from orchestration.defs.price_book import definitions as price_book
from orchestration.defs.provider_usage import definitions as provider_usage
from orchestration.defs.publish import definitions as publish
from orchestration.defs.resources import settings_resource
from orchestration.defs.usage_logs import definitions as usage_logs
from orchestration.settings import Settings

# Read at load only to choose the executor; runs, sensors and schedules read their settings
# through the settings resource when they start.
settings = Settings.from_env()

defs = dg.Definitions.merge(
    usage_logs.definitions(),
    provider_usage.definitions(),
    price_book.definitions(),
    dbt.definitions(),
    analytics.definitions(),
    alerting.definitions(),
    publish.definitions(),
    dg.Definitions(
        jobs=JOBS,
        schedules=SCHEDULES,
        resources={"settings": settings_resource},
        # On the DuckDB file every step that touches the warehouse is in pool `warehouse` (one
        # writer), so a process per step buys no parallelism and costs each step 5-15 s of
        # start-up: runs launched from the UI, schedules and sensors execute their steps in the
        # run's own process, as `tokenlake run` does. A server warehouse keeps a process per step.
        executor=dg.in_process_executor if settings.is_duckdb else dg.multiprocess_executor,
    ),
)
