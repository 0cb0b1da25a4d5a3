"""Run the usage-log source once and account for every record (used by the CLI, benchmark, tests)."""

from __future__ import annotations

import dlt

from ingestion.usage_logs.otlp import OtelOptions
from ingestion.usage_logs.report import IngestReport, check_balanced, ingest_report
from ingestion.usage_logs.source import usage_logs_source


def load_usage_logs(
    pipeline: dlt.Pipeline,
    logs_url: str,
    log_format: str = "auto",
    mapping_path: str | None = None,
    otel: OtelOptions | None = None,
) -> IngestReport:
    """Load new or changed files under `logs_url`; raise if any record is unaccounted for."""
    source = usage_logs_source(
        logs_url=logs_url, log_format=log_format, mapping_path=mapping_path, otel=otel
    )
    load_info = pipeline.run(source)
    load_info.raise_on_failed_jobs()
    return check_balanced(ingest_report(pipeline, list(load_info.loads_ids)))
