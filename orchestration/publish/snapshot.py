"""The published snapshot: every published table as immutable Parquet files, one file per day of
its date column (one file for a table without one), listed by a manifest. The DuckDB file, the
Parquet exports and PostgreSQL are all published from it.

A refresh fingerprints each day of each table in the warehouse (fingerprints.py) and writes only
the days whose fingerprint changed, so an hourly publish costs what the hour changed, not the
whole history. The newest day, when it only gained rows (an hour of new events), gets those rows
as one more file instead of being rewritten: at 10 M events a day holds ~120 K attempts and an
hour ~7 K. It is rewritten as one file once it holds MAX_PART_FILES files or a newer day exists
(the first run after midnight), or when any of its rows changed. Files are never rewritten in
place: the manifest (replaced atomically) names the files of the current version. Files a newer
version replaced stay on disk for `retain_seconds`, so a reader of the previous version (a BI
tool holding the old DuckDB file open) keeps reading them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from orchestration.publish import part_files
from orchestration.publish.catalog import PublishedTable, attach_warehouse, published_tables
from orchestration.publish.fingerprints import (
    NO_DATE,
    WHOLE,
    Fingerprint,
    table_fingerprints,
)

MANIFEST = "manifest.json"
# Bump when the files' layout changes: a manifest of another format is rebuilt from scratch.
FORMAT = 1
DEFAULT_RETAIN_SECONDS = 24 * 3600
# The newest day takes each hour's new rows as one more file (see _only_added); past this many
# files it is rewritten whole, and a day that is no longer the newest is rewritten as one file.
MAX_PART_FILES = 24


@dataclass
class Part:
    """One day of a table (or the whole table): its fingerprint and its files in the store."""

    rows: int
    marker: str
    files: list[str]


@dataclass
class TableSnapshot:
    name: str
    columns: list[list[str]]  # [name, DuckDB type]
    date_column: str | None
    lookup_column: str | None
    parts: dict[str, Part]
    # The newest priced_at at the last refresh ('' for a table without the column).
    watermark: str = ""

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts.values())

    def select_sql(self, store: Path, keys: list[str] | None = None) -> str:
        """The table (or the given parts) read back from its files with the warehouse's types
        (Parquet has no HUGEINT, say: the cast restores it)."""
        chosen = sorted(self.parts) if keys is None else sorted(keys)
        files = [str(store / f) for k in chosen for f in self.parts[k].files]
        listed = ", ".join(f"'{part_files.quote(f)}'" for f in files)
        columns = ", ".join(
            f'cast("{name}" as {type_}) as "{name}"' for name, type_ in self.columns
        )
        return f"select {columns} from read_parquet([{listed}])"


@dataclass
class Manifest:
    format: int = FORMAT
    version: int = 0
    source: list[int] = field(default_factory=list)  # the warehouse files' size and mtime
    tables: dict[str, TableSnapshot] = field(default_factory=dict)
    retired: dict[str, float] = field(default_factory=dict)  # file -> when it was replaced

    @classmethod
    def load(cls, store: Path) -> Manifest:
        path = store / MANIFEST
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text())
        if raw.get("format") != FORMAT:
            return cls()
        tables = {
            name: TableSnapshot(**{**t, "parts": {k: Part(**p) for k, p in t["parts"].items()}})
            for name, t in raw["tables"].items()
        }
        return cls(FORMAT, raw["version"], raw["source"], tables, raw["retired"])

    def save(self, store: Path) -> None:
        staged = store / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
        staged.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))
        os.replace(staged, store / MANIFEST)

    def files(self) -> set[str]:
        return {f for t in self.tables.values() for p in t.parts.values() for f in p.files}


@dataclass
class Snapshot:
    """The store after a refresh: its manifest, and what the refresh wrote (parts per table)."""

    store: Path
    manifest: Manifest
    written: dict[str, list[str]]
    rows_written: int

    def select_sql(self, table: str, keys: list[str] | None = None) -> str:
        return self.manifest.tables[table].select_sql(self.store, keys)

    def row_counts(self) -> dict[str, int]:
        return {name: t.rows for name, t in sorted(self.manifest.tables.items())}


def store_folder(published_duckdb: Path) -> Path:
    """The store sits beside the published DuckDB file, whose views read it."""
    return published_duckdb.with_name(f"{published_duckdb.stem}_files")


def warehouse_signature(warehouse: Path) -> list[int]:
    """Size and mtime of the warehouse and its WAL: equal means nothing was written since."""
    signature = []
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        stat = path.stat() if path.exists() else None
        signature += [stat.st_size, stat.st_mtime_ns] if stat else [-1, -1]
    return signature


def refresh_snapshot(
    warehouse: Path,
    store: Path,
    retain_seconds: float = DEFAULT_RETAIN_SECONDS,
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
) -> Snapshot:
    """Bring the store up to date with the warehouse's published tables (see the module doc)."""
    store.mkdir(parents=True, exist_ok=True)
    previous = Manifest.load(store)
    signature = warehouse_signature(warehouse)
    if previous.source == signature and all((store / f).exists() for f in previous.files()):
        return Snapshot(store, previous, {}, 0)  # e.g. the second publisher of the same run

    _remove_dead_files(store, previous)
    version = previous.version + 1
    current = Manifest(FORMAT, version, signature, {}, dict(previous.retired))
    written: dict[str, list[str]] = {}
    rows_written = 0
    con = attach_warehouse(warehouse, memory_limit=memory_limit, temp_directory=temp_directory)
    try:
        for table in published_tables(con):
            old = previous.tables.get(table.name)
            snapshot, changed, rows = _refresh_table(con, store, table, old, version)
            current.tables[table.name] = snapshot
            if changed:
                written[table.name] = changed
                rows_written += rows
    finally:
        con.close()

    now = time.time()
    kept = current.files()
    for old_file in previous.files() - kept:
        current.retired[old_file] = now
    # Saved before any file is deleted: the manifest on disk never names a deleted file.
    current.save(store)
    # Files replaced longer ago than the retention: no reader of a recent version needs them.
    for old_file, retired_at in list(current.retired.items()):
        if old_file in kept:
            del current.retired[old_file]
        elif now - retired_at >= retain_seconds:
            (store / old_file).unlink(missing_ok=True)
            del current.retired[old_file]
    current.save(store)
    return Snapshot(store, current, written, rows_written)


