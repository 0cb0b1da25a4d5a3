"""Deterministic demo usage logs: 90 days of an organisation's LLM traffic, with incidents.

Vectorised with NumPy one day at a time (never a Python object per event) and written by
DuckDB as hourly files, the way log shippers deliver them:

    <out>/logs/gateway/dt=YYYY-MM-DD/hour=HH/events_0.json.gz   modern names, ISO timestamps
    <out>/logs/legacy-gateway/dt=.../hour=../events_0.json      prompt_tokens/completion_tokens, epoch ms
    <out>/logs/app/dt=.../hour=../events_0.parquet              batch jobs written by the application

`manifest.json` lists the planted incidents so that tests and people know what to look for.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from demo import provider_ledger
from demo.catalog import (
    FEATURES,
    GATEWAY_BLENDED_RATE,
    REGIONS,
    TENANT_NAMES,
    TIERS,
    UNPRICED_MODEL,
)

DAYS = 90
PRICE_BOOK = Path(__file__).resolve().parents[1] / "seeds" / "price_book.csv"
PROVIDER_API_DIR = "provider_api"  # <out>/provider_api/ledger.parquet: what the demo API serves
RETRY_2_SHARE = 0.05
RETRY_3_SHARE = 0.01
SOURCES = ("gateway", "legacy-gateway", "app")


@dataclass
class Incident:
    kind: str
    date: str
    dimension: str
    value: str
    factor: float | None = None
    detail: str = ""


@dataclass
class Manifest:
    seed: int
    start: str
    end: str
    days: int
    events: int = 0
    requests: int = 0
    files: int = 0
    formats: dict[str, str] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    tenants: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Organisation:
    """Tenants with tiers, volumes, users, regions and BYOK habits (fixed by the seed)."""

    names: tuple[str, ...]
    tiers: np.ndarray
    weights: np.ndarray
    users: np.ndarray
    regions: np.ndarray
    byok: np.ndarray

    @classmethod
    def make(cls, rng: np.random.Generator) -> Organisation:
        n = len(TENANT_NAMES)
        tiers = rng.choice(3, size=n, p=[0.5, 0.34, 0.16])
        base = np.array([1.0, 4.0, 15.0])[tiers]
        weights = base * rng.lognormal(0, 0.6, size=n)
        users = np.array([8, 40, 150])[tiers] + rng.integers(0, 20, size=n)
        regions = rng.choice(len(REGIONS), size=n, p=[0.6, 0.3, 0.1])
        byok = (tiers == 2) & (rng.random(n) < 0.5)
        return cls(tuple(TENANT_NAMES), tiers, weights / weights.sum(), users, regions, byok)


def _variant_table() -> dict[str, np.ndarray]:
    rows = [(fi, v) for fi, f in enumerate(FEATURES) for v in f.variants]
    models = sorted({v.model for _, v in rows} | {UNPRICED_MODEL[1]})
    actions = sorted({v.action_type for _, v in rows})
    return {
        "feature": np.array([fi for fi, _ in rows]),
        "share": np.array([v.share for _, v in rows]),
        "action": np.array([actions.index(v.action_type) for _, v in rows]),
        "provider": np.array([0 if v.provider == "openai" else 1 for _, v in rows]),
        "model": np.array([models.index(v.model) for _, v in rows]),
        "mean_input": np.array([v.mean_input for _, v in rows], dtype=float),
        "mean_output": np.array([v.mean_output for _, v in rows], dtype=float),
        "cache_share": np.array([v.cache_share for _, v in rows]),
        "batch_share": np.array([v.batch_share for _, v in rows]),
        "reasoning": np.array([v.reasoning for _, v in rows]),
        "long_context": np.array([v.long_context_share for _, v in rows]),
        "models": np.array(models, dtype=object),
        "actions": np.array(actions, dtype=object),
    }


VARIANTS = _variant_table()


def _lognormal(rng: np.random.Generator, mean: np.ndarray, sigma: float = 0.6) -> np.ndarray:
    mu = np.log(np.maximum(mean, 1e-9)) - sigma**2 / 2
    return np.where(mean > 0, np.round(rng.lognormal(mu, sigma)), 0).astype(np.int64)


class DemoGenerator:
    def __init__(self, events: int, seed: int = 42, end: datetime | None = None) -> None:
        self.events = events
        self.seed = seed
        now = end or datetime.now(UTC)
        self.end = now.astimezone(UTC).replace(microsecond=0)
        self.first_day = (self.end - timedelta(days=DAYS - 1)).date()
        self.org = Organisation.make(np.random.default_rng([seed, 0]))
        self.incidents = self._plan_incidents()
        day_idx = np.arange(DAYS)
        weekday = np.array([(self.first_day + timedelta(days=int(d))).weekday() for d in day_idx])
        self.day_weights = (1 + 0.3 * day_idx / DAYS) * np.where(weekday >= 5, 0.45, 1.0)
        hours = np.arange(24)
        diurnal = 0.25 + np.exp(-(((hours - 15) / 4.5) ** 2))
        self.hour_p = diurnal / diurnal.sum()

    # -- incidents -------------------------------------------------------------------------
    def _plan_incidents(self) -> dict[str, Incident]:
        def day(offset: int) -> str:
            return (self.end.date() - timedelta(days=offset)).isoformat()

        premium = [i for i, t in enumerate(self.org.tiers) if t == 1]
        spike_tenant = self.org.names[premium[len(premium) // 2]]
        return {
            "prompt_growth": Incident(
                "prompt_growth", day(6), "feature", "code_review", 3.0,
                "code_review's prompts are 3x longer for one day (a template change shipped context it did not need)",
            ),
            "tenant_spike": Incident(
                "tenant_spike", day(3), "tenant", spike_tenant, 5.0,
                f"{spike_tenant} makes 5x its usual calls for one day (a runaway integration)",
            ),
            "unpriced_model": Incident(
                "unpriced_model", day(10), "model", UNPRICED_MODEL[1], None,
                "support_bot starts sending 30% of its OpenAI calls to a fine-tuned model that has no price",
            ),
        }  # fmt: skip

    # -- one day ---------------------------------------------------------------------------
    def day_table(self, d: int) -> pa.Table:
        """All attempts of day `d` (0 = first day) as an Arrow table of codes and numbers."""
        rng = np.random.default_rng([self.seed, 1, d])
        org, V = self.org, VARIANTS
        date = self.first_day + timedelta(days=d)
        day_start = int(datetime(date.year, date.month, date.day, tzinfo=UTC).timestamp())
        per_request = 1 + RETRY_2_SHARE + RETRY_3_SHARE
        n_req = int(round(self.events / per_request * self.day_weights[d] / self.day_weights.sum()))

        tenant = rng.choice(len(org.names), size=n_req, p=org.weights)
        spike = self.incidents["tenant_spike"]
        if date.isoformat() == spike.date:
            t = org.names.index(spike.value)
            extra = int((spike.factor - 1) * (tenant == t).sum())
            tenant = np.concatenate([tenant, np.full(extra, t)])
        n = len(tenant)

        ts_ms = (
            day_start + rng.choice(24, size=n, p=self.hour_p) * 3600 + rng.integers(0, 3600, n)
        ) * 1000 + rng.integers(0, 1000, n)
        feature_p = np.array([f.weight for f in FEATURES])
        feature = rng.choice(len(FEATURES), size=n, p=feature_p / feature_p.sum())
        variant = np.zeros(n, dtype=np.int64)
        for fi in range(len(FEATURES)):  # a dozen features, not one loop per event
            ids = np.flatnonzero(V["feature"] == fi)
            mask = feature == fi
            variant[mask] = rng.choice(
                ids, size=mask.sum(), p=V["share"][ids] / V["share"][ids].sum()
            )

        model = V["model"][variant].copy()
        unpriced = self.incidents["unpriced_model"]
        if date.isoformat() >= unpriced.date:
            support = [i for i, f in enumerate(FEATURES) if f.name == "support_bot"][0]
            ft = (feature == support) & (V["provider"][variant] == 0) & (rng.random(n) < 0.3)
            model[ft] = list(V["models"]).index(UNPRICED_MODEL[1])

        input_tokens = np.maximum(_lognormal(rng, V["mean_input"][variant]), 1)
        output_tokens = _lognormal(rng, V["mean_output"][variant])
        growth = self.incidents["prompt_growth"]
        if date.isoformat() == growth.date:
            gi = [i for i, f in enumerate(FEATURES) if f.name == growth.value][0]
            input_tokens[feature == gi] *= int(growth.factor)
        long_ctx = rng.random(n) < V["long_context"][variant]
        input_tokens[long_ctx] = rng.integers(210_000, 400_000, long_ctx.sum())

        hit = rng.random(n) < V["cache_share"][variant]
        cache_read = np.where(hit, np.floor(input_tokens * rng.uniform(0.5, 0.9, n)), 0).astype(
            np.int64
        )
        anthropic = V["provider"][variant] == 1
        writes = anthropic & (V["cache_share"][variant] > 0) & ~hit & (rng.random(n) < 0.15)
        cache_write = np.where(writes, np.floor(input_tokens * rng.uniform(0.3, 0.8, n)), 0).astype(
            np.int64
        )
        cache_write_1h = np.where(rng.random(n) < 0.3, cache_write, 0)
        reasoning = np.where(
            V["reasoning"][variant], np.floor(output_tokens * rng.uniform(0.3, 0.7, n)), 0
        ).astype(np.int64)
        batch = rng.random(n) < V["batch_share"][variant]
        tier = np.where(batch, 3, 0)  # 0 standard, 1 priority, 2 flex, 3 batch
        openai = ~anthropic
        tier[(~batch) & openai & (org.tiers[tenant] == 2) & (rng.random(n) < 0.05)] = 1
        is_o4 = V["models"][model] == "o4-mini-2025-04-16"
        tier[(~batch) & is_o4 & (rng.random(n) < 0.1)] = 2
        byok = org.byok[tenant] & (rng.random(n) < 0.6)

        # Retries: attempts 2..n share the request; earlier attempts failed.
        u = rng.random(n)
        attempts = 1 + (u < RETRY_2_SHARE + RETRY_3_SHARE) + (u < RETRY_3_SHARE)
        req = np.repeat(np.arange(n), attempts)
        first = np.repeat(np.cumsum(attempts) - attempts, attempts)
        attempt = np.arange(len(req)) - first + 1
        last = attempt == attempts[req]
        m = len(req)
        status = np.where(
            last, np.where(rng.random(m) < 0.003, 3, 0), 1 + rng.choice(3, m, p=[0.6, 0.25, 0.15])
        )
        # status codes: 0 ok, 1 rate_limited, 2 timeout, 3 error
        charged_in = (status == 0) | (status == 2)
        out_scale = np.where(status == 0, 1.0, np.where(status == 2, rng.uniform(0, 0.5, m), 0.0))
        inp = np.where(charged_in, input_tokens[req], 0)
        out = np.floor(output_tokens[req] * out_scale).astype(np.int64)
        reas = np.minimum(np.where(status == 0, reasoning[req], 0), out)
        c_read = np.where(charged_in, cache_read[req], 0)
        c_write = np.where(charged_in, cache_write[req], 0)
        c_write_1h = np.where(charged_in, cache_write_1h[req], 0)
        latency = np.select(
            [status == 0, status == 1, status == 2],
            [
                300 + out * 12 + rng.lognormal(5, 0.5, m),
                rng.uniform(20, 200, m),
                rng.uniform(30_000, 60_000, m),
            ],
            rng.uniform(100, 2000, m),
        ).astype(np.int64)
        ts = ts_ms[req] + (attempt - 1) * rng.integers(1000, 8000, m)
        day_end_ms = int(self.end.timestamp() * 1000)
        keep = ts < day_end_ms
        request_key = rng.integers(0, 2**62, n, dtype=np.int64)[req]

        cols = {
            "ts_ms": ts,
            "request_key": request_key,
            "attempt": attempt,
            "tenant": tenant[req],
            "user": rng.integers(0, org.users[tenant[req]]),
            "feature": feature[req],
            "action": V["action"][variant[req]],
            "provider": V["provider"][variant[req]],
            "model": model[req],
            "byok": byok[req],
            "input_tokens": inp,
            "output_tokens": out,
            "cache_read_tokens": c_read,
            "cache_write_tokens": c_write,
            "cache_write_1h_tokens": c_write_1h,
            "reasoning_tokens": reas,
            "latency_ms": latency,
            "status": status,
            "batch": batch[req],
            "tier": tier[req],
            "template": rng.integers(1, 4, m),
            "has_cost": rng.random(m) < 0.7,
            "has_metadata": rng.random(m) < 0.05,
        }
        return pa.table({k: np.asarray(v)[keep] for k, v in cols.items()})

    # -- writing ---------------------------------------------------------------------------
    def _lookups(self) -> dict[str, list]:
        return {
            "tenants": list(self.org.names),
            "tiers": [TIERS[t] for t in self.org.tiers],
            "regions": [REGIONS[r] for r in self.org.regions],
            "features": [f.name for f in FEATURES],
            "agents": [f.agent for f in FEATURES],
            "sources": [f.source for f in FEATURES],
            "legacy": [f.legacy_names for f in FEATURES],
            "actions": list(VARIANTS["actions"]),
            "models": list(VARIANTS["models"]),
        }

    def write(self, out: Path, fmt: str = "mixed") -> Manifest:
        """Write the hourly files under `out/logs` and `out/manifest.json`; returns the manifest."""
        logs = out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        con.execute("set TimeZone = 'UTC'")
        lk = self._lookups()
        for name, values in lk.items():
            con.execute(f"create or replace macro lk_{name}(i) as ({_sql_list(values)})[i + 1]")
        manifest = Manifest(self.seed, self.first_day.isoformat(), self.end.isoformat(), DAYS)
        manifest.tenants = dict(zip(lk["tenants"], lk["tiers"], strict=True))
        formats = _formats(fmt)
        manifest.formats = formats
        for d in range(DAYS):
            day_codes = self.day_table(d)  # noqa: F841 - read by DuckDB
            con.execute(
                f"create or replace temp table day as {EVENTS_SQL.format(rate=GATEWAY_BLENDED_RATE)}"
            )
            manifest.events += con.execute("select count(*) from day").fetchone()[0]
            manifest.requests += con.execute(
                "select count(distinct request_id) from day"
            ).fetchone()[0]
            for source in SOURCES:
                manifest.files += _write_source(con, logs, source, formats[source])
            provider_ledger.collect_day(con)
        ledger = provider_ledger.write_ledger(con, out / PROVIDER_API_DIR, PRICE_BOOK)
        self.incidents["untracked_usage"] = Incident(
            "untracked_usage", self.first_day.isoformat(), "project",
            provider_ledger.UNTRACKED_PROJECT, round(ledger["untracked_share"], 4),
            f"an evaluation notebook calls the providers without the gateway: "
            f"{ledger['untracked_share']:.1%} of the providers' bill "
            f"(${ledger['untracked_cost_usd']:,.2f}) never appears in the logs",
        )  # fmt: skip
        manifest.incidents = list(self.incidents.values())
        (out / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2))
        return manifest


def _sql_list(values: list) -> str:
    def lit(v: object) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        return "'" + str(v).replace("'", "''") + "'"

    return "[" + ", ".join(lit(v) for v in values) + "]"


def _formats(fmt: str) -> dict[str, str]:
    if fmt == "mixed":
        return {"gateway": "jsonl.gz", "legacy-gateway": "jsonl", "app": "parquet"}
    if fmt not in ("jsonl", "jsonl.gz", "parquet"):
        raise ValueError(f"unknown format {fmt!r}: use mixed, jsonl, jsonl.gz or parquet")
    return dict.fromkeys(SOURCES, fmt)


EVENTS_SQL = """
select
    epoch_ms(ts_ms) as ts,
    ts_ms,
    printf('req_%016x', request_key) as request_id,
    attempt,
    lk_tenants(tenant) as tenant_id,
    lk_tenants(tenant) || '-u' || lpad(cast(user as varchar), 4, '0') as user_id,
    lk_features(feature) as feature,
    lk_agents(feature) as agent,
    lk_actions(action) as action_type,
    case provider when 0 then 'openai' else 'anthropic' end as provider,
    lk_models(model) as model,
    lk_regions(tenant) as region,
    case when byok then 'byok' else 'system' end as key_source,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
    reasoning_tokens,
    latency_ms,
    (['ok', 'rate_limited', 'timeout', 'error'])[status + 1] as status,
    attempt - 1 as retry_count,
    batch,
    (['standard', 'priority', 'flex', 'batch'])[tier + 1] as service_tier,
    lk_tenants(tenant) || '-s' || cast(user as varchar) || '-' || strftime(epoch_ms(ts_ms), '%Y%m%d%H') as session_id,
    lk_features(feature) || '-v' || cast(template as varchar) as prompt_template_id,
    case when has_cost then round((input_tokens + output_tokens) * {rate} / 1e6, 6) end as computed_cost,
    has_metadata,
    lk_sources(feature) as source,
    lk_legacy(feature) as legacy
