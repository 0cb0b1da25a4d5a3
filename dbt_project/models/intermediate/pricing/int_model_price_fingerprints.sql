-- Grain: one (provider, model) seen in usage: a fingerprint of what prices it (its price-book
-- pattern, every version of it, and the provider's contracts). int_attempts_priced stores it on
-- each attempt, so that an incremental run re-prices exactly the models whose prices changed.
with matches as (
    select * from {{ ref('int_model_price_matches') }}
),

versions as (
    select * from {{ ref('int_price_versions') }}
),

contracts as (
    select * from {{ ref('int_contract_versions') }}
),

-- What prices a (provider, model): its pattern, every version of it, and the provider's contracts.
price_fingerprints as (
    select
        matches.provider,
        matches.model,
        {{ dbt.listagg(
            dbt.concat(["versions.price_version_id", "'|'",
                        "coalesce(cast(versions.input_per_mtok as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(cast(versions.output_per_mtok as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(cast(versions.cache_read_per_mtok as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(cast(versions.cache_write_per_mtok as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(cast(versions.cache_write_1h_per_mtok as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(cast(versions.long_context_threshold as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(cast(versions.long_context_input_per_mtok as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(cast(versions.long_context_output_per_mtok as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(cast(versions.batch_discount as " ~ dbt.type_string() ~ "), '')", "'|'",
                        "coalesce(cast(versions.valid_to as " ~ dbt.type_string() ~ "), '')"]),
            "';'", "order by versions.price_version_id") }} as price_versions
    from matches
    inner join versions
        on matches.provider = versions.provider
        and matches.model_pattern = versions.model_pattern
    group by matches.provider, matches.model
),

contract_fingerprints as (
    select
        provider,
        {{ dbt.listagg(
            dbt.concat(["model_pattern", "'|'",
                        "cast(valid_from as " ~ dbt.type_string() ~ ")", "'|'",
                        "cast(discount_pct as " ~ dbt.type_string() ~ ")"]),
            "';'", "order by model_pattern, valid_from") }} as contract_versions
    from contracts
    group by provider
),

models_seen as (
    select distinct provider, model from {{ ref('stg_usage_logs__events') }}
),

fingerprints as (
    select
        models_seen.provider,
        models_seen.model,
        {{ dbt.hash(dbt.concat([
            "coalesce(price_fingerprints.price_versions, 'unpriced')", "'#'",
            "coalesce(contract_fingerprints.contract_versions, '')"])) }} as price_fingerprint
    from models_seen
    left join price_fingerprints
        on models_seen.provider = price_fingerprints.provider
        and models_seen.model = price_fingerprints.model
    left join contract_fingerprints on models_seen.provider = contract_fingerprints.provider
)

select * from fingerprints
