"""What the providers' own books say about the demo organisation: the data behind the demo API.

The demo logs are what the organisation's gateway and applications recorded. The providers see
more and less than that: they never see calls made with customers' own keys (BYOK), they do
see calls that bypass the gateway (here: an offline-evaluation notebook, a few percent of
usage, and some image, audio, moderation, vector-store and code-interpreter use), and they bill
the fine-tuned model the price book does not know. The ledger holds that view per hour, with
the provider's billed cost per token kind; `provider_api` serves it in the documented formats.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

LEDGER_FILE = "ledger.parquet"
UNTRACKED_PROJECT = "offline_evals"  # the project/workspace the logs never see
UNTRACKED_MODELS = ("gpt-4.1-2025-04-14", "claude-sonnet-4-5-20250929")
UNTRACKED_PERCENT = 8  # of those models' calls are repeated by the evaluation notebook

# The provider's rate for the fine-tune the price book lacks (OpenAI bills it regardless).
PROVIDER_ONLY_PRICES = [
    ("openai", "ft:gpt-4.1-mini-2025-04-14:acme:support-v3:B7x9Q2", "standard", "2025-04-14",
     "0.80", "3.20", "0.20"),
]  # fmt: skip

_MONEY = pa.decimal128(38, 10)
LEDGER_SCHEMA = pa.schema(
    [("hour", pa.timestamp("us")), ("provider", pa.string()), ("report", pa.string()),
     ("model", pa.string()), ("project_id", pa.string()), ("workspace_id", pa.string()),
     ("api_key_id", pa.string()), ("user_id", pa.string()), ("batch", pa.bool_()),
     ("service_tier", pa.string()), ("context_window", pa.string()), ("size", pa.string()),
     ("image_source", pa.string()), ("line_item", pa.string())]
    + [(name, pa.int64()) for name in (
        "requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens",
        "cache_write_1h_tokens", "output_tokens", "images", "characters", "seconds",
        "usage_bytes", "num_sessions", "web_search_requests")]
    + [(name, _MONEY) for name in (
        "cost_input", "cost_cache_read", "cost_cache_write_5m", "cost_cache_write_1h",
        "cost_output", "cost_other")]
    + [("priced", pa.bool_()), ("tracked", pa.bool_()), ("cost_total", _MONEY)]
)  # fmt: skip


def ledger_table(rows: list[dict]) -> pa.Table:
    """A ledger from hand-written rows (tests): missing numbers are 0, cost_total is summed."""
    from decimal import Decimal

    costs = ("cost_input", "cost_cache_read", "cost_cache_write_5m", "cost_cache_write_1h",
             "cost_output", "cost_other")  # fmt: skip
    full = []
    for row in rows:
        rec = {f.name: row.get(f.name) for f in LEDGER_SCHEMA}
        for f in LEDGER_SCHEMA:
            if rec[f.name] is None and pa.types.is_integer(f.type):
                rec[f.name] = 0
        for name in costs:
            rec[name] = Decimal(str(rec[name] or 0))
        rec["cost_total"] = sum((rec[name] for name in costs), Decimal(0))
        rec["priced"] = True if rec["priced"] is None else rec["priced"]
        rec["tracked"] = True if rec["tracked"] is None else rec["tracked"]
        rec["batch"] = bool(rec["batch"])
        full.append(rec)
    return pa.Table.from_pylist(full, schema=LEDGER_SCHEMA)


ATTEMPT_COLUMNS = """
    ts, provider, model, feature, source, service_tier, batch, request_id, status,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens
"""


def collect_day(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the attempts of the current `day` table that the providers see and bill."""
    con.execute(
        f"""create table if not exists provider_attempts as
            select {ATTEMPT_COLUMNS}, true as tracked from day where false"""
    )
    # BYOK calls are billed to the customer's own account; a 429 never reached a model.
    con.execute(
        f"""insert into provider_attempts
            select {ATTEMPT_COLUMNS}, true from day
            where key_source = 'system' and status <> 'rate_limited'"""
    )


