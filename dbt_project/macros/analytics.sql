{# Continuous percentile `p` (0..1) of `expr` as an aggregate, per adapter. #}
{% macro percentile(expr, p) -%}
    {{ return(adapter.dispatch('percentile', 'tokenlake')(expr, p)) }}
{%- endmacro %}

{% macro default__percentile(expr, p) -%}
    percentile_cont({{ p }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__percentile(expr, p) -%}
    quantile_cont({{ expr }}, {{ p }})
{%- endmacro %}

{% macro spark__percentile(expr, p) -%}
    percentile_approx({{ expr }}, {{ p }})
{%- endmacro %}

{# A UTC timestamp as wall-clock time in the IANA time zone `tz` (a string literal). #}
{% macro utc_to_local(ts, tz) -%}
    {{ return(adapter.dispatch('utc_to_local', 'tokenlake')(ts, tz)) }}
{%- endmacro %}

{% macro default__utc_to_local(ts, tz) -%}
    (({{ ts }}) at time zone 'UTC' at time zone '{{ tz }}')
{%- endmacro %}

{% macro duckdb__utc_to_local(ts, tz) -%}
    cast(timezone('{{ tz }}', timezone('UTC', {{ ts }})) as timestamp)
{%- endmacro %}

{% macro spark__utc_to_local(ts, tz) -%}
    from_utc_timestamp({{ ts }}, '{{ tz }}')
{%- endmacro %}

{# ISO day of week, 1 = Monday .. 7 = Sunday. #}
{% macro iso_day_of_week(ts) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'tokenlake')(ts)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(ts) -%}
    cast(extract(isodow from {{ ts }}) as integer)
{%- endmacro %}

{% macro spark__iso_day_of_week(ts) -%}
    ((dayofweek({{ ts }}) + 5) % 7 + 1)
{%- endmacro %}

{# a / b, NULL when b is 0 or NULL. #}
{% macro safe_divide(a, b) -%}
    (({{ a }}) / nullif({{ b }}, 0))
{%- endmacro %}

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

{#
  A fast 64-bit hash of `columns` (of `relation_alias` when given) where the engine has one,
  for pre-grouping rows before an exact comparison; none elsewhere.
#}
{% macro row_hash(columns, relation_alias=none) -%}
    {{ return(adapter.dispatch('row_hash', 'tokenlake')(columns, relation_alias)) }}
{%- endmacro %}

{% macro default__row_hash(columns, relation_alias) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb__row_hash(columns, relation_alias) -%}
    {%- set prefix = relation_alias ~ '.' if relation_alias else '' -%}
    hash({% for column in columns %}{{ prefix }}{{ column }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
