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


def _source_columns(file_url: str, modified_at: datetime, line_number: str) -> str:
    return (
        f"{_literal(file_url)} as _source_file, "
        f"cast({_literal(modified_at.isoformat())} as timestamptz) as _source_modified_at, "
        f"cast({line_number} as bigint) as _source_line, cast(0 as integer) as _source_record"
    )


def file_lines_sql(
    path: str,
    file_url: str,
    modified_at: datetime,
    file_format: str,
    size_bytes: int,
    after_line: int = 0,
) -> str:
    """Numbered lines of one file, with the columns the normaliser expects.

    `after_line`: only the lines after this one (the first ones were read another way).
    """
    source = _source_columns(file_url, modified_at, "row_number() over ()")
    if after_line:
        lines = file_lines_sql(path, file_url, modified_at, file_format, size_bytes)
        return f"select * from ({lines}) where _source_line > {int(after_line)}"
    if file_format == "parquet":
        # A Parquet row becomes its JSON object, so it takes the same validation path as JSONL.
        return f"select {source}, cast(to_json(p) as varchar) as line from read_parquet({_literal(path)}) as p"
    return (
        f"select {source}, line from read_csv({_literal(path)}, {_read_lines_options(size_bytes)})"
    )


def _read_lines_options(size_bytes: int) -> str:
    buffer = MAX_LINE_BYTES if size_bytes < SMALL_FILE_BYTES else BIG_BUFFER_BYTES
    return _READ_LINES.format(max_line=MAX_LINE_BYTES, buffer=buffer)


def file_keys_sql(path: str, size_bytes: int) -> str:
    """Every top-level key of a JSONL file's lines, and NULL if some line (a blank one too) does
    not start with '{'. Fails on a line that starts with '{' but is not JSON.

    The lines are cut as the line reader cuts them, so that its line numbers are the records'.
    """
    keys = "case when starts_with(line, '{') then json_keys(line) else [NULL] end"
    return f"select distinct unnest({keys}) from read_csv({_literal(path)}, {_read_lines_options(size_bytes)})"


def file_records_sql(path: str, file_url: str, modified_at: datetime, keys: dict[str, str]) -> str:
    """A JSONL file's records parsed by DuckDB's read_json into `v`, a struct of `keys` (name ->
    type), with the columns the normaliser expects; `_source_line` is 0 (numbered by the caller)."""
    columns = "{" + ", ".join(f"{_literal(k)}: {_literal(t)}" for k, t in keys.items()) + "}"
    fields = ", ".join(f'"{k}" := "{k}"' for k in keys)
    # `line` only feeds the checks' object test: a record with a bad value never leaves the
    # caller, which has the line reader read it with its text.
    return (
        f"select {_source_columns(file_url, modified_at, '0')}, '{{' as line, "
        f"struct_pack({fields}) as v "
        # A line is a record: newline-delimited objects (an array, a scalar or a second object
        # on a line fails the query).
        f"from read_json({_literal(path)}, format = 'newline_delimited', records = true, "
        f"maximum_object_size = {MAX_LINE_BYTES}, columns = {columns})"
    )
