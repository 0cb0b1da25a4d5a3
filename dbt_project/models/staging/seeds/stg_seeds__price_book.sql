-- One row per price version of a (provider, model pattern, service tier); empty tier = standard.
-- The shipped book (seeds/price_book.csv) and the user's rows (TOKENLAKE_PRICE_BOOK) are merged;
-- on an exact tie of (provider, model_pattern, service_tier, effective_from) the user's row wins.
with shipped as (
    select *, 'shipped' as price_origin, 2 as precedence from {{ ref('price_book') }}
),

user_rows as (
    select *, 'user' as price_origin, 1 as precedence from {{ source('raw', 'user_price_book') }}
),

{%- set columns = [
    'provider', 'model_pattern', 'service_tier', 'effective_from', 'currency', 'input_per_mtok',
    'output_per_mtok', 'cache_read_per_mtok', 'cache_write_per_mtok', 'cache_write_1h_per_mtok',
    'long_context_threshold', 'long_context_input_per_mtok', 'long_context_output_per_mtok',
    'batch_discount', 'source', 'note', 'price_origin', 'precedence'] %}

{#- Both sides as text: the user's CSV arrives untyped, and every engine unions equal types. #}
unioned as (
    {%- for relation in ['shipped', 'user_rows'] %}
    select
        {%- for column in columns %}
        cast({{ column }} as {{ dbt.type_string() }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

renamed as (
    select
        lower(provider) as provider,
        model_pattern,
        coalesce(nullif(lower(service_tier), ''), 'standard') as service_tier,
        cast(cast(effective_from as date) as timestamp) as effective_from,
        upper(coalesce(currency, 'USD')) as currency,
        cast(input_per_mtok as decimal(18, 6)) as input_per_mtok,
        cast(output_per_mtok as decimal(18, 6)) as output_per_mtok,
        cast(cache_read_per_mtok as decimal(18, 6)) as cache_read_per_mtok,
        cast(cache_write_per_mtok as decimal(18, 6)) as cache_write_per_mtok,
        cast(cache_write_1h_per_mtok as decimal(18, 6)) as cache_write_1h_per_mtok,
        cast(cast(long_context_threshold as decimal(18, 0)) as bigint) as long_context_threshold,
        cast(long_context_input_per_mtok as decimal(18, 6)) as long_context_input_per_mtok,
        cast(long_context_output_per_mtok as decimal(18, 6)) as long_context_output_per_mtok,
        coalesce(cast(batch_discount as decimal(6, 4)), 0) as batch_discount,
        source as price_source,
        note,
        price_origin,
        cast(precedence as integer) as precedence
    from unioned
),

ranked as (
    select
        *,
        row_number() over (
            partition by provider, model_pattern, service_tier, effective_from order by precedence
        ) as tie_rank
    from renamed
)

select
    {{ dbt.concat(["provider", "'|'", "model_pattern", "'|'", "service_tier", "'|'", "cast(cast(effective_from as date) as " ~ dbt.type_string() ~ ")"]) }} as price_version_id,
    provider,
    model_pattern,
    service_tier,
    effective_from,
    currency,
    input_per_mtok,
    output_per_mtok,
    cache_read_per_mtok,
    cache_write_per_mtok,
    cache_write_1h_per_mtok,
    long_context_threshold,
    long_context_input_per_mtok,
    long_context_output_per_mtok,
    batch_discount,
    price_source,
    note,
    price_origin
from ranked
where tie_rank = 1
