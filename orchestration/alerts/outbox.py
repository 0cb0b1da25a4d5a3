"""The alerts table: every alert is written here, with its delivery state, before it is sent.

SQLite (`$TOKENLAKE_HOME/alerts.sqlite`), not the warehouse: sensors and runs in different
processes write it at the same time, and DuckDB allows one writer. States:

    pending     written, not yet delivered (delivery failed or not tried yet): retried later
    delivered   the receiver accepted it
    suppressed  an alert with the same kind, dimension, value and cause was delivered within
                the cool-down: recorded, not sent again

`dedup_key` is unique: the same anomaly found again on the next tick is not a new alert.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestration.alerts.model import Alert

SCHEMA = """
create table if not exists alerts (
    dedup_key text primary key,
    kind text not null,
    severity text not null,
    dimension text not null,
    value text not null,
    cause text not null,
    cooldown_key text not null,
    title text not null,
    summary text not null,
    payload text not null,
    status text not null default 'pending',
    attempts integer not null default 0,
    last_error text,
    created_at text not null,
    delivered_at text
);
create index if not exists alerts_by_cooldown on alerts (cooldown_key, status, delivered_at);
-- An alert that goes to several channels (a digest: webhook and email) is delivered once every
-- channel took it; a channel that took it is not sent it again.
create table if not exists deliveries (
    dedup_key text not null,
    channel text not null,
    delivered_at text not null,
    primary key (dedup_key, channel)
);
"""

DEFAULT_COOLDOWN = timedelta(hours=24)


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("pragma journal_mode = wal")
            yield con
        finally:
            con.close()

    def add(self, alert: Alert, now: datetime | None = None) -> bool:
        """Record `alert` (pending); False when an alert with its dedup_key is already there."""
        moment = (now or datetime.now(UTC)).isoformat()
        with self._connect() as con:
            cursor = con.execute(
                """insert or ignore into alerts (dedup_key, kind, severity, dimension, value, cause,
                       cooldown_key, title, summary, payload, created_at)
                   values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (alert.dedup_key, alert.kind, alert.severity, alert.dimension, alert.value,
                 alert.cause, alert.cooldown_key, alert.title, alert.summary,
                 json.dumps(alert.payload()), moment),
            )  # fmt: skip
            return cursor.rowcount == 1

    def pending(self) -> list[Alert]:
        with self._connect() as con:
            rows = con.execute(
                "select payload from alerts where status = 'pending' order by created_at, dedup_key"
            ).fetchall()
        return [Alert(**json.loads(payload)) for (payload,) in rows]

    def recently_delivered(self, alert: Alert, cooldown: timedelta, now: datetime) -> bool:
        since = (now - cooldown).isoformat()
        with self._connect() as con:
            row = con.execute(
                """select 1 from alerts where cooldown_key = ? and status = 'delivered'
                   and delivered_at >= ? and dedup_key <> ? limit 1""",
                (alert.cooldown_key, since, alert.dedup_key),
            ).fetchone()
        return row is not None

    def mark(self, alert: Alert, status: str, now: datetime, error: str | None = None) -> None:
        with self._connect() as con:
            con.execute(
                """update alerts set status = ?, attempts = attempts + ?, last_error = ?,
                       delivered_at = case when ? = 'delivered' then ? else delivered_at end
                   where dedup_key = ?""",
                (status, 0 if status == "suppressed" else 1, error, status, now.isoformat(),
                 alert.dedup_key),
            )  # fmt: skip

    def delivered_channels(self, alert: Alert) -> set[str]:
        with self._connect() as con:
            rows = con.execute(
                "select channel from deliveries where dedup_key = ?", (alert.dedup_key,)
            ).fetchall()
        return {r[0] for r in rows}

    def mark_channel(self, alert: Alert, channel: str, now: datetime) -> None:
        with self._connect() as con:
            con.execute(
                "insert or ignore into deliveries values (?, ?, ?)",
                (alert.dedup_key, channel, now.isoformat()),
            )

    def counts(self) -> dict[str, int]:
        with self._connect() as con:
            return dict(
                con.execute("select status, count(*) from alerts group by status").fetchall()
            )

    def rows(self) -> list[dict]:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("select * from alerts order by created_at")]
