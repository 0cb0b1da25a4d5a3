"""Whether this run's events can be appended to `raw.usage_events` instead of merged.

dlt's merge stages every row and then copies it again into the table (delete + insert): about
half of a load's time. When no (request_id, attempt) of the run repeats inside the run or is in
the table already - a first load, or a log shipper delivering only new attempts, the usual
case - appending gives the same table. Re-deliveries still take the merge path.
"""

from __future__ import annotations

import logging

import dlt
import pyarrow as pa

from ingestion.usage_logs.contract import EVENT_KEY, EVENTS_TABLE

log = logging.getLogger(__name__)


def keys_already_loaded(run_keys: pa.Table) -> bool:
    """Is any of `run_keys` (request_id, attempt) in the events table? True when unsure."""
    try:
        pipeline = dlt.current.pipeline()
    except Exception:  # the source iterated outside a pipeline run
        return True
    if pipeline.destination is None or pipeline.destination.destination_type != (
        "dlt.destinations.duckdb"
    ):
        return True  # other engines: keep the merge (it is correct everywhere)
    try:
        with pipeline.sql_client() as client:
            exists = client.execute_sql(
                "select count(*) from information_schema.tables "
                "where table_schema = %s and table_name = %s",
                client.dataset_name,
                EVENTS_TABLE,
            )[0][0]
            if not exists:
                return False
            table = client.make_qualified_table_name(EVENTS_TABLE)
            using = ", ".join(EVENT_KEY)
            with client.native_connection.cursor() as con:  # its own cursor: dlt's may be busy
                con.register("tokenlake_run_keys", run_keys)
                found = con.execute(
                    f"select count(*) from (select 1 from tokenlake_run_keys "
                    f"semi join {table} using ({using}) limit 1)"
                ).fetchone()[0]
            return found > 0
    except Exception as exc:  # unsure means merge: never a lost or doubled row
        log.warning("could not compare this run's keys with the warehouse (%s): merging", exc)
        return True
