-- Grain: scope (feature, tenant or model) x day. "Why did it get more expensive?": the day's
-- priced cost against the mean of the 7 days before, decomposed so that the parts add up to
-- the change exactly (chain substitution, in this order):
--   more_requests       requests changed, everything per request as in the baseline
--   more_retries        attempts per request changed
--   longer_prompts      input tokens per attempt changed (at the baseline's cost per token)
--   longer_completions  output tokens per attempt changed
--   model_mix           the tokens moved between models (each at its baseline cost per token)
--   cache_misses        each model's mix of uncached / cache-read / cache-write input changed
--   price_change        each model's price per token of each kind changed (price book, tier)
-- main_cause is the largest part in the direction of the change.
with daily as (
    select * from {{ ref('agg_usage_daily_by_tenant') }}
),

scoped as (
    {% for scope in ['feature', 'tenant_id', 'model'] %}
    select
        '{{ scope | replace("_id", "") }}' as scope_type,
        {{ scope }} as scope_value,
        usage_date,
        provider,
        model as priced_model,
        sum(requests) as requests,
        sum(attempts) as attempts,
        sum(input_tokens) as input_tokens,
        sum(uncached_input_tokens) as uncached_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        cast(sum(uncached_input_cost) as {{ float_type() }}) as uncached_cost,
        cast(sum(cache_read_cost) as {{ float_type() }}) as cache_read_cost,
        cast(sum(cache_write_cost) as {{ float_type() }}) as cache_write_cost,
        cast(sum(output_cost) as {{ float_type() }}) as output_cost
    from daily
    group by 1, 2, 3, 4, 5
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

-- Each scope-day's models today, with the same models' totals over the 7 days before.
model_days as (
    select
        today.*,
        coalesce(sum(before.uncached_tokens), 0) as b_uncached_tokens,
        coalesce(sum(before.cache_read_tokens), 0) as b_cache_read_tokens,
        coalesce(sum(before.cache_write_tokens), 0) as b_cache_write_tokens,
        coalesce(sum(before.output_tokens), 0) as b_output_tokens,
        coalesce(sum(before.uncached_cost), 0) as b_uncached_cost,
        coalesce(sum(before.cache_read_cost), 0) as b_cache_read_cost,
        coalesce(sum(before.cache_write_cost), 0) as b_cache_write_cost,
        coalesce(sum(before.output_cost), 0) as b_output_cost
    from scoped as today
    left join scoped as before
        on before.scope_type = today.scope_type
        and before.scope_value = today.scope_value
        and before.provider = today.provider
        and before.priced_model = today.priced_model
        and before.usage_date >= {{ dbt.dateadd('day', -7, 'today.usage_date') }}
        and before.usage_date < today.usage_date
    group by
        today.scope_type, today.scope_value, today.usage_date, today.provider, today.priced_model,
        today.requests, today.attempts, today.input_tokens, today.uncached_tokens,
        today.cache_read_tokens, today.cache_write_tokens, today.output_tokens,
        today.uncached_cost, today.cache_read_cost, today.cache_write_cost, today.output_cost
),

-- Cost of today's tokens of each model at the model's baseline cost per token: first with the
-- baseline's own input mix (mix step), then with today's input mix (cache step). A model or a
-- token kind without baseline usage keeps today's price (nothing to compare it with).
model_steps as (
    select
        *,
        input_tokens * coalesce(
            {{ safe_divide('b_uncached_cost + b_cache_read_cost + b_cache_write_cost',
                           'b_uncached_tokens + b_cache_read_tokens + b_cache_write_tokens') }},
            {{ safe_divide('uncached_cost + cache_read_cost + cache_write_cost', 'input_tokens') }}, 0)
        + output_tokens * coalesce({{ safe_divide('b_output_cost', 'b_output_tokens') }},
                                   {{ safe_divide('output_cost', 'output_tokens') }}, 0)
            as at_baseline_model_prices,
        uncached_tokens * coalesce({{ safe_divide('b_uncached_cost', 'b_uncached_tokens') }},
                                   {{ safe_divide('uncached_cost', 'uncached_tokens') }}, 0)
        + cache_read_tokens * coalesce({{ safe_divide('b_cache_read_cost', 'b_cache_read_tokens') }},
                                       {{ safe_divide('cache_read_cost', 'cache_read_tokens') }}, 0)
        + cache_write_tokens * coalesce({{ safe_divide('b_cache_write_cost', 'b_cache_write_tokens') }},
                                        {{ safe_divide('cache_write_cost', 'cache_write_tokens') }}, 0)
        + output_tokens * coalesce({{ safe_divide('b_output_cost', 'b_output_tokens') }},
                                   {{ safe_divide('output_cost', 'output_tokens') }}, 0)
            as at_baseline_kind_prices
    from model_days
),

today as (
    select
        scope_type,
        scope_value,
        usage_date,
        sum(requests) as requests,
        sum(attempts) as attempts,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(uncached_cost + cache_read_cost + cache_write_cost) as input_cost,
        sum(output_cost) as output_cost,
        sum(at_baseline_model_prices) as c5,
        sum(at_baseline_kind_prices) as c6
    from model_steps
    group by 1, 2, 3
),

scope_days as (
    select
        scope_type, scope_value, usage_date,
        sum(requests) as requests,
        sum(attempts) as attempts,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(uncached_cost + cache_read_cost + cache_write_cost) as input_cost,
        sum(output_cost) as output_cost
    from scoped
    group by 1, 2, 3
),

first_days as (
    select scope_type, scope_value, min(usage_date) as first_day from scope_days group by 1, 2
),

baseline as (
    select
        today.scope_type,
        today.scope_value,
        today.usage_date,
        coalesce(sum(before.requests), 0) / 7.0 as requests,
        coalesce(sum(before.attempts), 0) / 7.0 as attempts,
        coalesce(sum(before.input_tokens), 0) / 7.0 as input_tokens,
        coalesce(sum(before.output_tokens), 0) / 7.0 as output_tokens,
        coalesce(sum(before.input_cost), 0) / 7.0 as input_cost,
        coalesce(sum(before.output_cost), 0) / 7.0 as output_cost
    from today
    left join scope_days as before
        on before.scope_type = today.scope_type
        and before.scope_value = today.scope_value
        and before.usage_date >= {{ dbt.dateadd('day', -7, 'today.usage_date') }}
        and before.usage_date < today.usage_date
    group by 1, 2, 3
),

steps as (
    select
        today.scope_type,
        today.scope_value,
        today.usage_date,
        first_days.first_day <= {{ dbt.dateadd('day', -7, 'today.usage_date') }} as has_full_baseline,
        today.requests,
        today.attempts,
        today.input_tokens,
        today.output_tokens,
        baseline.requests as baseline_requests,
        baseline.attempts as baseline_attempts,
        baseline.input_tokens as baseline_input_tokens,
        baseline.output_tokens as baseline_output_tokens,
        baseline.input_cost + baseline.output_cost as c0,
        -- per-request and per-attempt quantities of the baseline
        {{ safe_divide('baseline.attempts', 'baseline.requests') }} as b_attempts_per_request,
        {{ safe_divide('baseline.input_tokens', 'baseline.attempts') }} as b_input_per_attempt,
        {{ safe_divide('baseline.output_tokens', 'baseline.attempts') }} as b_output_per_attempt,
        coalesce({{ safe_divide('baseline.input_cost', 'baseline.input_tokens') }}, 0) as b_input_price,
        coalesce({{ safe_divide('baseline.output_cost', 'baseline.output_tokens') }}, 0) as b_output_price,
        {{ safe_divide('today.attempts', 'today.requests') }} as attempts_per_request,
        today.c5,
        today.c6,
        today.input_cost + today.output_cost as c7
    from today
    inner join baseline
        on today.scope_type = baseline.scope_type
        and today.scope_value = baseline.scope_value
        and today.usage_date = baseline.usage_date
    inner join first_days
        on today.scope_type = first_days.scope_type
        and today.scope_value = first_days.scope_value
),

chain as (
    select
        *,
        c0 * coalesce({{ safe_divide('requests', 'baseline_requests') }}, 0) as c1,
        -- attempts x baseline cost per attempt
        attempts * (coalesce(b_input_per_attempt, 0) * b_input_price
                    + coalesce(b_output_per_attempt, 0) * b_output_price) as c2,
        input_tokens * b_input_price
            + attempts * coalesce(b_output_per_attempt, 0) * b_output_price as c3,
        input_tokens * b_input_price + output_tokens * b_output_price as c4
    from steps
),

parts as (
    select
        scope_type,
        scope_value,
        usage_date,
        has_full_baseline,
        requests,
        attempts,
        input_tokens,
        output_tokens,
        baseline_requests,
        baseline_attempts,
        baseline_input_tokens,
        baseline_output_tokens,
        c7 as cost,
        c0 as baseline_cost,
        c7 - c0 as cost_change,
        {{ safe_divide('c7 - c0', 'c0') }} as cost_change_pct,
        -- With no baseline requests every step before the mix collapses: all of it is new usage.
        case when baseline_requests > 0 then c1 - c0 else c4 - c0 end as more_requests,
        case when baseline_requests > 0 then c2 - c1 else 0 end as more_retries,
        case when baseline_requests > 0 then c3 - c2 else 0 end as longer_prompts,
        case when baseline_requests > 0 then c4 - c3 else 0 end as longer_completions,
        c5 - c4 as model_mix,
        c6 - c5 as cache_misses,
        c7 - c6 as price_change
    from chain
),

final as (
    {%- set parts = ['more_requests', 'longer_prompts', 'longer_completions', 'more_retries',
                     'model_mix', 'cache_misses', 'price_change'] %}
    select
        *,
        case
            when cost_change = 0 then 'other'
            {%- for pick, sign in [('greatest', '>'), ('least', '<')] %}
            when cost_change {{ sign }} 0 then
                case {{ pick }}({{ parts | join(', ') }})
                    {%- for part in parts %}
                    when {{ part }} then '{{ part }}'
                    {%- endfor %}
                end
            {%- endfor %}
        end as main_cause
    from parts
)

select * from final
