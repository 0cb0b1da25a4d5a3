"""Usage logs: the dlt asset, its checks and the new-file sensor."""

import dagster as dg

from orchestration.defs.jobs import ingest_logs_job
from orchestration.defs.resources import dlt_resource
from orchestration.defs.usage_logs.assets import log_files, usage_logs_assets
from orchestration.defs.usage_logs.checks import (
    every_record_accounted_for,
    quarantine_share_of_last_load,
    quarantined_records,
)
from orchestration.defs.usage_logs.sensors import build_new_log_files_sensor


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[log_files, usage_logs_assets],
        asset_checks=[
            every_record_accounted_for,
            quarantined_records,
            quarantine_share_of_last_load,
        ],
        sensors=[build_new_log_files_sensor(ingest_logs_job)],
        resources={"dlt": dlt_resource},
    )
