-- A price history never overlaps itself: each version ends where the next begins, later.
select price_version_id, valid_from, valid_to
from {{ ref('int_price_versions') }}
where valid_to is not null and valid_to <= valid_from
