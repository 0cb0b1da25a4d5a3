-- 7 days x 24 hours, each once.
select count(*) as cells, count(distinct day_of_week * 100 + hour_of_day) as distinct_cells
from {{ ref('mart_usage_heatmap') }}
having count(*) <> 168 or count(distinct day_of_week * 100 + hour_of_day) <> 168
