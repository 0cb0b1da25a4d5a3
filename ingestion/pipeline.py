"""The dlt pipeline that loads every source into the warehouse's `raw` schema."""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from ingestion.usage_logs.settings import RAW_DATASET


def warehouse_pipeline(name: str, warehouse: Path, pipelines_dir: Path) -> dlt.Pipeline:
    """A dlt pipeline into the DuckDB warehouse file; its state lives under `pipelines_dir`."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    credentials = DuckDbCredentials(str(warehouse))
    # Loads need no row order (merge keys decide), and inserts run in parallel without it.
    credentials.global_config = {"preserve_insertion_order": False}
    # Merge staging copies are emptied after each load instead of lingering in raw_staging.
    dlt.config["load.truncate_staging_dataset"] = True
    # Every row records the load that wrote it (Arrow batches do not get it by default): the
    # incremental dbt models read "what arrived since my last run" from it.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(credentials=credentials),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(pipelines_dir),
    )
