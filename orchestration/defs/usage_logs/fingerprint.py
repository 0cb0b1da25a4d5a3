"""What the log folder looked like: the new-file sensor compares it with what was last ingested."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import fsspec
from dlt.common.storages.fsspec_filesystem import glob_files

from ingestion.usage_logs.files import file_format, split_logs_url
from orchestration.settings import Settings


def logs_fingerprint(logs_url: str) -> tuple[str, int]:
    """A hash of every log file's (url, modification time, size), and how many files there are."""
    bucket_url, file_glob = split_logs_url(logs_url)
    fs, _ = fsspec.core.url_to_fs(bucket_url)
    digest = hashlib.sha256()
    count = 0
    for item in sorted(glob_files(fs, bucket_url, file_glob), key=lambda f: f["file_url"]):
        if file_format(item["file_name"]):
            stamp = f"{item['file_url']}|{item['modification_date'].isoformat()}|{item.get('size_in_bytes')}"
            digest.update(stamp.encode() + b"\n")
            count += 1
    return digest.hexdigest(), count


def _ingested_file(settings: Settings) -> Path:
    return settings.home / "state" / "ingested_logs.fingerprint"


def ingested_fingerprint(settings: Settings) -> str | None:
    """The folder's fingerprint as of the start of the last successful ingest (any job)."""
    path = _ingested_file(settings)
    return path.read_text().strip() if path.exists() else None


def record_ingested(settings: Settings, fingerprint: str) -> None:
    # Taken before the ingest read the folder: a file that arrives during it changes the
    # folder's fingerprint, so the sensor still asks for a run (which loads it, or nothing).
    path = _ingested_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_suffix(".tmp")
    staged.write_text(fingerprint)
    os.replace(staged, path)
