"""The run's events written as one Parquet file that dlt imports as is (DuckDB warehouse).

dlt's writer for Arrow batches dictionary-encodes every column and computes column statistics:
about 1.5 CPU-s per million events, a fifth of the ingest. Writing the file here - dictionaries
only for the low-cardinality columns, no statistics (the load reads every row anyway) - costs
about half; dlt hard-links the file into its load package, and its normaliser takes it
unchanged because the file's schema is the table's own, `_dlt_load_id` included.

Other destinations keep dlt's writer: their loaders may not read Parquet (or need a driver).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.parquet as pq
from dlt.common.libs.pyarrow import add_constant_column

DUCKDB_DESTINATION = "dlt.destinations.duckdb"
LOAD_ID_COLUMN = "_dlt_load_id"
# Few distinct values per file: dictionary pages make them small and quick to load. Ids with a
# value per event (request, session, user) would only fill the dictionary and fall back.
DICTIONARY_COLUMNS = (
    "tenant_id",
    "feature",
    "agent",
    "action_type",
    "provider",
    "model",
    "region",
    "key_source",
    "status",
    "service_tier",
    "prompt_template_id",
    "_source_file",
    "_source_modified_at",
    LOAD_ID_COLUMN,
)
STAGING_FOLDER = "staged_events"


class StagedEvents:
    """One Parquet file of the run's events, in the pipeline's working folder, then imported."""

    def __init__(self, folder: Path, load_id: str) -> None:
        # A killed run may have left its file behind; it was never imported.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        self.path = folder / f"{load_id}.parquet"
        self.load_id = load_id
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._empty: pa.Table | None = None

    @classmethod
    def for_current_pipeline(cls) -> StagedEvents | None:
        """A staged file for the running dlt pipeline, or None to let dlt write the batches."""
        try:
            pipeline = dlt.current.pipeline()
            load_id = dlt.current.load_package_state()["load_id"]
        except Exception:  # iterated outside a pipeline's extract step
            return None
        destination = pipeline.destination
        if destination is None or destination.destination_type != DUCKDB_DESTINATION:
            return None
        # The file carries the load id itself (the incremental dbt models read it); without the
        # setting the table has no such column.
        if not dlt.config.get("normalize.parquet_normalizer.add_dlt_load_id", bool):
            return None
        return cls(Path(pipeline.working_dir) / STAGING_FOLDER, load_id)

    def write(self, events: pa.Table) -> None:
        """Append a batch of normalised events (the warehouse's Arrow schema) to the file."""
        table = add_constant_column(
            events, LOAD_ID_COLUMN, pa.string(), self.load_id, nullable=False
        )
        if self._writer is None:
            self._empty = events.schema.empty_table()
            self._writer = pq.ParquetWriter(
                self.path,
                table.schema,
                compression="none",  # as dlt.config["data_writer.compression"]: same disk, no gain
                use_dictionary=[c for c in DICTIONARY_COLUMNS if c in table.column_names],
                write_statistics=False,
            )
        self._writer.write_table(table)
        self.rows += table.num_rows

    def import_item(self) -> Any:
        """The closed file as a dlt item; the empty batch gives the table its columns."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        return dlt.mark.with_file_import(str(self.path), "parquet", self.rows, hints=self._empty)

    def remove(self) -> None:
        """Delete the file: dlt holds its own link to it once imported."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        shutil.rmtree(self.folder, ignore_errors=True)
