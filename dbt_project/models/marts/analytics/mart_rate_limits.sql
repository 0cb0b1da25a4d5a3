-- Grain: day x tenant tier x user x provider x model: calls let through vs rate-limited.
-- Incremental by day: a run rebuilds the days whose rows in agg_usage_daily were (re)priced
-- since this mart last saw them (new and late events, price corrections), so an hourly run
-- does not re-read all history. A change of tenant plans (the tier of past days) rebuilds every
-- day: a fingerprint of the plans is kept on each row.
{{ config(
    materialized=incremental_materialization(),
    unique_key='usage_date',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}
{% set incremental = is_incremental_with('plans_fingerprint') %}

with plans as (
    select tenant_id, tier, valid_from, valid_to from {{ ref('int_tenant_plan_versions') }}
),

fingerprint as (
    select
        {{ dbt.hash(dbt.listagg(
            dbt.concat(["tenant_id", "'|'", "coalesce(tier, '')", "'|'",
                        "cast(valid_from as " ~ dbt.type_string() ~ ")"]),
            "';'", "order by tenant_id, valid_from")) }} as plans_fingerprint
    from plans
),

daily as (
    select * from {{ ref('agg_usage_daily') }}
    {% if incremental %}
    where coalesce((select max(plans_fingerprint) from {{ this }}), '')
            <> (select plans_fingerprint from fingerprint)
        or usage_date in ({{ repriced_days('agg_usage_daily') }})
    {% endif %}
)

select
    daily.usage_date,
    coalesce(plans.tier, 'unknown') as tier,
    daily.tenant_id,
    daily.user_id,
    daily.provider,
    daily.model,
    sum(daily.attempts) as attempts,
    sum(daily.rate_limited) as rate_limited,
    sum(daily.attempts - daily.rate_limited) as authorized,
    sum(case when daily.status = 'ok' then daily.attempts else 0 end) as succeeded,
    cast({{ safe_divide("sum(case when daily.status = 'ok' then daily.attempts else 0 end)", 'sum(daily.attempts)') }} as {{ float_type() }})
        as success_rate,
    cast({{ safe_divide('sum(daily.rate_limited)', 'sum(daily.attempts)') }} as {{ float_type() }}) as rate_limited_share,
    max(daily.priced_at) as source_priced_at,
    max(fingerprint.plans_fingerprint) as plans_fingerprint
from daily
cross join fingerprint
left join plans
    on daily.tenant_id = plans.tenant_id
    and daily.usage_date >= plans.valid_from
    and (plans.valid_to is null or daily.usage_date < plans.valid_to)
group by 1, 2, 3, 4, 5, 6