def write_ledger(con: duckdb.DuckDBPyConnection, out: Path, price_book: Path) -> dict:
    """Price what the providers saw, add the untracked usage, write `out/ledger.parquet`."""
    out.mkdir(parents=True, exist_ok=True)
    models = ", ".join(f"'{m}'" for m in UNTRACKED_MODELS)
    con.execute(
        f"""insert into provider_attempts
            select ts + interval 7 minute, provider, model, '{UNTRACKED_PROJECT}', 'notebook',
                   service_tier, batch, request_id || '-eval', status,
                   input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                   cache_write_1h_tokens, false
            from provider_attempts
            where tracked and model in ({models}) and hash(request_id) % 100 < {UNTRACKED_PERCENT}"""
    )
    extra = ", ".join("(" + ", ".join(f"'{v}'" for v in row) + ")" for row in PROVIDER_ONLY_PRICES)
    con.execute(
        f"""create or replace temp table provider_book as
        with shipped as (
            select provider, model_pattern,
                   coalesce(nullif(service_tier, ''), 'standard') as tier,
                   cast(effective_from as date) as effective_from,
                   cast(input_per_mtok as decimal(18, 6)) as input_price,
                   cast(output_per_mtok as decimal(18, 6)) as output_price,
                   cast(nullif(cache_read_per_mtok, '') as decimal(18, 6)) as cache_read_price,
                   cast(nullif(cache_write_per_mtok, '') as decimal(18, 6)) as cache_write_price,
                   cast(nullif(cache_write_1h_per_mtok, '') as decimal(18, 6)) as cache_write_1h_price,
                   cast(nullif(long_context_threshold, '') as bigint) as long_context_threshold,
                   cast(nullif(long_context_input_per_mtok, '') as decimal(18, 6)) as long_input_price,
                   cast(nullif(long_context_output_per_mtok, '') as decimal(18, 6)) as long_output_price,
                   cast(coalesce(nullif(batch_discount, ''), '0') as decimal(6, 4)) as batch_discount
            from read_csv('{price_book}', all_varchar = true, header = true)
        ),
        provider_only(provider, model_pattern, tier, effective_from, input_price, output_price,
                      cache_read_price) as (values {extra})
        select * from shipped
        union all by name
        select provider, model_pattern, tier, cast(effective_from as date) as effective_from,
               cast(input_price as decimal(18, 6)) as input_price,
               cast(output_price as decimal(18, 6)) as output_price,
               cast(cache_read_price as decimal(18, 6)) as cache_read_price,
               cast(0 as decimal(6, 4)) as batch_discount
        from provider_only"""
    )
    contracts = price_book.with_name("provider_contracts.csv")
    con.execute(
        f"""create or replace temp table provider_contracts as
            select provider, coalesce(model_pattern, '') as model_pattern,
                   cast(effective_from as date) as effective_from,
                   cast(discount_pct as decimal(6, 4)) as discount_pct
            from read_csv('{contracts}', all_varchar = true, header = true)"""
    )
    con.execute(PRICED_ATTEMPTS_SQL)
    con.execute(LEDGER_SQL)
    con.execute(EXTRA_SERVICES_SQL)
    con.execute(
        """create or replace temp table ledger as
           select * replace (
               coalesce(batch, false) as batch,
               coalesce(cost_input, 0) as cost_input,
               coalesce(cost_cache_read, 0) as cost_cache_read,
               coalesce(cost_cache_write_5m, 0) as cost_cache_write_5m,
               coalesce(cost_cache_write_1h, 0) as cost_cache_write_1h,
               coalesce(cost_output, 0) as cost_output,
               coalesce(cost_other, 0) as cost_other),
               cast(coalesce(cost_input, 0) + coalesce(cost_cache_read, 0)
                    + coalesce(cost_cache_write_5m, 0) + coalesce(cost_cache_write_1h, 0)
                    + coalesce(cost_output, 0) + coalesce(cost_other, 0) as decimal(38, 10))
                   as cost_total
           from ledger"""
    )
    path = out / LEDGER_FILE
    con.execute(
        f"copy (select * from ledger order by hour, provider, report) to '{path}' (format parquet)"
    )
    row = con.execute(
        """select sum(cost_total) filter (where not tracked),
                  sum(cost_total),
                  count(*) filter (where not priced)
           from ledger"""
    ).fetchone()
    return {
        "ledger": str(path),
        "untracked_cost_usd": float(row[0] or 0),
        "provider_cost_usd": float(row[1] or 0),
        "untracked_share": float((row[0] or 0) / row[1]) if row[1] else 0.0,
        "unpriced_ledger_rows": int(row[2]),
    }


