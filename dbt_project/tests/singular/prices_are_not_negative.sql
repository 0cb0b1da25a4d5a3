select price_version_id
from {{ ref('stg_seeds__price_book') }}
where input_per_mtok < 0
    or output_per_mtok < 0
    or cache_read_per_mtok < 0
    or cache_write_per_mtok < 0
    or cache_write_1h_per_mtok < 0
    or long_context_input_per_mtok < 0
    or long_context_output_per_mtok < 0
    or batch_discount < 0
    or batch_discount > 1
