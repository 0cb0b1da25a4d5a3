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
  The time buckets an incremental rollup must rebuild: those holding attempts (re)priced since
  its last run, and every bucket from its newest one minus the look-back window (late events).
  `grain` is 'hour' or 'day'; `bucket` the rollup's bucket column.
#}
{% macro buckets_to_rebuild(grain, bucket) -%}
    select distinct {{ dbt.date_trunc(grain, 'event_at') }} as bucket
    from {{ ref('fct_llm_attempts') }}
    where priced_at > (select max(priced_at) from {{ this }})
    union
    select distinct {{ bucket }} as bucket
    from {{ this }}
    where {{ bucket }} >= (
        select {{ dbt.dateadd('day', -1 * var('rollup_lookback_days'), 'max(' ~ bucket ~ ')') }}
        from {{ this }}
    )
{%- endmacro %}
