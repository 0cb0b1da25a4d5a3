"""Steps that read the DuckDB file directly (forecasts, alerts, publishing) skip on another
warehouse, with the reason recorded on the materialisation."""

import dagster as dg

from orchestration import warehouse
from orchestration.settings import Settings


def skip_off_duckdb(
    context: dg.AssetExecutionContext, settings: Settings, step: str, note: str = ""
) -> dg.MaterializeResult | None:
    """None on the DuckDB warehouse; elsewhere the skipped materialisation of `step`."""
    reason = warehouse.not_on_duckdb(settings, step)
    if reason is None:
        return None
    reason += note
    context.log.warning("skipped: %s", reason)
    return dg.MaterializeResult(metadata={"status": "skipped", "reason": reason})
