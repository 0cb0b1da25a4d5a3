"""The price book is append-only: editing or removing a row would silently re-price the past."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess

import pytest

from orchestration.settings import REPO_ROOT

PRICE_BOOK = "seeds/price_book.csv"
COLUMNS = [
    "provider",
    "model_pattern",
    "service_tier",
    "effective_from",
    "currency",
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "cache_write_1h_per_mtok",
    "long_context_threshold",
    "long_context_input_per_mtok",
    "long_context_output_per_mtok",
    "batch_discount",
    "source",
    "note",
]


def rows(text: str) -> list[tuple[str, ...]]:
    return [tuple(r) for r in csv.reader(io.StringIO(text))][1:]


def committed_versions() -> list[tuple[str, str]]:
    """(commit, file text) for every committed version of the price book."""
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout: the append-only history cannot be read")
    log = subprocess.run(
        ["git", "log", "--format=%H", "--", PRICE_BOOK],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        (
            sha,
            subprocess.run(
                ["git", "show", f"{sha}:{PRICE_BOOK}"],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout,
        )
        for sha in log
    ]


def test_no_committed_row_was_edited_or_removed():
    current = rows((REPO_ROOT / PRICE_BOOK).read_text())
    for sha, text in committed_versions():
        old = rows(text)
        # Every earlier row is still there, unchanged and in its place: rows are only appended.
        assert current[: len(old)] == old, (
            f"{PRICE_BOOK} rows of commit {sha[:8]} were edited, reordered or removed"
        )


def test_rows_are_well_formed():
    text = (REPO_ROOT / PRICE_BOOK).read_text()
    header = next(csv.reader(io.StringIO(text)))
    assert header == COLUMNS
    keys = set()
    for row in rows(text):
        record = dict(zip(COLUMNS, row, strict=True))
        re.compile(record["model_pattern"])  # every pattern is a valid regular expression
        assert record["service_tier"] in ("", "standard", "priority", "flex", "batch")
        assert record["currency"] == "USD"
        assert float(record["input_per_mtok"]) >= 0 and float(record["output_per_mtok"]) >= 0
        assert record["source"], f"{record['model_pattern']}: cite where the price comes from"
        key = (
            record["provider"],
            record["model_pattern"],
            record["service_tier"] or "standard",
            record["effective_from"],
        )
        assert key not in keys, f"duplicate price version {key}"
        keys.add(key)