from day_codes
"""

# Staff users (numbers ending in 0) call from staging; a prompt experiment splits some requests.
_ENVIRONMENT = "case when right(user_id, 1) = '0' then 'staging' else 'production' end"
_EXPERIMENT = (
    "case when right(request_id, 1) in ('0', '1', '2', '3') then 'prompt-v2'"
    " when right(request_id, 1) in ('4', '5', '6', '7') then 'control' end"
)
# Custom dimensions that surface them (TOKENLAKE_CUSTOM_DIMENSIONS): the gateway nests them in
# its metadata, the app writes a top-level field.
DEMO_CUSTOM_DIMENSIONS = (
    "environment=metadata.environment|environment,experiment=metadata.experiment"
)

# Column lists per shipper: each writes the contract in its own dialect.
_COMMON = """request_id, attempt, tenant_id, user_id, feature, agent, action_type, provider, model,
    region, key_source, {tokens}, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
    reasoning_tokens, latency_ms, status, retry_count, batch, service_tier, session_id,
    prompt_template_id, computed_cost"""

SOURCE_SELECT = {
    "gateway": "select "
    "case when region = 'eu-west-1' "
    "then strftime(ts + interval 2 hour, '%Y-%m-%dT%H:%M:%S.%g+02:00') "
    "else strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') end as \"timestamp\", "
    + _COMMON.format(
        tokens="input_tokens, output_tokens, input_tokens + output_tokens as total_tokens"
    )
    # The gateway's request metadata: where the call ran and which prompt experiment arm it
    # was in (custom dimensions in the demo: DEMO_CUSTOM_DIMENSIONS).
    + ", {'environment': "
    + _ENVIRONMENT
    + ", 'experiment': "
    + _EXPERIMENT
    + ","
    " 'sdk': case when has_metadata then 'python/1.52.0' end} as metadata"
    " from day where source = 'gateway' and not legacy",
    "legacy-gateway": 'select ts_ms as "timestamp", '
    + _COMMON.format(tokens="input_tokens as prompt_tokens, output_tokens as completion_tokens")
    + " from day where source = 'gateway' and legacy",
    "app": 'select ts as "timestamp", '
    + _COMMON.format(tokens="input_tokens, output_tokens")
    + ", "
    + _ENVIRONMENT
    + " as environment"
    " from day where source = 'app'",
}


def _write_source(con: duckdb.DuckDBPyConnection, out: Path, source: str, fmt: str) -> int:
    """Write one source's events of the current day as hourly Hive-style files.

    Layout: <source>/dt=YYYY-MM-DD/hour=HH/events_0.<ext>; returns how many files were written.
    """
    options = {
        "jsonl": "format json",
        "jsonl.gz": "format json, compression gzip",
        "parquet": "format parquet",
    }[fmt]
    body = SOURCE_SELECT[source].replace("select ", "select ts as _ts, ", 1)
    if not con.execute(f"select exists ({body})").fetchone()[0]:
        return 0  # no events of this source today: no file, no folder
    # return_files: the files written, counted without a second pass over the day's events.
    _, files = con.execute(
        f"""copy (
            select * exclude (_ts), strftime(_ts, '%Y-%m-%d') as dt, strftime(_ts, '%H') as hour
            from ({body}) order by _ts
        ) to '{out / source}' ({options}, partition_by (dt, hour), filename_pattern 'events_{{i}}',
              overwrite_or_ignore true, return_files true)"""
    ).fetchone()
    return len(files)


def generate(
    out: Path, events: int, seed: int = 42, fmt: str = "mixed", end: datetime | None = None
) -> Manifest:
    """Generate demo logs of about `events` attempts under `out`."""
    if events < 1000:
        raise ValueError("use at least 1,000 events")
    return DemoGenerator(events, seed=seed, end=end).write(out, fmt)
