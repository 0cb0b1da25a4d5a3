-- Two price-book patterns of the same length both match this model: add an exact row.
select provider, model, model_pattern
from {{ ref('int_model_price_matches') }}
where is_ambiguous
