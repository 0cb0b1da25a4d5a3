-- Grain: day of week (1 = Monday) x hour of day in the time zone var('heatmap_timezone')
-- (IANA name, default UTC). All 168 cells are present; a cell without usage holds zeros.
-- Read from the per-hour totals (one row per hour), not the hourly rollup's 9 M rows at 10 M.
-- Whole history (or a window of it) rebuilt: once a day, not hourly (tag `daily`).
{{ config(tags=['daily']) }}
with hourly as (
    select
        {{ utc_to_local('usage_hour', var('heatmap_timezone')) }} as local_hour,
        attempts,
        requests,
        total_cost
    from {{ ref('mart_token_trend_hourly') }}
),

cells as (
    select
        {{ iso_day_of_week('local_hour') }} as day_of_week,
        cast(extract(hour from local_hour) as integer) as hour_of_day,
        sum(attempts) as attempts,
        sum(requests) as requests,
        sum(total_cost) as total_cost
    from hourly
    group by 1, 2
),

spine as (
    select
        cast(floor((cell - 1) / 24) as integer) + 1 as day_of_week,
        cast(mod(cell - 1, 24) as integer) as hour_of_day
    -- generate_series' number type differs by engine (a float on some): cast before mod().
    from (
        select cast(generated_number as integer) as cell
        from ({{ dbt.generate_series(168) }}) as series
    ) as numbers
)

select
    spine.day_of_week,
    spine.hour_of_day,
    '{{ var("heatmap_timezone") }}' as time_zone,
    coalesce(cells.attempts, 0) as attempts,
    coalesce(cells.requests, 0) as requests,
    cast(coalesce(cells.total_cost, 0) as {{ money_type() }}) as total_cost
from spine
left join cells
    on spine.day_of_week = cells.day_of_week
    and spine.hour_of_day = cells.hour_of_day
