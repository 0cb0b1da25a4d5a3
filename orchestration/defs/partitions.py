"""The time partitions shared by domains: one calendar day (UTC) from 2024-01-01 to today.

Provider reports and the daily-partitioned marts use the same definition, so one date range
selects the same days everywhere (a backfill from the UI or `--partition-range`)."""

import dagster as dg

PARTITION_START = "2024-01-01"
# end_offset=1: today's partition exists (providers report the running day as it grows).
DAILY = dg.DailyPartitionsDefinition(start_date=PARTITION_START, end_offset=1, timezone="UTC")