def _refresh_table(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    table: PublishedTable,
    old: TableSnapshot | None,
    version: int,
) -> tuple[TableSnapshot, list[str], int]:
    """The table's new snapshot, the parts written, and the rows written."""
    columns = [list(c) for c in table.columns]
    date_column = table.date_column
    same_shape = old is not None and old.columns == columns and old.date_column == date_column
    since = old.watermark if same_shape else ""
    kept = {k: p.marker for k, p in old.parts.items()} if same_shape and since else {}
    fingerprints, watermark = table_fingerprints(con, table, since, kept)
    if not fingerprints:  # a dated table without rows: one empty file keeps its columns
        fingerprints = {WHOLE: Fingerprint(0, "")}
    days = [k for k in fingerprints if k not in (WHOLE, NO_DATE)]
    newest = max(days) if days else None
    parts: dict[str, Part] = {}
    rewritten, appended = [], []
    for key, print_ in sorted(fingerprints.items()):
        before = old.parts.get(key) if same_shape else None
        if before is None:
            rewritten.append(key)
        elif (before.rows, before.marker) == (print_.rows, print_.marker):
            if len(before.files) > 1 and key != newest:
                rewritten.append(key)  # a day no longer the newest: its hours become one file
            else:
                parts[key] = before
                continue
        elif key == newest and _only_added(before, print_):
            appended.append(key)
        else:
            rewritten.append(key)
        parts[key] = Part(print_.rows, print_.marker, [])
    rows_written = 0
    for key in appended:  # one key: the newest day
        added, count = part_files.write_added_rows(con, store, table, key, old.watermark, version)
        if count == fingerprints[key].newer:
            parts[key].files = old.parts[key].files + [added]
            rows_written += count
        else:  # the fingerprint and the view's rows disagree: the day is written whole instead
            (store / added).unlink(missing_ok=True)
            rewritten.append(key)
    if rewritten:
        files = part_files.write_parts(con, store, table, rewritten, version)
        for key in rewritten:
            parts[key].files = files.get(key, [])
            rows_written += parts[key].rows
    for key in parts:
        if not parts[key].files:
            raise RuntimeError(f"publishing {table.name}: no file was written for {key}")
    snapshot = TableSnapshot(
        table.name, columns, date_column, table.lookup_column, parts, watermark
    )
    return snapshot, sorted(set(rewritten + appended)), rows_written


def _only_added(before: Part, now: Fingerprint) -> bool:
    """True when the part kept every row it had and only gained rows stamped since the last
    refresh (an hour of new events): those go to one more file of the part. A row a run rewrote
    carries the new stamp and a deleted one is missing from the older rows, so either makes the
    older rows fewer than the part had; then the part is rewritten whole."""
    return (
        now.newer is not None
        and now.newer > 0
        and now.rows - now.newer == before.rows
        and len(before.files) < MAX_PART_FILES
    )


def _remove_dead_files(store: Path, manifest: Manifest) -> None:
    """Files of a refresh that died before saving its manifest (refreshes run one at a time:
    in the warehouse pool), and the `.staging` folder that earlier versions wrote
    partitioned COPYs into (nothing writes it now; a store upgraded mid-failure may hold one)."""
    shutil.rmtree(store / ".staging", ignore_errors=True)
    for stale in store.glob(f".{MANIFEST}.*.tmp"):
        stale.unlink(missing_ok=True)
    known = manifest.files() | set(manifest.retired)
    data = store / "data"
    if data.is_dir():
        for path in data.rglob("*.parquet"):
            if str(path.relative_to(store)) not in known:
                path.unlink()
