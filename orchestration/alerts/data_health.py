"""Is the data arriving, and is it usable? Silent sources, quarantine spikes, unpriced models.

Dashboards alert on "missing metrics" for a reason: an exporter that crashed looks like a quiet
day. Each source has an expected cadence; one silent past it is `stale_source`. A load whose
quarantine share passes the threshold is `quarantine_spike` (logs of a shape the contract does
not know would otherwise load nothing, quietly). A model first seen without a price is
`unpriced_model`, once per model.

- logs: the newest file's modification time in `raw.usage_log_files` (when files last
  arrived, whatever time their events carry: a backfill of old events is not a silence);
- provider APIs: the end of the newest usage or cost bucket stored for that provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from orchestration.alerts.model import Alert


@dataclass(frozen=True)
class SourceFreshness:
    source: str  # usage_logs | openai | anthropic
    last_seen: datetime | None  # None: nothing ever arrived
    expected_within_hours: float
    checked_at: datetime

    @property
    def hours_silent(self) -> float | None:
        if self.last_seen is None:
            return None
        return (self.checked_at - self.last_seen).total_seconds() / 3600

    @property
    def stale(self) -> bool:
        if self.expected_within_hours <= 0:  # 0 turns the check off
            return False
        return self.last_seen is None or self.hours_silent > self.expected_within_hours


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    return {r[0] for r in rows}


def source_freshness(
    con: duckdb.DuckDBPyConnection,
    providers: list[str],
    logs_hours: float,
    provider_hours: float,
    now: datetime | None = None,
) -> list[SourceFreshness]:
    """Freshness of the log location and of each configured provider API."""
    now = now or datetime.now(UTC)
    raw = _tables(con, "raw")
    found: list[SourceFreshness] = []
    logs_seen = None
    if "usage_log_files" in raw:
        logs_seen = con.execute(
            "select max(_source_modified_at) from raw.usage_log_files"
        ).fetchone()[0]
    found.append(SourceFreshness("usage_logs", _utc(logs_seen), logs_hours, now))
    for provider in providers:
        tables = sorted(t for t in raw if t.startswith(f"{provider}_"))
        seen = None
        if tables:
            union = " union all ".join(
                f"select max(bucket_end_at) as t from raw.{t}" for t in tables
            )
            seen = con.execute(f"select max(t) from ({union})").fetchone()[0]
        found.append(SourceFreshness(provider, _utc(seen), provider_hours, now))
    return found


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stale_source_alert(fresh: SourceFreshness, link: str) -> Alert:
    what = "usage logs" if fresh.source == "usage_logs" else f"the {fresh.source} usage/cost API"
    if fresh.last_seen is None:
        said = f"No data has ever arrived from {what}."
        since = "never"
    else:
        said = (
            f"No new data from {what} for {fresh.hours_silent:.1f} h (last at "
            f"{fresh.last_seen:%Y-%m-%d %H:%M} UTC; expected within {fresh.expected_within_hours:g} h)."
        )
        since = fresh.last_seen.isoformat()
    return Alert(
        kind="stale_source", severity="warning", title=f"Source silent: {fresh.source}",
        summary=said + " Costs after that are missing, not zero.", dimension="source",
        value=fresh.source, window_start=None if fresh.last_seen is None else since,
        window_end=fresh.checked_at.isoformat(), observed=None, expected=None, cause="other",
        cause_detail="an exporter, gateway or key stopped sending, or the location changed",
        link=link, dedup_key=f"stale_source|{fresh.source}|{since}",
    )  # fmt: skip


@dataclass(frozen=True)
class LoadQuarantine:
    load_id: str
    records: int  # records read less skipped (non-GenAI spans)
    quarantined: int

    @property
    def share(self) -> float:
        return self.quarantined / self.records if self.records else 0.0


def quarantine_spike_alert(load: LoadQuarantine, threshold: float, reasons: list[tuple[str, int]],
                           link: str) -> Alert:  # fmt: skip
    top = (
        ", ".join(f"{reason} ({n})" for reason, n in reasons[:3])
        or "see raw.usage_events_quarantine"
    )
    return Alert(
        kind="quarantine_spike", severity="critical",
        title=f"{load.share:.0%} of the last load quarantined",
        summary=(f"{load.quarantined:,} of {load.records:,} records of the last log load were "
                 f"quarantined (threshold {threshold:.0%}): {top}. Their cost is missing."),
        dimension="load", value=load.load_id, window_start=None, window_end=None,
        observed=None, expected=None, cause="other", cause_detail=top, link=link,
        dedup_key=f"quarantine_spike|{load.load_id}",
    )  # fmt: skip


def quarantine_reasons(con: duckdb.DuckDBPyConnection, load_id: str) -> list[tuple[str, int]]:
    return con.execute(
        """select split_part(reason, '; ', 1), count(*) from raw.usage_events_quarantine
           where _dlt_load_id = ? group by 1 order by 2 desc, 1""",
        [load_id],
    ).fetchall()


def unpriced_model_alerts(con: duckdb.DuckDBPyConnection, link: str) -> list[Alert]:
    """One alert per model without a price (the outbox keeps it to one per model, ever)."""
    if "mart_unpriced_models" not in _tables(con, "marts"):
        return []
    rows = con.execute(
        "select provider, model, attempts, input_tokens, output_tokens, first_seen_at "
        "from marts.mart_unpriced_models order by provider, model"
    ).fetchall()
    return [
        Alert(
            kind="unpriced_model",
            severity="warning",
            title=f"No price for {provider} {model}",
            summary=(
                f"{provider} model {model} has no price in the price book: {attempts:,} "
                f"attempts ({inp:,} input, {out:,} output tokens) since {first:%Y-%m-%d} are "
                "unpriced (cost NULL, never 0). Add a row to TOKENLAKE_PRICE_BOOK."
            ),
            dimension="model",
            value=f"{provider}/{model}",
            window_start=first.isoformat() if first else None,
            window_end=None,
            observed=None,
            expected=None,
            cause="other",
            cause_detail="no price-book row matches this model",
            link=link,
            dedup_key=f"unpriced_model|{provider}|{model}",
        )  # fmt: skip
        for provider, model, attempts, inp, out, first in rows
    ]
