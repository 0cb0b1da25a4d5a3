"""A sensor that starts log ingestion when files under TOKENLAKE_LOGS_URL appear or change."""

import dagster as dg

from orchestration.defs.usage_logs.fingerprint import ingested_fingerprint, logs_fingerprint
from orchestration.settings import Settings


def build_new_log_files_sensor(job: "dg.JobDefinition") -> dg.SensorDefinition:
    @dg.sensor(
        name="new_log_files",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts log ingestion when files under TOKENLAKE_LOGS_URL are added or changed.",
    )
    def new_log_files(
        context: dg.SensorEvaluationContext, settings: dg.ResourceParam[Settings]
    ) -> dg.SensorResult | dg.SkipReason:
        fingerprint, count = logs_fingerprint(settings.logs_url)
        if count == 0:
            return dg.SkipReason("no log files found under TOKENLAKE_LOGS_URL")
        if fingerprint == context.cursor:
            return dg.SkipReason(f"no new or changed files ({count} files)")
        if fingerprint == ingested_fingerprint(settings):  # e.g. `tokenlake run` read them
            return dg.SensorResult(
                skip_reason=f"every file was ingested already ({count} files)", cursor=fingerprint
            )
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=fingerprint, tags={"tokenlake/log_files": str(count)})
            ],
            cursor=fingerprint,
        )

    return new_log_files
