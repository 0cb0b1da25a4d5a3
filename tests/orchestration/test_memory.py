"""The run's process gives back the memory a load's Arrow buffers held."""

from __future__ import annotations

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.memory import release_unused_memory


def test_freed_arrow_buffers_are_returned_to_the_system():
    """Buffers only a reference cycle still holds (as a dlt source's resources hold their last
    batches) are collected too."""
    process = psutil.Process()
    values = pa.array(np.arange(40_000_000, dtype="int64"))  # 320 MB, and as much again below
    cycle: dict = {"shifted": pc.add(values, 1)}
    cycle["self"] = cycle
    del values, cycle
    held = process.memory_info().rss
    release_unused_memory()
    assert held - process.memory_info().rss > 200 * 2**20
