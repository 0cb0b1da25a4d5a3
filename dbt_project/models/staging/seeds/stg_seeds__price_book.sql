-- One row per price version of a (provider, model pattern, service tier); empty tier = standard.
with source as (
    select * from {{ ref('price_book') }}
),

renamed as (
    select
        lower(provider) as provider,
        model_pattern,
        coalesce(nullif(lower(service_tier), ''), 'standard') as service_tier,
        cast(effective_from as timestamp) as effective_from,
        upper(currency) as currency,
        cast(input_per_mtok as decimal(18, 6)) as input_per_mtok,
        cast(output_per_mtok as decimal(18, 6)) as output_per_mtok,
        cast(cache_read_per_mtok as decimal(18, 6)) as cache_read_per_mtok,
        cast(cache_write_per_mtok as decimal(18, 6)) as cache_write_per_mtok,
        cast(cache_write_1h_per_mtok as decimal(18, 6)) as cache_write_1h_per_mtok,
        cast(long_context_threshold as bigint) as long_context_threshold,
        cast(long_context_input_per_mtok as decimal(18, 6)) as long_context_input_per_mtok,
        cast(long_context_output_per_mtok as decimal(18, 6)) as long_context_output_per_mtok,
        cast(coalesce(batch_discount, 0) as decimal(6, 4)) as batch_discount,
        source as price_source,
        note
    from source
)

select
    {{ dbt.concat(["provider", "'|'", "model_pattern", "'|'", "service_tier", "'|'", "cast(cast(effective_from as date) as " ~ dbt.type_string() ~ ")"]) }} as price_version_id,
    *
from renamed
