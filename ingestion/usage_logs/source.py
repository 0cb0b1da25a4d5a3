"""The dlt source `usage_logs`: list the files, read and normalise them, stage the events."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.sources import DltResource
from dlt.sources.filesystem import filesystem

from ingestion.usage_logs.contract import (
    EVENT_KEY,
    EVENTS_TABLE,
    FILES_TABLE,
    QUARANTINE_KEY,
    QUARANTINE_TABLE,
)
from ingestion.usage_logs.files import file_fingerprint, file_format, split_logs_url
from ingestion.usage_logs.formats import AUTO, LogFormats
from ingestion.usage_logs.normalize import connect
from ingestion.usage_logs.otlp import OtelOptions
from ingestion.usage_logs.reader import read_log_files
from ingestion.usage_logs.run_keys import RunKeys
from ingestion.usage_logs.staged_events import StagedEvents
from ingestion.usage_logs.tally import FileTally
from ingestion.usage_logs.write_mode import keys_already_loaded

log = logging.getLogger(__name__)

QUARANTINE_HINTS = dlt.mark.make_hints(
    table_name=QUARANTINE_TABLE, write_disposition="merge", primary_key=list(QUARANTINE_KEY)
)
FILES_HINTS = dlt.mark.make_hints(
    table_name=FILES_TABLE, write_disposition="merge", primary_key="file_url"
)


@dlt.transformer(
    name=EVENTS_TABLE,
    table_name=EVENTS_TABLE,
    write_disposition="merge",
    primary_key=list(EVENT_KEY),
)
def usage_events(files: list[FileItemDict], formats: LogFormats | None = None) -> Iterator[Any]:
    """Read new or changed log files and yield normalised events, quarantine and file tallies.

    `formats`: gateway formats recognised, or one forced (formats/); None: the built-in ones."""
    seen: dict[str, str] = dlt.current.resource_state().setdefault("files", {})
    todo: list[tuple[FileItemDict, FileTally]] = []
    for item in files:
        fmt = file_format(item["file_name"])
        if fmt is None:
            log.info(
                "skipping %s: not a .jsonl/.json/.ndjson[.gz] or .parquet file", item["file_url"]
            )
        elif seen.get(item["file_url"]) != file_fingerprint(item):
            todo.append((item, _tally(item, fmt)))
    if not todo:
        return
    con = connect()
    keys = RunKeys()
    staged = StagedEvents.for_current_pipeline()
    empty_events = None
    try:
        if formats is None:
            formats = LogFormats.from_settings()
        for batch in read_log_files(con, todo, formats):
            if batch.events.num_rows:
                keys.add(batch.events)
                if staged is None:
                    yield batch.events
                else:
                    staged.write(batch.events)
            empty_events = batch.events.schema.empty_table()
            # Yielded even when empty, so that the quarantine table exists from the first run on.
            yield dlt.mark.with_hints(batch.quarantine, QUARANTINE_HINTS, create_table_variant=True)
        if staged is not None and staged.rows:
            yield staged.import_item()
        if empty_events is not None:
            unique = keys.duplicates == 0
            append = unique and not keys_already_loaded(keys.table())
            yield dlt.mark.with_hints(empty_events, _load_hints(unique, append))
    finally:
        con.close()
        keys.close()
        if staged is not None:
            staged.remove()
    ingested_at = datetime.now(UTC)
    rows = [tally.as_row() | {"ingested_at": ingested_at} for _, tally in todo]
    yield dlt.mark.with_hints(rows, FILES_HINTS, create_table_variant=True)
    # Marked only once the files were read whole; dlt commits this state with the load package.
    for item, _ in todo:
        seen[item["file_url"]] = file_fingerprint(item)


def _load_hints(unique: bool, append: bool) -> dict:
    """How dlt writes this run's events (hints persist, so they are set on every run).

    Append when no key repeats and none is in the table yet (write_mode.py). Otherwise merge;
    without repeated keys its dedup pass is skipped, with them (overlapping deliveries in one
    run) the newest file's version of an attempt wins.
    """
    column = {"name": "_source_modified_at", "dedup_sort": None if unique else "desc"}
    return dlt.mark.make_hints(
        write_disposition="append" if append else "merge",
        columns={"_source_modified_at": column},
        additional_table_hints={"x-stage-data-deduplicated": unique},
    )


def _tally(item: FileItemDict, fmt: str) -> FileTally:
    return FileTally(
        file_url=item["file_url"],
        relative_path=item["relative_path"],
        file_format=fmt,
        size_bytes=item.get("size_in_bytes") or 0,
        modified_at=item["modification_date"],
    )


@dlt.source(name="usage_logs", max_table_nesting=0)
def usage_logs_source(
    logs_url: str = dlt.config.value,
    log_format: str = AUTO,
    mapping_path: str | None = None,
    otel: OtelOptions | None = None,
) -> DltResource:
    """Usage logs under `logs_url`: a folder, a glob, or any fsspec URL (s3://, gs://, ...).

    `log_format` (TOKENLAKE_LOGS_FORMAT): `auto` recognises the gateway formats, `contract` none,
    a format's name forces it; `mapping_path` (TOKENLAKE_LOGS_MAPPING): a YAML mapping of your own;
    `otel`: where OpenTelemetry spans keep their tenant, and the tenant of those without one.
    """
    formats = LogFormats.from_settings(log_format, mapping_path, otel)
    bucket_url, file_glob = split_logs_url(logs_url)
    # One page holds every listed file (the listing is in memory anyway), so that the run's
    # keys are checked for repeats across all of its files, not page by page.
    files = filesystem(bucket_url=bucket_url, file_glob=file_glob, files_per_page=sys.maxsize)
    return files | usage_events(formats=formats)
