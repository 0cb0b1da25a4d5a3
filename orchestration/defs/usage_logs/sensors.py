"""A sensor that starts log ingestion when files under TOKENLAKE_LOGS_URL appear or change."""

import hashlib

import dagster as dg
import fsspec
from dlt.common.storages.fsspec_filesystem import glob_files

from ingestion.usage_logs.helpers import file_format, split_logs_url
from orchestration.settings import Settings


def logs_fingerprint(logs_url: str) -> tuple[str, int]:
    """A hash of every log file's (url, modification time, size), and how many files there are."""
    bucket_url, file_glob = split_logs_url(logs_url)
    fs, _ = fsspec.core.url_to_fs(bucket_url)
    digest = hashlib.sha256()
    count = 0
    for item in sorted(glob_files(fs, bucket_url, file_glob), key=lambda f: f["file_url"]):
        if file_format(item["file_name"]):
            stamp = f"{item['file_url']}|{item['modification_date'].isoformat()}|{item.get('size_in_bytes')}"
            digest.update(stamp.encode() + b"\n")
            count += 1
    return digest.hexdigest(), count


def build_new_log_files_sensor(job: "dg.JobDefinition") -> dg.SensorDefinition:
    @dg.sensor(
        name="new_log_files",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts log ingestion when files under TOKENLAKE_LOGS_URL are added or changed.",
    )
    def new_log_files(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        fingerprint, count = logs_fingerprint(Settings.from_env().logs_url)
        if count == 0:
            return dg.SkipReason("no log files found under TOKENLAKE_LOGS_URL")
        if fingerprint == context.cursor:
            return dg.SkipReason(f"no new or changed files ({count} files)")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=fingerprint, tags={"tokenlake/log_files": str(count)})
            ],
            cursor=fingerprint,
        )

    return new_log_files