# The provider's billing: the attempt's model matched exactly or by the longest pattern, the
# version in force that day, the attempt's tier row or the standard one (batch discount when a
# batch call is priced from the standard row), long-context prices above the threshold, less
# the negotiated contract discount (seeds/provider_contracts.csv).
PRICED_ATTEMPTS_SQL = """
create or replace temp table priced_attempts as
with patterns as (
    select distinct provider, model_pattern from provider_book
),
matches as (
    select m.provider, m.model, p.model_pattern
    from (select distinct provider, model from provider_attempts) m
    join patterns p
        on p.provider = m.provider
        and (p.model_pattern = m.model or regexp_full_match(m.model, p.model_pattern))
    qualify row_number() over (
        partition by m.provider, m.model
        order by (p.model_pattern = m.model) desc, length(p.model_pattern) desc
    ) = 1
),
keys as (
    select distinct provider, model, service_tier, cast(ts as date) as day from provider_attempts
),
versions as (
    select k.provider, k.model, k.service_tier, k.day, b.*  exclude (provider, model_pattern)
    from keys k
    join matches using (provider, model)
    join provider_book b
        on b.provider = k.provider and b.model_pattern = matches.model_pattern
        and b.tier in (k.service_tier, 'standard') and b.effective_from <= k.day
    qualify row_number() over (
        partition by k.provider, k.model, k.service_tier, k.day
        order by (b.tier = k.service_tier) desc, b.effective_from desc
    ) = 1
),
rated as (
    select a.*,
        v.input_price is not null as priced,
        coalesce(a.input_tokens > v.long_context_threshold, false) as long_context,
        case when a.service_tier = 'batch' and v.tier = 'standard' then 1 - v.batch_discount
             else 1 end as factor,
        v.input_price, v.output_price, v.cache_read_price, v.cache_write_price,
        v.cache_write_1h_price, v.long_input_price, v.long_output_price
    from provider_attempts a
    left join versions v
        on v.provider = a.provider and v.model = a.model and v.service_tier = a.service_tier
        and v.day = cast(a.ts as date)
),
-- The negotiated discount in force that day: a model's own contract beats the provider-wide one.
contract_days as (
    select k.provider, k.model, k.day, c.discount_pct
    from (select distinct provider, model, cast(ts as date) as day from provider_attempts) k
    join provider_contracts c
        on c.provider = k.provider and c.effective_from <= k.day
        and (c.model_pattern = '' or regexp_full_match(k.model, c.model_pattern))
    qualify row_number() over (
        partition by k.provider, k.model, k.day
        order by length(c.model_pattern) desc, c.effective_from desc
    ) = 1
),
prices as (
    select rated.*,
        case when long_context then long_input_price else input_price end as in_price,
        case when long_context then long_output_price else output_price end as out_price,
        case when long_context then long_input_price / nullif(input_price, 0) else 1 end as mult,
        factor * (1 - coalesce(contract_days.discount_pct, 0)) as billed_factor
    from rated
    left join contract_days
        on contract_days.provider = rated.provider and contract_days.model = rated.model
        and contract_days.day = cast(rated.ts as date)
)
select *,
    (input_tokens - cache_read_tokens - cache_write_tokens) * in_price * billed_factor / 1e6 as cost_input,
    cache_read_tokens * coalesce(cache_read_price, input_price) * mult * billed_factor / 1e6 as cost_cache_read,
    (cache_write_tokens - cache_write_1h_tokens)
        * coalesce(cache_write_price, input_price) * mult * billed_factor / 1e6 as cost_cache_write_5m,
    cache_write_1h_tokens * coalesce(cache_write_1h_price, cache_write_price, input_price)
        * mult * billed_factor / 1e6 as cost_cache_write_1h,
    output_tokens * out_price * billed_factor / 1e6 as cost_output
from prices
"""

