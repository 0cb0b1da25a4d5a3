"""After every load: did every record of every file land somewhere? (read = loaded + quarantined + skipped)"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from ingestion.usage_logs.settings import FILES_TABLE, RAW_DATASET


@dataclass
class IngestReport:
    files: int
    lines_read: int
    records_read: int
    rows_loaded: int
    rows_quarantined: int
    records_skipped: int
    unbalanced_files: list[str]

    @property
    def balanced(self) -> bool:
        return not self.unbalanced_files

    def as_dict(self) -> dict:
        return asdict(self) | {"balanced": self.balanced}

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.records_read:,} records read = {self.rows_loaded:,} loaded"
            f" + {self.rows_quarantined:,} quarantined + {self.records_skipped:,} skipped"
            + ("" if self.balanced else f"; UNBALANCED: {', '.join(self.unbalanced_files[:5])}")
        )


class UnbalancedIngestError(RuntimeError):
    """Some file's records are not all accounted for: something would have been dropped."""


def ingest_report(warehouse: Path, load_ids: list[str]) -> IngestReport:
    """Tally the files loaded by `load_ids` from raw.usage_log_files."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [RAW_DATASET, FILES_TABLE],
        ).fetchone()[0]
        if not exists or not load_ids:
            return IngestReport(0, 0, 0, 0, 0, 0, [])
        row = con.execute(
            f"""
            select count(*), coalesce(sum(lines_read), 0), coalesce(sum(records_read), 0),
                   coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0),
                   coalesce(sum(records_skipped), 0),
                   coalesce(list(file_url) filter (where
                       records_read <> rows_loaded + rows_quarantined + records_skipped), [])
            from {RAW_DATASET}.{FILES_TABLE}
            where _dlt_load_id in (select unnest(?))
            """,
            [load_ids],
        ).fetchone()
    return IngestReport(*[int(v) for v in row[:6]], unbalanced_files=list(row[6]))


def check_balanced(report: IngestReport) -> IngestReport:
    if not report.balanced:
        raise UnbalancedIngestError(report.summary())
    return report
