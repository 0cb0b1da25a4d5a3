-- Every attempt priced with the price version in force at its timestamp (DESIGN.md §2).
-- Cost is derived here on every run from the price book: a corrected or late price row
-- re-prices history. An attempt whose model has no price keeps NULL cost and is_priced false.
with attempts as (
    select * from {{ ref('stg_usage_logs__events') }}
),

matches as (
    select * from {{ ref('int_model_price_matches') }}
),

versions as (
    select * from {{ ref('int_price_versions') }}
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

-- The attempt's own tier when the book has it, else the standard row.
candidates as (
    select
        matched.request_id,
        matched.attempt,
        versions.price_version_id,
        versions.service_tier as priced_tier,
        versions.currency,
        versions.input_per_mtok,
        versions.output_per_mtok,
        versions.cache_read_per_mtok,
        versions.cache_write_per_mtok,
        versions.cache_write_1h_per_mtok,
        versions.long_context_threshold,
        versions.long_context_input_per_mtok,
        versions.long_context_output_per_mtok,
        versions.batch_discount,
        row_number() over (
            partition by matched.request_id, matched.attempt
            order by case when versions.service_tier = matched.service_tier then 0 else 1 end
        ) as tier_rank
    from matched
    inner join versions
        on matched.provider = versions.provider
        and matched.model_pattern = versions.model_pattern
        and versions.service_tier in (matched.service_tier, 'standard')
        and matched.event_at >= versions.valid_from
        and (versions.valid_to is null or matched.event_at < versions.valid_to)
),

chosen as (
    select * from candidates where tier_rank = 1
),

rates as (
    select
        matched.*,
        chosen.price_version_id,
        chosen.priced_tier,
        chosen.currency,
        chosen.price_version_id is not null as is_priced,
        chosen.price_version_id is not null
            and chosen.priced_tier <> matched.service_tier
            and matched.service_tier <> 'batch' as is_tier_fallback,
        coalesce(
            matched.input_tokens > chosen.long_context_threshold, false
        ) as is_long_context,
        -- A batch attempt priced from the standard row gets the batch discount.
        case
            when matched.service_tier = 'batch' and chosen.priced_tier = 'standard'
                then 1 - chosen.batch_discount
            else 1
        end as discount_factor,
        chosen.input_per_mtok,
        chosen.output_per_mtok,
        chosen.cache_read_per_mtok,
        chosen.cache_write_per_mtok,
        chosen.cache_write_1h_per_mtok,
        chosen.long_context_input_per_mtok,
        chosen.long_context_output_per_mtok
    from matched
    left join chosen
        on matched.request_id = chosen.request_id
        and matched.attempt = chosen.attempt
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
        {{ token_cost('cache_write_tokens - cache_write_1h_tokens', 'coalesce(cache_write_per_mtok, input_per_mtok) * context_multiplier * discount_factor') }}
        + {{ token_cost('cache_write_1h_tokens', 'coalesce(cache_write_1h_per_mtok, cache_write_per_mtok, input_per_mtok) * context_multiplier * discount_factor') }}
            as cache_write_cost,
        {{ token_cost('output_tokens', 'applied_output_per_mtok * discount_factor') }}
            as output_cost
    from prices
),

final as (
    select
        *,
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
        ) as batch_discount_amount
    from costed
)

select * from final
