"""Big JSONL files whose every line starts a JSON object: parsed by DuckDB's own read_json.

The line reader (scan.py) numbers lines with a streaming window, which keeps its scan on one
thread, and hands each line's text over as Arrow before json_transform parses it. For the usual
gateway log - every line one object - DuckDB's read_json can read and parse the file itself, on
every core, into the very struct json_transform gives (the same transform code, so the same
text for every value). read_json keeps no line numbers, but here a line is exactly one record: a
line that does not start with '{' (found by the key-only pass that comes first, over the lines as
the line reader cuts them) sends the file to the line reader, and a malformed line or two objects
on one line fail the query. So records are numbered in file order as they come. That pass also
finds the file's extra keys: read_json keeps only the columns it is given.

The pass stops at the first batch holding a bad record (read_json keeps no raw text for the
quarantine) or at any reader error; the caller reads the file on from the first line not yet
yielded, with the line reader. Nothing is yielded twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from ingestion.usage_logs.contract_sql import KNOWN_KEYS, final_sql, plain_extra_keys
from ingestion.usage_logs.normalize import OUTPUT_BATCH_ROWS, NormalizedBatch, split_checked
from ingestion.usage_logs.scan import file_keys_sql, file_records_sql

log = logging.getLogger(__name__)


class DirectJsonRead:
    """One file's records through read_json; `lines_done` says how far it got."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        path: str,
        file_url: str,
        modified_at: datetime,
        size_bytes: int,
    ) -> None:
        self.con = con
        self.path = path
        self.size_bytes = size_bytes
        self.file_url = file_url
        self.modified_at = modified_at
        self.lines_done = 0
        self.complete = False

    def batches(self) -> Iterator[NormalizedBatch]:
        """Normalised batches of valid events, in file order, until the file ends (`complete`)
        or a batch holds a bad record or the reader fails (the rest is the caller's)."""
        try:
            keys = [
                k for (k,) in self.con.sql(file_keys_sql(self.path, self.size_bytes)).fetchall()
            ]
        except duckdb.Error as exc:
            log.info("%s: reading line by line (%s)", self.file_url, _first_line(exc))
            return
        if None in keys:
            log.info("%s: reading line by line (a line is not a JSON object)", self.file_url)
            return
        extra = plain_extra_keys(keys)
        if extra is None:
            log.info("%s: reading line by line (extra keys are not plain names)", self.file_url)
            return
        columns = {k: "VARCHAR" for k in KNOWN_KEYS} | {k: "JSON" for k in extra}
        records = file_records_sql(self.path, self.file_url, self.modified_at, columns)
        sql = final_sql(records, extra, guarded=False, parsed=True)
        cursor = self.con.cursor()
        try:
            # Closed before the cursor is: a batch being read ahead is waited for first.
            with closing(_read_ahead(cursor, sql)) as batches:
                for batch in batches:
                    checked = self._numbered(batch)
                    if checked.column("reason").null_count < checked.num_rows:
                        # A bad record: the line reader keeps its raw text for the quarantine.
                        return
                    self.lines_done += checked.num_rows
                    yield split_checked(checked)
            self.complete = True
        except duckdb.Error as exc:
            log.info(
                "%s: line by line from line %d (%s)",
                self.file_url,
                self.lines_done + 1,
                _first_line(exc),
            )
        finally:
            cursor.close()

    def _numbered(self, batch: pa.RecordBatch) -> pa.Table:
        table = pa.Table.from_batches([batch])
        first = self.lines_done + 1
        numbers = pa.array(np.arange(first, first + table.num_rows, dtype=np.int64))
        index = table.schema.get_field_index("_source_line")
        return table.set_column(index, "_source_line", numbers)


def _read_ahead(cursor: duckdb.DuckDBPyConnection, sql: str) -> Iterator[pa.RecordBatch]:
    """The query's batches; the next one is read (by DuckDB, without the GIL) while the caller
    works on this one. Errors, the query's own included, are raised here, in the caller."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        reader = pool.submit(lambda: cursor.sql(sql).to_arrow_reader(OUTPUT_BATCH_ROWS)).result()
        ahead = pool.submit(_next_batch, reader)
        while (batch := ahead.result()) is not None:
            ahead = pool.submit(_next_batch, reader)
            yield batch


def _next_batch(reader: pa.RecordBatchReader) -> pa.RecordBatch | None:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None


def _first_line(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0]
