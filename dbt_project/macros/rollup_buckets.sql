{# Which buckets an incremental rollup rebuilds or deletes (a run costs what its new data costs). #}

{#
  The time buckets an incremental rollup must rebuild, so that a run costs what its new data
  costs: those holding attempts (re)priced since its last run (new and late events, price
  corrections), and, within the look-back window (var rollup_lookback_days back from its newest
  bucket), those whose attempt count no longer matches the rollup's - an attempt re-delivered
  with another timestamp left a bucket that no new row points to. The count check reads one
  column of the window's attempts; the window's rollup rows are not recomputed unless it fails.
  `grain` is 'hour' or 'day'; `bucket` the rollup's bucket column.
#}
{% macro buckets_to_rebuild(grain, bucket) -%}
{%- set window_start = lookback_start(bucket) -%}
    select distinct {{ dbt.date_trunc(grain, 'event_at') }} as bucket
    from {{ ref('fct_llm_attempts') }}
    where priced_at > (select max(priced_at) from {{ this }})
    union
    select coalesce(counted.bucket, rolled_up.bucket) as bucket
    from (
        select {{ rollup_bucket(grain, 'event_at') }} as bucket, count(*) as attempts
        from {{ ref('fct_llm_attempts') }}
        where event_at >= {{ window_start }}
        group by {{ rollup_bucket(grain, 'event_at') }}
    ) as counted
    full outer join (
        select {{ bucket }} as bucket, sum(attempts) as attempts
        from {{ this }}
        where {{ bucket }} >= {{ window_start }}
        group by {{ bucket }}
    ) as rolled_up
        on counted.bucket = rolled_up.bucket
    where counted.attempts is null or rolled_up.attempts is null
        or counted.attempts <> rolled_up.attempts
{%- endmacro %}

{# The look-back window's first instant: var rollup_lookback_days before the rollup's newest bucket. #}
{% macro lookback_start(bucket) -%}
    {{ dbt.dateadd('day', -1 * var('rollup_lookback_days'), '(select max(' ~ bucket ~ ') from ' ~ this ~ ')') }}
{%- endmacro %}

{#
  Post-hook of an incremental rollup: delete+insert replaces only the buckets its new rows hold,
  so a bucket of the look-back window whose every attempt moved elsewhere (re-delivered with
  another timestamp) would keep its old rows. Empty on Spark, where rollups are rebuilt whole.
#}
{% macro delete_emptied_buckets(grain, bucket) -%}
{%- if target.type != 'spark' and is_incremental() -%}
delete from {{ this }}
where {{ bucket }} >= {{ lookback_start(bucket) }}
    and {{ bucket }} not in (
        select distinct {{ rollup_bucket(grain, 'event_at') }}
        from {{ ref('fct_llm_attempts') }}
        where event_at >= {{ lookback_start(bucket) }}
    )
{%- endif -%}
{%- endmacro %}

{# The rollup bucket of timestamp `ts`: its UTC hour (timestamp) or day (date), per `grain`. #}
{% macro rollup_bucket(grain, ts) -%}
    cast({{ dbt.date_trunc(grain, ts) }} as {{ 'date' if grain == 'day' else dbt.type_timestamp() }})
{%- endmacro %}

{#
  Post-hook of an incremental model built from the rollup `rollup` by its `bucket` column:
  delete+insert replaces only the buckets its new rows hold, so a bucket the rollup no longer has
  would stay.
#}
{% macro delete_buckets_missing_from(rollup, bucket) -%}
{%- if target.type != 'spark' and is_incremental() -%}
delete from {{ this }}
where {{ bucket }} not in (select distinct {{ bucket }} from {{ ref(rollup) }})
{%- endif -%}
{%- endmacro %}
