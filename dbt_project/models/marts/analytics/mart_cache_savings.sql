{{ daily_partitioned_config() }}
-- Grain: day x provider x model. Hit rate = cache-read tokens / input tokens; savings = what
-- the cached tokens would have cost at the input price minus what they cost (cache_savings).
select
    usage_date,
    provider,
    model,
    sum(input_tokens) as input_tokens,
    sum(cache_read_tokens) as cache_read_tokens,
    sum(cache_write_tokens) as cache_write_tokens,
    cast({{ safe_divide('sum(cache_read_tokens)', 'sum(input_tokens)') }} as {{ float_type() }}) as cache_hit_rate,
    cast(sum(cache_read_cost) as {{ money_type() }}) as cache_read_cost,
    cast(sum(cache_write_cost) as {{ money_type() }}) as cache_write_cost,
    cast(sum(cache_savings) as {{ money_type() }}) as estimated_savings,
    -- newest pricing this day's rows reflect: later (re)pricing rebuilds the day
    max(priced_at) as source_priced_at
from {{ ref('agg_usage_daily_by_tenant') }}
{{ daily_partition_filter() }}
group by usage_date, provider, model
