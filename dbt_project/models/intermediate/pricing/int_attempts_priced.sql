-- Every attempt priced with the price version in force at its timestamp (docs/design.md §2), and
-- the negotiated contract discount in force then (a model-specific contract beats the
-- provider-wide one). Cost is derived here on every run from the price book: nothing is
-- frozen at ingestion.
--
-- Incremental: a run prices the attempts loaded since the last run (dlt load id) and re-prices
-- every attempt of a (provider, model) whose prices, pattern match or contracts changed (a
-- fingerprint per model is kept on each row). Rows priced in a run carry its `priced_at`, which
-- the models above use to pick up exactly what changed. A change of the custom dimensions
-- (TOKENLAKE_CUSTOM_DIMENSIONS) re-reads every attempt, so history carries the new columns.
{{ config(
    materialized=incremental_materialization(),
    unique_key=['request_id', 'attempt'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with matches as (
    select * from {{ ref('int_model_price_matches') }}
),

versions as (
    select * from {{ ref('int_price_versions') }}
),

contracts as (
    select * from {{ ref('int_contract_versions') }}
),

-- One fingerprint per (provider, model) seen: what its prices are made of. A table of its own:
-- its few rows are then known to the planner, which otherwise builds the join's hash table on
-- the attempts' side (measured at 10 M attempts: 38 s instead of 1 s).
fingerprints as (
    select * from {{ ref('int_model_price_fingerprints') }}
),

{% set incremental = is_incremental_with('load_id') %}
{% if incremental %}
{#- The models whose fingerprint is not on their stored rows: all their attempts are re-priced.
    Both are looked up first, so that a run with no price change filters the events by a
    literal load id, which the engine applies as it scans the raw table; a subquery's value, or
    an `or`, is applied only once every row of history is read and typed (10 M: 0.9 -> 0.1 s). -#}
{%- set repriced_models_sql -%}
    select fingerprints.provider, fingerprints.model
    from {{ ref('int_model_price_fingerprints') }} as fingerprints
    left join (select distinct provider, model, price_fingerprint from {{ this }}) as stored
        on fingerprints.provider = stored.provider
        and fingerprints.model = stored.model
        and fingerprints.price_fingerprint = stored.price_fingerprint
    where stored.model is null
{%- endset -%}
{%- set last_load = query_value("select coalesce(max(load_id), '') from " ~ this) -%}
{%- set any_repriced = query_value("select count(*) from (" ~ repriced_models_sql ~ " limit 1) as repriced")
    if execute else 1 -%}
{#- Custom dimensions added, removed or changed since the stored rows were written: every
    attempt is read again, so that history has them too (and the rollups rebuild every bucket). -#}
{%- set stored_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list
    if execute else [] -%}
{%- if 'dimensions_spec' in stored_columns -%}
{%- set respecified = query_value("select count(*) from (select 1 from " ~ this
    ~ " where coalesce(dimensions_spec, '') <> " ~ sql_literal(custom_dimensions_spec()) ~ " limit 1) as changed") -%}
{%- else -%}
{%- set respecified = custom_dimensions_spec() != '' -%}
{%- endif -%}
{% if any_repriced %}
repriced_models as (
    {{ repriced_models_sql }}
),
{% endif %}
{% endif %}

-- Read twice (the pricing, and the models with a contract). A whole build inlines it into both
-- rather than storing every event with every column (10 M events: 29.1 -> 18.0 s, and 3 GB of temp
-- files -> none); an incremental run's new events are stored once.
attempts as {{ not_materialized() if not incremental }} (
    select events.*
    from {{ ref('stg_usage_logs__events') }} as events
    {% if incremental and not respecified %}
    where events.load_id > {{ sql_literal(last_load) }}
        {%- if any_repriced %}
        or exists (
            select 1 from repriced_models
            where repriced_models.provider = events.provider
                and repriced_models.model = events.model
        )
        {%- endif %}
    {% endif %}
),

matched as (
    select
        attempts.*,
        matches.model_pattern
    from attempts
    left join matches
        on attempts.provider = matches.provider
        and attempts.model = matches.model
),

-- The attempt's own tier when the book has it in force, else the standard row. The versions of
-- a (provider, pattern, tier) never overlap, so each join finds at most one row: no window
-- and no join back over the attempts.
{% set chosen = "case when own_tier.price_version_id is not null then own_tier.COLUMN else standard.COLUMN end" %}
rates as (
    select
        matched.*,
        {{ chosen | replace('COLUMN', 'price_version_id') }} as price_version_id,
        {{ chosen | replace('COLUMN', 'service_tier') }} as priced_tier,
        {{ chosen | replace('COLUMN', 'currency') }} as currency,
        {{ chosen | replace('COLUMN', 'price_version_id') }} is not null as is_priced,
        {{ chosen | replace('COLUMN', 'price_version_id') }} is not null
            and {{ chosen | replace('COLUMN', 'service_tier') }} <> matched.service_tier
            and matched.service_tier <> 'batch' as is_tier_fallback,
        coalesce(
            matched.input_tokens > {{ chosen | replace('COLUMN', 'long_context_threshold') }}, false
        ) as is_long_context,
        -- A batch attempt priced from the standard row gets the batch discount.
        case
            when matched.service_tier = 'batch'
                and {{ chosen | replace('COLUMN', 'service_tier') }} = 'standard'
                then 1 - {{ chosen | replace('COLUMN', 'batch_discount') }}
            else 1
        end as discount_factor,
        {%- for column in ['input_per_mtok', 'output_per_mtok', 'cache_read_per_mtok',
                           'cache_write_per_mtok', 'cache_write_1h_per_mtok',
                           'long_context_input_per_mtok', 'long_context_output_per_mtok'] %}
        {{ chosen | replace('COLUMN', column) }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from matched
    left join versions as own_tier
        on matched.provider = own_tier.provider
        and matched.model_pattern = own_tier.model_pattern
        and matched.service_tier = own_tier.service_tier
        and matched.event_at >= own_tier.valid_from
        and (own_tier.valid_to is null or matched.event_at < own_tier.valid_to)
    left join versions as standard
        on own_tier.price_version_id is null
        and matched.provider = standard.provider
        and matched.model_pattern = standard.model_pattern
        and standard.service_tier = 'standard'
        and matched.event_at >= standard.valid_from
        and (standard.valid_to is null or matched.event_at < standard.valid_to)
),

prices as (
    -- Long-context attempts use the long-context prices for the whole attempt; cache prices
    -- scale with the input price (that is how the providers' long-context tiers are priced).
    select
        *,
        case when is_long_context then long_context_input_per_mtok else input_per_mtok end
            as applied_input_per_mtok,
        case when is_long_context then long_context_output_per_mtok else output_per_mtok end
            as applied_output_per_mtok,
        case
            when is_long_context
                then long_context_input_per_mtok / nullif(input_per_mtok, 0)
            else 1
        end as context_multiplier
    from rates
),

costed as (
    select
        *,
        {{ token_cost('uncached_input_tokens', 'applied_input_per_mtok * discount_factor') }}
            as uncached_input_cost,
        {{ token_cost('cache_read_tokens', 'coalesce(cache_read_per_mtok, input_per_mtok) * context_multiplier * discount_factor') }}
            as cache_read_cost,
        -- A sum of two money values keeps the money type on every engine (PostgreSQL drops it).
        cast(
            {{ token_cost('cache_write_tokens - cache_write_1h_tokens', 'coalesce(cache_write_per_mtok, input_per_mtok) * context_multiplier * discount_factor') }}
            + {{ token_cost('cache_write_1h_tokens', 'coalesce(cache_write_1h_per_mtok, cache_write_per_mtok, input_per_mtok) * context_multiplier * discount_factor') }}
            as {{ money_type() }}
        ) as cache_write_cost,
        {{ token_cost('output_tokens', 'applied_output_per_mtok * discount_factor') }}
            as output_cost
    from prices
),

model_contracts as (
    select distinct
        models.provider,
        models.model,
        contracts.model_pattern
    from (select distinct provider, model from attempts) as models
    inner join contracts
        on models.provider = contracts.provider
        and (
            contracts.model_pattern = ''
            or models.model = contracts.model_pattern
            or {{ regex_full_match('models.model', 'contracts.model_pattern') }}
        )
),

-- Between two consecutive contract boundaries of a model the contracts in force do not change:
-- the winner (longest pattern; the provider-wide '' is the shortest) is chosen once per period,
-- and each attempt joins the one period that holds its time.
contract_bounds as (
    select model_contracts.provider, model_contracts.model, contracts.valid_from as bound_at
    from model_contracts
    inner join contracts
        on model_contracts.provider = contracts.provider
        and model_contracts.model_pattern = contracts.model_pattern
    union
    select model_contracts.provider, model_contracts.model, contracts.valid_to as bound_at
    from model_contracts
    inner join contracts
        on model_contracts.provider = contracts.provider
        and model_contracts.model_pattern = contracts.model_pattern
    where contracts.valid_to is not null
),

contract_periods as (
    select
        provider,
        model,
        bound_at as period_start,
        lead(bound_at) over (partition by provider, model order by bound_at) as period_end
    from contract_bounds
),

period_contracts as (
    select
        contract_periods.provider,
        contract_periods.model,
        contract_periods.period_start,
        contract_periods.period_end,
        contracts.discount_pct,
        contracts.model_pattern,
        row_number() over (
            partition by contract_periods.provider, contract_periods.model, contract_periods.period_start
            order by {{ dbt.length('contracts.model_pattern') }} desc, contracts.model_pattern
        ) as contract_rank
    from contract_periods
    inner join model_contracts
        on contract_periods.provider = model_contracts.provider
        and contract_periods.model = model_contracts.model
    inner join contracts
        on model_contracts.provider = contracts.provider
        and model_contracts.model_pattern = contracts.model_pattern
        and contract_periods.period_start >= contracts.valid_from
        and (contracts.valid_to is null or contract_periods.period_start < contracts.valid_to)
),

contract_discounts as (
    select provider, model, period_start, period_end, discount_pct, model_pattern
    from period_contracts
    where contract_rank = 1
),

totals as (
    select
        costed.*,
        cast(uncached_input_cost + cache_read_cost + cache_write_cost + output_cost as {{ money_type() }})
            as total_cost,
        -- What the batch discount saved (0 when none applied).
        cast(
            case
                when not is_priced then null
                when discount_factor < 1
                    then (uncached_input_cost + cache_read_cost + cache_write_cost + output_cost)
                    / discount_factor * (1 - discount_factor)
                else 0
            end as {{ money_type() }}
        ) as batch_discount_amount,
        -- What reading from the cache saved against paying the input price for those tokens.
        case
            when is_priced then {{ token_cost('cache_read_tokens',
                '(applied_input_per_mtok - coalesce(cache_read_per_mtok, input_per_mtok) * context_multiplier) * discount_factor') }}
        end as cache_savings,
        cast(case when is_priced then coalesce(contract_discounts.discount_pct, 0) end as decimal(6, 4))
            as contract_discount_pct,
        contract_discounts.model_pattern as contract_model_pattern
    from costed
    left join contract_discounts
        on costed.provider = contract_discounts.provider
        and costed.model = contract_discounts.model
        and costed.event_at >= contract_discounts.period_start
        and (contract_discounts.period_end is null or costed.event_at < contract_discounts.period_end)
),

-- What is stored: the attempt, how it was priced and what it cost. The rates themselves are one
-- join away (price_version_id -> dim_price_versions), and unknown log fields stay in
-- raw.usage_events: a copy on every attempt would only make the largest write of a build larger.
final as (
    select
        totals.request_id,
        totals.attempt,
        totals.event_at,
        totals.tenant_id,
        totals.user_id,
        totals.feature,
        totals.agent,
        totals.action_type,
        totals.provider,
        totals.model,
        totals.region,
        totals.key_source,
        totals.status,
        totals.service_tier,
        totals.is_batch,
        totals.is_cache_hit,
        totals.is_cache_reported,
        totals.input_tokens,
        totals.cache_read_tokens,
        totals.cache_write_tokens,
        totals.cache_write_1h_tokens,
        totals.uncached_input_tokens,
        totals.output_tokens,
        totals.reasoning_tokens,
        totals.total_tokens,
        totals.latency_ms,
        totals.retry_count,
        totals.session_id,
        totals.prompt_template_id,
        {%- for dimension in custom_dimension_names() %}
        totals.{{ dimension }},
        {%- endfor %}
        totals.gateway_computed_cost,
        totals.source_file,
        totals.source_line,
        totals.load_id,
        totals.model_pattern,
        totals.price_version_id,
        totals.priced_tier,
        totals.currency,
        totals.is_priced,
        totals.is_tier_fallback,
        totals.is_long_context,
        totals.uncached_input_cost,
        totals.cache_read_cost,
        totals.cache_write_cost,
        totals.output_cost,
        totals.total_cost,
        totals.batch_discount_amount,
        totals.cache_savings,
        totals.contract_discount_pct,
        totals.contract_model_pattern,
        cast(totals.total_cost * (1 - coalesce(totals.contract_discount_pct, 0)) as {{ money_type() }}) as net_cost,
        fingerprints.price_fingerprint,
        {{ sql_literal(custom_dimensions_spec()) }} as dimensions_spec,
        {{ run_started_timestamp() }} as priced_at
    from totals
    left join fingerprints
        on totals.provider = fingerprints.provider
        and totals.model = fingerprints.model
)

select * from final
