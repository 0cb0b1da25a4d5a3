-- The price book as it was applied: one row per price version with its validity, so that a BI
-- tool or a notebook can say which price priced an attempt (fct_llm_attempts.price_version_id)
-- and re-price what-if scenarios with the same versions.
select
    price_version_id,
    provider,
    model_pattern,
    service_tier,
    effective_from,
    valid_from,
    valid_to,
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
    price_origin,
    price_source,
    note
from {{ ref('int_price_versions') }}
