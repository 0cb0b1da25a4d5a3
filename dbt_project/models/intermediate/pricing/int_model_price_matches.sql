-- Which price-book pattern prices each (provider, model) seen in the usage events.
-- An exact name beats a pattern; among patterns the longest wins. Two equally good patterns
-- are reported (is_ambiguous) and fail a test rather than being picked at random.
with models as (
    select distinct provider, model from {{ ref('stg_usage_logs__events') }}
),

patterns as (
    select distinct provider, model_pattern from {{ ref('stg_seeds__price_book') }}
),

candidates as (
    select
        models.provider,
        models.model,
        patterns.model_pattern,
        case when models.model = patterns.model_pattern then 1 else 0 end as is_exact,
        {{ dbt.length('patterns.model_pattern') }} as pattern_length
    from models
    inner join patterns
        on models.provider = patterns.provider
        and (
            models.model = patterns.model_pattern
            or {{ regex_full_match('models.model', 'patterns.model_pattern') }}
        )
),

ranked as (
    select
        *,
        row_number() over (
            partition by provider, model order by is_exact desc, pattern_length desc, model_pattern
        ) as match_rank,
        count(*) over (partition by provider, model, is_exact, pattern_length) as equally_good
    from candidates
),

final as (
    select
        provider,
        model,
        model_pattern,
        is_exact = 1 as is_exact_match,
        is_exact = 0 and equally_good > 1 as is_ambiguous
    from ranked
    where match_rank = 1
)

select * from final
