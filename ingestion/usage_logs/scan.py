"""SQL that makes DuckDB read log files itself: one numbered text line per record.

DuckDB reads (and un-gzips) JSONL and Parquet in parallel, much faster than Python can hand it
lines. `row_number() over ()` runs as a streaming window, in file order, so line numbers are
exact. OTLP exports and files DuckDB cannot decode go through the Python reader instead.
"""

from __future__ import annotations

from datetime import datetime

# One VARCHAR column per line: no delimiter, quote or escape can split a JSON line.
_READ_LINES = (
    "columns = {{'line': 'VARCHAR'}}, delim = e'\\x01', quote = '', escape = '', header = false, "
    "auto_detect = false, strict_mode = false, max_line_size = {max_line}, buffer_size = {buffer}"
)
MAX_LINE_BYTES = 2 * 1024 * 1024
# Files from this size on are read by DuckDB itself; smaller ones are pooled by the Python reader,
# where many of them share one SQL pass (a DuckDB scan per file costs a few milliseconds).
SMALL_FILE_BYTES = 16 * 1024 * 1024
BIG_BUFFER_BYTES = 32 * 1024 * 1024


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def file_lines_sql(
    path: str, file_url: str, modified_at: datetime, file_format: str, size_bytes: int
) -> str:
    """Numbered lines of one file, with the columns the normaliser expects."""
    source = (
        f"{_literal(file_url)} as _source_file, "
        f"cast({_literal(modified_at.isoformat())} as timestamptz) as _source_modified_at, "
        "cast(row_number() over () as bigint) as _source_line, cast(0 as integer) as _source_record"
    )
    if file_format == "parquet":
        # A Parquet row becomes its JSON object, so it takes the same validation path as JSONL.
        return f"select {source}, cast(to_json(p) as varchar) as line from read_parquet({_literal(path)}) as p"
    buffer = MAX_LINE_BYTES if size_bytes < SMALL_FILE_BYTES else BIG_BUFFER_BYTES
    options = _READ_LINES.format(max_line=MAX_LINE_BYTES, buffer=buffer)
    return f"select {source}, line from read_csv({_literal(path)}, {options})"
