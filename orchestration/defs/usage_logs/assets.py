"""Usage-log ingestion: files under TOKENLAKE_LOGS_URL -> raw tables in the warehouse (via dlt).

One dlt run writes three tables, so one multi-asset materialises three assets: the events,
the quarantine and the per-file tallies.
"""

from collections.abc import Iterator

import dagster as dg
from dagster_dlt import DagsterDltResource

from ingestion.usage_logs.location import LogsLocationError, check_logs_location
from ingestion.usage_logs.report import check_balanced, ingest_report
from ingestion.usage_logs.source import usage_logs_source
from orchestration import warehouse
from orchestration.defs.resources import RawTableTranslator
from orchestration.defs.usage_logs.fingerprint import logs_fingerprint, record_ingested
from orchestration.memory import release_unused_memory
from orchestration.settings import Settings

LOG_FILES_KEY = dg.AssetKey(["sources", "usage_log_files"])
RAW_EVENTS_KEY = dg.AssetKey(["raw", "usage_events"])
RAW_QUARANTINE_KEY = dg.AssetKey(["raw", "usage_events_quarantine"])
RAW_FILES_KEY = dg.AssetKey(["raw", "usage_log_files"])
PIPELINE_NAME = "usage_logs"

log_files = dg.AssetSpec(
    LOG_FILES_KEY,
    description="Usage-log files (JSONL, JSONL.gz, Parquet, OTLP/JSON) under TOKENLAKE_LOGS_URL.",
    group_name="sources",
    kinds={"file"},
)

RAW_SPECS = [
    dg.AssetSpec(
        RAW_EVENTS_KEY,
        deps=[LOG_FILES_KEY],
        group_name="raw",
        kinds={"dlt", "duckdb"},
        description=(
            "One row per attempt in the usage-event contract's shape, merged on (request_id, attempt): "
            "a re-delivered attempt replaces the earlier row."
        ),
    ),
    dg.AssetSpec(
        RAW_QUARANTINE_KEY,
        deps=[LOG_FILES_KEY],
        group_name="raw",
        kinds={"dlt", "duckdb"},
        description="Records that were not loaded: source file, line, raw text and every reason.",
    ),
    dg.AssetSpec(
        RAW_FILES_KEY,
        deps=[LOG_FILES_KEY],
        group_name="raw",
        kinds={"dlt", "duckdb"},
        description="One row per log file read: lines read = loaded + quarantined + skipped.",
    ),
]


@dg.multi_asset(specs=RAW_SPECS, name="usage_logs", pool="warehouse")
def usage_logs_assets(
    context: dg.AssetExecutionContext, dlt: DagsterDltResource, settings: dg.ResourceParam[Settings]
) -> Iterator[dg.MaterializeResult]:
    """Load new or changed log files (dlt state remembers which were read)."""
    try:
        check_logs_location(settings.logs_url)
    except LogsLocationError as exc:  # nothing to read is an error, not a quiet "0 files"
        raise dg.Failure(description=str(exc)) from None
    folder_before, _ = logs_fingerprint(settings.logs_url)
    pipeline = warehouse.pipeline(PIPELINE_NAME, settings)
    source = usage_logs_source(
        logs_url=settings.logs_url,
        log_format=settings.logs_format,
        mapping_path=str(settings.logs_mapping) if settings.logs_mapping else None,
        otel=settings.otel,
    )
    results = list(
        dlt.run(
            context=context,
            dlt_source=source,
            dlt_pipeline=pipeline,
            dagster_dlt_translator=RawTableTranslator(),
        )
    )
    # The source's resources keep their last Arrow batches (in reference cycles): 305 MiB after
    # 10 M events, held through the dbt build that follows unless collected and given back here.
    del source
    release_unused_memory()
    load_ids = list(pipeline.last_trace.last_load_info.loads_ids) if pipeline.last_trace else []
    report = check_balanced(ingest_report(pipeline, load_ids))
    context.log.info("usage logs: %s", report.summary())
    record_ingested(settings, folder_before)
    dlt_metadata = results[0].metadata if results else {}
    yield dg.MaterializeResult(
        asset_key=RAW_EVENTS_KEY,
        metadata={
            **(dlt_metadata or {}),
            "rows_loaded": report.rows_loaded,
            "files_read": report.files,
        },
    )
    yield dg.MaterializeResult(
        asset_key=RAW_QUARANTINE_KEY, metadata={"rows_quarantined": report.rows_quarantined}
    )
    yield dg.MaterializeResult(
        asset_key=RAW_FILES_KEY,
        metadata={
            **{k: v for k, v in report.as_dict().items() if k != "unbalanced_files"},
            # This run's loads: the quarantine-share check reads them.
            "load_ids": ",".join(load_ids),
        },
    )
