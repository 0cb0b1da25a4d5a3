"""The keys a run loaded, to tell dlt whether its merge must deduplicate."""

from __future__ import annotations

import duckdb
import pyarrow as pa


class RunKeys:
    """Every (request_id, attempt) yielded in this run, to tell dlt whether it must deduplicate.

    dlt's merge deduplicates staged rows with a window over the whole load; when no key repeats
    (the usual case) that pass is skipped, which roughly halves the load time. The batches' two
    key columns are kept as Arrow arrays and counted once, at the end: inserting them into
    DuckDB batch by batch cost ~0.3 CPU-s per million events on the thread that also writes the
    staged file.
    """

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []

    def close(self) -> None:
        self.parts = []

    def add(self, events: pa.Table) -> None:
        # Copied: a view would keep the memory of the whole batch alive.
        keys = events.select(["request_id", "attempt"])
        self.parts.append(
            pa.table(
                {name: pa.concat_arrays(keys.column(name).chunks) for name in keys.column_names}
            )
        )

    def table(self) -> pa.Table:
        if not self.parts:
            return pa.table(
                {"request_id": pa.array([], pa.string()), "attempt": pa.array([], pa.int64())}
            )
        return pa.concat_tables(self.parts, promote_options="permissive")

    @property
    def duplicates(self) -> int:
        """How many keys of the run repeat an earlier key of the run."""
        con = duckdb.connect(config={"threads": 2})
        try:
            con.register("run_keys", self.table())
            return con.execute(
                "select count(*) - (select count(*) from (select distinct request_id, attempt"
                " from run_keys)) from run_keys"
            ).fetchall()[0][0]
        finally:
            con.close()
