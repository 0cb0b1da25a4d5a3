"""Which time window a provider sync reads.

A run reads [start, end): given explicitly (a Dagster partition or a backfill), or, for an
unattended run, from the last complete bucket minus a look-back (providers restate recent
buckets for a day or two), or the configured history on the very first run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

DEFAULT_LOOKBACK_DAYS = 2
DEFAULT_HISTORY_DAYS = 90


@dataclass(frozen=True)
class Window:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware (UTC)")
        if self.end <= self.start:
            raise ValueError(f"empty window: {self.start.isoformat()} .. {self.end.isoformat()}")

    @classmethod
    def of_days(cls, first: date, last_inclusive: date) -> Window:
        return cls(_midnight(first), _midnight(last_inclusive + timedelta(days=1)))

    @property
    def days(self) -> tuple[date, date]:
        """First and last (inclusive) calendar day the window touches."""
        return self.start.date(), (self.end - timedelta(microseconds=1)).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def sync_window(
    last_complete_end: datetime | None,
    now: datetime,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    history_days: int = DEFAULT_HISTORY_DAYS,
) -> Window:
    """The whole days to read: from the last complete bucket minus the look-back, through today."""
    today = now.astimezone(UTC).date()
    if last_complete_end is None:
        first = today - timedelta(days=history_days - 1)
    else:
        first = min(last_complete_end.astimezone(UTC).date(), today) - timedelta(days=lookback_days)
    return Window.of_days(first, today)
