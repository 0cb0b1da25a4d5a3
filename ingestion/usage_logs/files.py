"""Log files as the source meets them: where TOKENLAKE_LOGS_URL points, which files are read,
how a file is identified, and what its first line says it is (OTLP, one JSON document, a
gateway's format)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
from dlt.common.storages.fsspec_filesystem import FileItemDict

from ingestion.usage_logs import otlp
from ingestion.usage_logs.contract import GZIP_SUFFIX, JSONL_SUFFIXES, PARQUET_SUFFIXES
from ingestion.usage_logs.formats import LogFormats
from ingestion.usage_logs.line_reader import GZIP_MAGIC, open_decompressed, starts_a_json_document

GLOB_CHARS = "*?["


def split_logs_url(url: str) -> tuple[str, str]:
    """Split TOKENLAKE_LOGS_URL into (bucket_url, file_glob).

    A folder reads every file below it; a glob reads what it matches; a single file reads itself.
    """
    first_glob = min((url.find(c) for c in GLOB_CHARS if c in url), default=-1)
    if first_glob >= 0:
        base = url[:first_glob].rsplit("/", 1)[0]
        return base, url[len(base) + 1 :]
    if "://" not in url and Path(url).is_file():
        path = Path(url)
        return str(path.parent), path.name
    return url.rstrip("/"), "**/*"


def file_format(name: str) -> str | None:
    """'jsonl' or 'parquet' from the file name, or None for a file we do not read."""
    lower = name.lower()
    if lower.endswith(GZIP_SUFFIX):
        lower = lower[: -len(GZIP_SUFFIX)]
    if lower.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def file_fingerprint(item: FileItemDict) -> str:
    """Identity of one delivered version of a file: a changed file gets a new fingerprint."""
    return f"{item['modification_date'].isoformat()}|{item.get('size_in_bytes')}"


def is_otlp_export(item: FileItemDict, file_format: str) -> bool:
    """Does the file start with an OTLP/JSON export (`{"resourceSpans": ...`)?"""
    if file_format != "jsonl":
        return False
    first = first_line(item, 4096)
    return re.match(otlp.OTLP_LINE_PATTERN, first.decode("utf-8", "replace")) is not None


def is_json_document(item: FileItemDict, file_format: str) -> bool:
    """Is the file one JSON document (pretty-printed, or an array), not JSON Lines?"""
    return file_format == "jsonl" and starts_a_json_document(first_line(item, 1 << 20))


def needs_mapping(item: FileItemDict, file_format: str, formats: LogFormats) -> bool:
    """Is the file in a gateway's format (or a forced one), so that its lines are mapped?"""
    if file_format != "jsonl" or not formats:
        return False
    return formats.forced or formats.claims_file(first_line(item, 1 << 20))


def first_line(item: FileItemDict, limit: int) -> bytes:
    with item.open(mode="rb", compression="disable") as raw:
        head = open_decompressed(raw).read(limit)
    return head.lstrip().split(b"\n", 1)[0]


def duckdb_path(con: duckdb.DuckDBPyConnection, item: FileItemDict) -> str:
    """A path DuckDB can open: local files directly, anything else through the file's fsspec."""
    if is_local(item):
        return item.local_file_path
    con.register_filesystem(item.fsspec)
    return item["file_url"]


def is_local(item: FileItemDict) -> bool:
    fs = item.fsspec
    return "file" in fs.protocol or "local" in fs.protocol


def is_gzip(item: FileItemDict) -> bool:
    with item.open(mode="rb", compression="disable") as raw:
        return raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC
