"""Is there anything at TOKENLAKE_LOGS_URL? A location that does not exist, or holds no log file,
is a configuration error, never a quiet run over zero files."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from urllib.parse import urlsplit

from ingestion.redaction import redact_url
from ingestion.usage_logs.files import file_format, split_logs_url


class LogsLocationError(ValueError):
    """TOKENLAKE_LOGS_URL names nothing to read; the message says what to fix."""


def check_logs_location(url: str) -> None:
    """Raise LogsLocationError unless `url` has at least one log file (JSONL, Parquet, OTLP)."""
    bucket, glob = split_logs_url(url)
    label = f"TOKENLAKE_LOGS_URL={redact_url(url)}"
    scheme = urlsplit(bucket).scheme
    if scheme in ("", "file") or len(scheme) == 1:
        base = Path(bucket.removeprefix("file://"))
        if not base.is_dir():
            raise LogsLocationError(f"{label}: {base} does not exist (or is not a folder)")
        if not os.access(base, os.R_OK | os.X_OK):
            raise LogsLocationError(f"{label}: {base} cannot be read by this user")
        if not _has_local_log_file(base, glob):
            raise LogsLocationError(
                f"{label}: no log file (*.jsonl, *.json, *.parquet, optionally .gz) there"
            )
        return
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(bucket)
        # Stops at the first folder that holds a log file: a big bucket is not listed twice.
        found = any(any(file_format(n) for n in files) for _root, _dirs, files in fs.walk(path))
    except Exception as exc:  # credentials, network, permissions: the one line says which
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise LogsLocationError(
            f"{label}: cannot list it ({type(exc).__name__}{': ' + reason if reason else ''}); "
            "check the URL and the store's credentials"
        ) from None
    if not found:
        raise LogsLocationError(f"{label}: no log file there")


def _has_local_log_file(base: Path, glob: str) -> bool:
    pattern = None if glob == "**/*" else glob
    for root, _dirs, files in os.walk(base):
        for name in files:
            relative = os.path.relpath(os.path.join(root, name), base)
            if pattern and not fnmatch.fnmatch(relative, pattern):
                continue
            if file_format(name):
                return True
    return False
