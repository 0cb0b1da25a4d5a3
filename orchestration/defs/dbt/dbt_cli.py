"""How Dagster invokes dbt: the venv's dbt, a parse cache shared by every run, run-scoped variables.

Each run writes its dbt artifacts to its own folder, so dbt would find no
`partial_parse.msgpack` there and parse the whole project again (~10 s for ~350 nodes) on every
invocation. The newest parse result is kept in the state folder and copied into each run's
folder first; dbt re-parses only what changed since. Per-run values (a partition range) reach
dbt as environment variables rather than `--vars`, because a change of vars invalidates the
whole parse while a change of an environment variable re-parses only the files that read it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version

PARTIAL_PARSE_FILE = "partial_parse.msgpack"


class VenvDbtCliResource(DbtCliResource):
    """dagster-dbt asks the dbt executable for its version (`dbt --version`, ~4 s of imports) on
    every step; it is the dbt-core installed in this environment, so ask the package."""

    @cached_property
    def _cli_version(self) -> version.Version:
        from dbt.version import __version__

        return version.parse(__version__)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No in-process dbt adapter: dagster-dbt loads the project and its ~560 macros for one
        (~3 s of CPU per step) only to serve `fetch_row_counts()` / `fetch_column_metadata()`,
        which the assets do not call; dbt itself runs in its subprocess as before."""
        return None


@contextmanager
def reused_parse(target: Path, cache: Path) -> Iterator[None]:
    """Seed the run's target folder with the cached parse; keep the run's parse for the next."""
    target.mkdir(parents=True, exist_ok=True)
    if cache.exists():
        shutil.copyfile(cache, target / PARTIAL_PARSE_FILE)
    try:
        yield
    finally:
        produced = target / PARTIAL_PARSE_FILE
        if produced.exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            staged = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            shutil.copyfile(produced, staged)
            os.replace(staged, cache)  # readers see the old or the new file, never half of one


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Variables for the dbt subprocess started inside (dagster-dbt passes os.environ on)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# How long dbt may take to stop after SIGINT (it finishes the running statement) before SIGKILL.
DBT_STOP_SECONDS = 20


def streamed_to_the_end(invocation: Any) -> Iterator[Any]:
    """The invocation's events; dbt never outlives its step. A step that fails while dbt runs
    (an error in handling one of its events) stops reading dbt's output: dbt would block on the
    full pipe while holding the DuckDB file's write lock, and every later step would wait for it."""
    try:
        yield from invocation.stream()
    finally:
        process = invocation.process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=DBT_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
