"""Parquet exports: one folder per mart, split by month (`month=YYYY-MM`) for the big ones.

A local folder is written beside the old one and swapped in per mart, so a reader lists either the
old files or the new ones. Any other fsspec URL (s3://, gs://, …) is written in place with
DuckDB's COPY through fsspec (object stores have no rename).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from urllib.parse import urlparse

import duckdb

from orchestration.publish.catalog import PublishedTable, attach_warehouse, published_tables


def export_parquet(warehouse: Path, base_url: str) -> dict[str, int]:
    """Export every published table under `base_url`; rows per table."""
    scheme = urlparse(base_url).scheme
    local = scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter is a path
    con = attach_warehouse(warehouse)
    try:
        if local:
            return _export_local(con, Path(base_url.removeprefix("file://")))
        import fsspec

        con.register_filesystem(fsspec.filesystem(scheme))
        return {
            t.name: _copy(con, t, f"{base_url.rstrip('/')}/{t.name}") for t in published_tables(con)
        }
    finally:
        con.close()


def staging_prefix(base: Path) -> str:
    """Staging folders sit beside the exports folder, not in it: a reader globbing
    `exports/**/*.parquet` never lists a half-written file (same file system, so renames hold)."""
    return f".{base.name}.staging-"


def remove_dead_staging(base: Path) -> list[Path]:
    """Staging folders of publishes that died (killed mid-way); publishes run one at a time
    (warehouse pool), so any found when one starts is dead. Also older versions' `.staging-*`
    inside the exports folder."""
    found = list(base.parent.glob(f"{staging_prefix(base)}*"))
    if base.is_dir():
        found += list(base.glob(".staging-*"))
    for folder in found:
        shutil.rmtree(folder, ignore_errors=True)
    return found


def _export_local(con: duckdb.DuckDBPyConnection, base: Path) -> dict[str, int]:
    base.mkdir(parents=True, exist_ok=True)
    remove_dead_staging(base)
    staging = base.parent / f"{staging_prefix(base)}{uuid.uuid4().hex}"
    counts: dict[str, int] = {}
    try:
        tables = published_tables(con)
        for table in tables:
            counts[table.name] = _copy(con, table, str(staging / table.name))
        for table in tables:
            current, retired = base / table.name, staging / f"{table.name}.old"
            if current.exists():
                current.rename(retired)
            (staging / table.name).rename(current)
        for stale in base.iterdir():  # marts that no longer exist
            if stale.is_dir() and not stale.name.startswith(".") and stale.name not in counts:
                shutil.rmtree(stale)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def _copy(con: duckdb.DuckDBPyConnection, table: PublishedTable, folder: str) -> int:
    rows = con.execute(f"select count(*) from {table.source}").fetchone()[0]
    if table.month_column and rows:
        con.execute(
            f"""copy (select *, strftime("{table.month_column}", '%Y-%m') as month
                      from {table.source})
                to '{folder}' (format parquet, partition_by (month), overwrite_or_ignore,
                               filename_pattern 'part_{{i}}')"""
        )
    else:
        if "://" not in folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy (select * from {table.source}) to '{folder}/data.parquet' (format parquet)"
        )
    return rows