# One row per hour and everything the providers group by (project/workspace per feature, one
# API key per log shipper).
LEDGER_SQL = """
create or replace temp table ledger as
select
    date_trunc('hour', ts) as hour,
    provider,
    case when provider = 'openai' and model like 'text-embedding%' then 'embeddings'
         when provider = 'openai' then 'completions' else 'messages' end as report,
    model,
    case when provider = 'openai' then 'proj_' || feature end as project_id,
    case when provider = 'anthropic' then 'wrkspc_' || feature end as workspace_id,
    case when provider = 'openai' then 'key_' || source else 'apikey_' || source end as api_key_id,
    case when provider = 'openai' then 'user_platform_' || source end as user_id,
    batch,
    case when provider = 'openai' and service_tier in ('standard', 'batch') then 'default'
         else service_tier end as service_tier,
    case when provider = 'anthropic' then
        case when long_context then '200k-1M' else '0-200k' end end as context_window,
    cast(null as varchar) as size,
    cast(null as varchar) as image_source,
    cast(null as varchar) as line_item,
    count(*) as requests,
    sum(input_tokens) as input_tokens,
    sum(cache_read_tokens) as cache_read_tokens,
    sum(cache_write_tokens - cache_write_1h_tokens) as cache_write_5m_tokens,
    sum(cache_write_1h_tokens) as cache_write_1h_tokens,
    sum(output_tokens) as output_tokens,
    0::bigint as images, 0::bigint as characters, 0::bigint as seconds,
    0::bigint as usage_bytes, 0::bigint as num_sessions, 0::bigint as web_search_requests,
    cast(sum(cost_input) as decimal(38, 10)) as cost_input,
    cast(sum(cost_cache_read) as decimal(38, 10)) as cost_cache_read,
    cast(sum(cost_cache_write_5m) as decimal(38, 10)) as cost_cache_write_5m,
    cast(sum(cost_cache_write_1h) as decimal(38, 10)) as cost_cache_write_1h,
    cast(sum(cost_output) as decimal(38, 10)) as cost_output,
    cast(0 as decimal(38, 10)) as cost_other,
    bool_and(priced) as priced,
    tracked
from priced_attempts
group by all
"""

# Services the gateway never logs, every day at midday, sized to a small share of the day's
# logged spend: quantity = share x spend / unit price, cost = quantity x unit price.
EXTRA_SERVICES_SQL = (
    """
insert into ledger by name
with days as (
    select date_trunc('day', hour) + interval 12 hour as hour, sum(
        cost_input + cost_cache_read + cost_cache_write_5m + cost_cache_write_1h + cost_output
    ) as spend
    from ledger where tracked group by 1
),
services(report, model, size, image_source, line_item, share, unit_price, unit) as (values
    ('images', 'gpt-image-1', '1024x1024', 'image.generation', 'gpt-image-1, images', 0.006, 0.042, 'images'),
    ('audio_speeches', 'tts-1', null, null, 'tts-1, characters', 0.003, 0.000015, 'characters'),
    ('audio_transcriptions', 'whisper-1', null, null, 'whisper-1, seconds', 0.002, 0.0001, 'seconds'),
    ('moderations', 'omni-moderation-latest', null, null, 'omni-moderation-latest, input', 0.0, 0.0, 'input_tokens'),
    ('vector_stores', null, null, null, 'vector store storage', 0.001, 0.0000000001, 'usage_bytes'),
    ('code_interpreter_sessions', null, null, null, 'code interpreter sessions', 0.001, 0.03, 'num_sessions')
),
sized as (
    select days.hour, s.*,
        case when s.unit_price = 0 then 40 * (1 + days.spend)
             else greatest(1, round(days.spend * s.share / s.unit_price)) end::bigint as quantity
    from days cross join services s
)
select
    hour, 'openai' as provider, report, model,
    'proj_"""
    + UNTRACKED_PROJECT
    + """' as project_id,
    case when report in ('vector_stores', 'code_interpreter_sessions') then null
         else 'key_notebook' end as api_key_id,
    case when report in ('vector_stores', 'code_interpreter_sessions') then null
         else 'user_platform_notebook' end as user_id,
    size, image_source, line_item,
    case when unit in ('images', 'characters', 'seconds', 'input_tokens')
         then greatest(1, quantity // case unit when 'characters' then 1500
                                               when 'seconds' then 200
                                               when 'input_tokens' then 200 else 1 end)
         else 0 end::bigint as requests,
    case when unit = 'input_tokens' then quantity else 0 end::bigint as input_tokens,
    case when unit = 'images' then quantity else 0 end::bigint as images,
    case when unit = 'characters' then quantity else 0 end::bigint as characters,
    case when unit = 'seconds' then quantity else 0 end::bigint as seconds,
    case when unit = 'usage_bytes' then quantity else 0 end::bigint as usage_bytes,
    case when unit = 'num_sessions' then quantity else 0 end::bigint as num_sessions,
    cast(quantity * cast(unit_price as decimal(20, 12)) as decimal(38, 10)) as cost_other,
    true as priced, false as tracked
from sized
"""
)
