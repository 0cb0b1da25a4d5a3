"""A warehouse's drill-down view over two tables, as dbt builds it: the attempts, their requests,
and mart_request_attempts joining them (each row shows its request's `priced_at` too)."""

from __future__ import annotations

import duckdb


def create_attempts_over_requests(con: duckdb.DuckDBPyConnection, attempts_sql: str) -> None:
    """Schema marts with fct_llm_attempts (the rows of `attempts_sql`: request_id, attempt,
    event_at, priced_at), one fct_llm_requests row per request, and the view over both."""
    con.execute("create schema marts")
    con.execute(f"create table marts.fct_llm_attempts as {attempts_sql}")
    con.execute("""
        create table marts.fct_llm_requests as
        select distinct request_id, timestamp '2026-11-20 10:00' as priced_at
        from marts.fct_llm_attempts
    """)
    con.execute("""
        create view marts.mart_request_attempts as
        select a.request_id, a.attempt, a.event_at, a.priced_at,
               r.priced_at as request_priced_at
        from marts.fct_llm_attempts a join marts.fct_llm_requests r using (request_id)
    """)
