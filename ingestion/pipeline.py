"""The dlt pipeline that loads every source into the warehouse's `raw` schema."""

from __future__ import annotations

from pathlib import Path

import dlt

from ingestion.usage_logs.settings import RAW_DATASET


def warehouse_pipeline(name: str, warehouse: Path, pipelines_dir: Path) -> dlt.Pipeline:
    """A dlt pipeline into the DuckDB warehouse file; its state lives under `pipelines_dir`."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(pipelines_dir),
    )
