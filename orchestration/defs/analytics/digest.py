"""The daily and weekly digest as an asset (its job and schedules: defs/jobs.py).

Each materialisation builds the digest of the last complete day or week from the marts, draws
its chart under $TOKENLAKE_HOME/digests/, and puts one `digest` alert in the outbox: the
webhook and, with TOKENLAKE_SMTP_HOST and TOKENLAKE_SMTP_TO set, email (chart attached).
"""

import base64
import json

import dagster as dg

from orchestration import warehouse
from orchestration.alerts.digest import PERIOD_DAYS, build_digest, chart, digest_alert
from orchestration.defs.alerting.resources import AlertsResource
from orchestration.defs.analytics.assets import asset_link
from orchestration.defs.skips import skip_off_duckdb
from orchestration.settings import Settings

DIGEST_KEY = dg.AssetKey(["analytics", "digest"])


class DigestConfig(dg.Config):
    period: str = "daily"  # daily | weekly


@dg.asset(
    key=DIGEST_KEY,
    deps=[dg.AssetKey(["marts", "agg_usage_daily_by_tenant"]), dg.AssetKey(["seeds", "budgets"])],
    group_name="analytics",
    kinds={"python", "duckdb"},
    pool="warehouse",
    description=(
        "Daily or weekly digest: spend vs the period before, top movers by tenant, feature and "
        "model, month-end forecast and budgets, the period's incidents, a chart; to the webhook "
        "and by email."
    ),
)
def spend_digest(
    context: dg.AssetExecutionContext,
    config: DigestConfig,
    alerts: AlertsResource,
    settings: dg.ResourceParam[Settings],
) -> dg.MaterializeResult:
    if config.period not in PERIOD_DAYS:
        raise dg.Failure(description=f"period must be one of {', '.join(PERIOD_DAYS)}")
    if skipped := skip_off_duckdb(context, settings, "the digest"):
        return skipped
    outbox = alerts.outbox()
    incidents = [
        {k: json.loads(r["payload"]).get(k) for k in ("title", "summary", "cause", "window_start")}
        for r in outbox.rows()
        if r["kind"] == "anomaly"
    ]
    with warehouse.connect(settings, read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        budgets = con.execute("select * from seeds.budgets").df()
        digest = build_digest(con, config.period, incidents, budgets)
        if digest is None:
            return dg.MaterializeResult(metadata={"status": "no usage yet"})
        png = chart(con, digest, settings.home / "digests" / f"{config.period}-{digest.end}.png")
    alert = digest_alert(digest, asset_link(DIGEST_KEY), png)
    new = outbox.add(alert)
    image = base64.b64encode(png.read_bytes()).decode()
    return dg.MaterializeResult(
        metadata={
            "period": config.period,
            "start": str(digest.start),
            "end": str(digest.end),
            "spend": digest.spend,
            "previous": digest.previous,
            "new_alert": bool(new),
            "digest": dg.MetadataValue.md("\n".join(f"- {line}" for line in digest.lines())),
            "chart": dg.MetadataValue.md(f"![chart](data:image/png;base64,{image})"),
        }
    )
