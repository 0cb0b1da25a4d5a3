"""After every load: did every record of every file land somewhere? (read = loaded + quarantined + skipped)"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import dlt
from dlt.destinations.sql_client import SqlClientBase

from ingestion.usage_logs.contract import FILES_TABLE


@dataclass
class IngestReport:
    files: int
    lines_read: int
    records_read: int
    rows_loaded: int
    rows_quarantined: int
    records_skipped: int
    unbalanced_files: list[str]
    # Of rows_loaded: rows that repeat another row of their file (one call reported twice).
    records_merged: int = 0

    @property
    def balanced(self) -> bool:
        return not self.unbalanced_files

    def as_dict(self) -> dict:
        return asdict(self) | {"balanced": self.balanced}

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.records_read:,} records read = {self.rows_loaded:,} loaded"
            f" + {self.rows_quarantined:,} quarantined + {self.records_skipped:,} skipped"
            + (
                f" ({self.records_merged:,} of them merged: one call reported twice)"
                if self.records_merged
                else ""
            )
            + ("" if self.balanced else f"; UNBALANCED: {', '.join(self.unbalanced_files[:5])}")
        )


class UnbalancedIngestError(RuntimeError):
    """Some file's records are not all accounted for: something would have been dropped."""


def ingest_report(pipeline: dlt.Pipeline, load_ids: list[str]) -> IngestReport:
    """Tally the files loaded by `load_ids` from raw.usage_log_files (on any destination)."""
    if not load_ids:
        return IngestReport(0, 0, 0, 0, 0, 0, [])
    with pipeline.sql_client() as client:
        if not client.has_dataset() or FILES_TABLE not in _tables(client):
            return IngestReport(0, 0, 0, 0, 0, 0, [])
        ids = ", ".join(f"'{_load_id(load_id)}'" for load_id in load_ids)
        # Tallies written before records_merged existed lack the column.
        merged = "records_merged" if _has_column(client, FILES_TABLE, "records_merged") else "0"
        rows = client.execute_sql(
            "select file_url, lines_read, records_read, rows_loaded, rows_quarantined, records_skipped,"
            f" {merged} from {client.make_qualified_table_name(FILES_TABLE)} where _dlt_load_id in ({ids})"
        )
    # One row per file read by these loads: a handful of rows, summed here on any engine.
    totals = [sum(int(row[i] or 0) for row in rows) for i in range(1, 7)]
    unbalanced = [row[0] for row in rows if int(row[2]) != int(row[3]) + int(row[4]) + int(row[5])]
    return IngestReport(
        len(rows), *totals[:5], unbalanced_files=unbalanced, records_merged=totals[5]
    )


def _load_id(value: str) -> str:
    """dlt load ids are timestamps such as 1795474106.4303112: checked, then quoted as literals."""
    float(value)
    return value


def _has_column(client: SqlClientBase, table: str, column: str) -> bool:
    rows = client.execute_sql(
        "select 1 from information_schema.columns"
        " where table_schema = %s and table_name = %s and column_name = %s",
        client.dataset_name, table, column,
    )  # fmt: skip
    return bool(rows)


def _tables(client: SqlClientBase) -> set[str]:
    rows = client.execute_sql(
        "select table_name from information_schema.tables where table_schema = %s",
        client.dataset_name,
    )
    return {row[0] for row in rows}


def check_balanced(report: IngestReport) -> IngestReport:
    if not report.balanced:
        raise UnbalancedIngestError(report.summary())
    return report
