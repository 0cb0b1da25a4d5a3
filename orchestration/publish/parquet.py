"""Parquet exports: one folder per mart; the dated ones one file per day, in one folder per month
(`<mart>/month=YYYY-MM/YYYY-MM-DD.parquet`, read with hive partitioning), the others one
`<mart>/data.parquet`.

The files are the snapshot's (snapshot.py): each publish exports only the files that changed
since the last export to the same place. A local folder gets hard links (copies across file
systems), each swapped in by a rename, so a reader opens a whole old file or a whole new one;
any other fsspec URL (s3://, gs://, …) gets the files uploaded, and the files of days that are
gone deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlparse

from orchestration.publish.snapshot import WHOLE, Manifest, Snapshot

# Which snapshot file each exported file holds, per export URL (in the store).
EXPORTS_STATE = "exports.json"


def exported_files(manifest: Manifest) -> dict[str, str]:
    """Path in the exports (relative) -> snapshot file, for every file of the snapshot."""
    files = {}
    for name, table in manifest.tables.items():
        for key, part in table.parts.items():
            for i, stored in enumerate(part.files):
                suffix = f"_{i}" if i else ""
                if key == WHOLE:
                    files[f"{name}/data{suffix}.parquet"] = stored
                else:
                    files[f"{name}/month={key[:7]}/{key}{suffix}.parquet"] = stored
    return files


def export_parquet(snapshot: Snapshot, base_url: str) -> dict[str, int]:
    """Export the snapshot under `base_url`; rows per table."""
    store = snapshot.store
    wanted = exported_files(snapshot.manifest)
    state_path = store / EXPORTS_STATE
    states = json.loads(state_path.read_text()) if state_path.exists() else {}
    previous: dict[str, str] | None = states.get(base_url)
    scheme = urlparse(base_url).scheme
    if scheme in ("", "file") or len(scheme) == 1:  # a Windows drive letter is a path
        _export_local(store, Path(base_url.removeprefix("file://")), wanted, previous or {})
    else:
        _export_remote(store, base_url, scheme, wanted, previous)
    states[base_url] = wanted
    staged = state_path.with_name(f".{EXPORTS_STATE}.{uuid.uuid4().hex}.tmp")
    staged.write_text(json.dumps(states))
    os.replace(staged, state_path)
    return snapshot.row_counts()


def _export_local(
    store: Path, base: Path, wanted: dict[str, str], previous: dict[str, str]
) -> None:
    base.mkdir(parents=True, exist_ok=True)
    remove_dead_temp_files(base)
    for relative, stored in wanted.items():
        target = base / relative
        if previous.get(relative) == stored and target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            os.link(store / stored, staged)
        except OSError:  # another file system, or no hard links there
            shutil.copyfile(store / stored, staged)
        os.replace(staged, target)
    # What is no longer published: days gone, marts dropped, older layouts.
    tables = {relative.split("/", 1)[0] for relative in wanted}
    for entry in base.iterdir():
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in tables:
            shutil.rmtree(entry)
    for path in base.rglob("*.parquet"):
        if str(path.relative_to(base)) not in wanted:
            path.unlink()
    for folder in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def remove_dead_temp_files(base: Path) -> list[Path]:
    """Temp links of exports that died mid-way (exports run one at a time: warehouse pool),
    and staging folders of earlier versions."""
    found = [
        *base.rglob(".*.tmp"),
        *base.parent.glob(f".{base.name}.staging-*"),
        *base.glob(".staging-*"),
    ]
    for leftover in found:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return found


def _export_remote(
    store: Path,
    base_url: str,
    scheme: str,
    wanted: dict[str, str],
    previous: dict[str, str] | None,
) -> None:
    import fsspec

    fs = fsspec.filesystem(scheme)
    base = base_url.rstrip("/")
    for relative, stored in wanted.items():
        if previous is not None and previous.get(relative) == stored:
            continue
        fs.put_file(str(store / stored), f"{base}/{relative}")
    if previous is None:  # first export here: whatever else lies under it is not ours to keep
        existing = [p for p in fs.find(base) if p.endswith(".parquet")] if fs.exists(base) else []
        stale = [p for p in existing if _relative(p, base) not in wanted]
    else:
        stale = [f"{base}/{relative}" for relative in previous if relative not in wanted]
    for path in stale:
        fs.rm_file(path)


def _relative(path: str, base: str) -> str:
    # fsspec returns paths without the protocol for some file systems.
    stripped = base.split("://", 1)[-1].lstrip("/")
    path = path.split("://", 1)[-1].lstrip("/")
    return path[len(stripped) :].lstrip("/") if path.startswith(stripped) else path
