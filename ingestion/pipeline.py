"""The dlt pipeline that loads every source into the warehouse's `raw` schema.

The warehouse is a DuckDB file by default; any dlt destination can take its place
(README: "Another warehouse"): the sources and the raw tables are the same.
"""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.common.destination import Destination
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from ingestion.usage_logs.contract import RAW_DATASET

DEFAULT_DESTINATION = "duckdb"
LOAD_MEMORY_LIMIT = "512MB"


def warehouse_destination(
    warehouse: Path, destination: str = DEFAULT_DESTINATION, credentials: str | None = None
) -> Destination:
    """dlt's destination for the warehouse: the DuckDB file, or `destination` (a dlt destination
    name such as postgres, clickhouse, snowflake, bigquery, filesystem) with `credentials` (its
    connection URL; None = dlt's own configuration: DESTINATION__<NAME>__CREDENTIALS, secrets.toml)."""
    if destination == DEFAULT_DESTINATION:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        duckdb_credentials = DuckDbCredentials(str(warehouse))
        # Loads need no row order (merge keys decide), and inserts run in parallel without it.
        # A bounded buffer pool: loading writes every block once, and DuckDB's default (80 % of
        # RAM) only keeps them cached (peak RSS of a 1 M-event ingest: 974 -> 810 MiB); larger
        # merges spill to the warehouse's temp folder instead.
        duckdb_credentials.global_config = {
            "preserve_insertion_order": False,
            "memory_limit": LOAD_MEMORY_LIMIT,
        }
        return dlt.destinations.duckdb(credentials=duckdb_credentials)
    if destination == "filesystem":
        # Parquet files under a folder or bucket URL: the lake layout (no dbt on top of it here).
        return Destination.from_reference("filesystem", bucket_url=credentials)
    return Destination.from_reference(destination, credentials=credentials)


def warehouse_pipeline(
    name: str,
    warehouse: Path,
    pipelines_dir: Path,
    destination: str = DEFAULT_DESTINATION,
    credentials: str | None = None,
) -> dlt.Pipeline:
    """A dlt pipeline into the warehouse; its state lives under `pipelines_dir`."""
    # Merge staging copies are emptied after each load instead of lingering in raw_staging.
    dlt.config["load.truncate_staging_dataset"] = True
    # A load package's files are deleted once loaded: the warehouse holds the rows, and kept
    # packages would grow the pipelines folder by every event ever ingested.
    dlt.config["load.delete_completed_jobs"] = True
    # Parquet files live only between extract and load on the same disk: compressing them costs
    # more CPU (write and read) than the bytes it saves.
    dlt.config["data_writer.compression"] = "none"
    # Every row records the load that wrote it (Arrow batches do not get it by default): the
    # incremental dbt models read "what arrived since my last run" from it.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    return dlt.pipeline(
        pipeline_name=name,
        destination=warehouse_destination(warehouse, destination, credentials),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(pipelines_dir),
    )
