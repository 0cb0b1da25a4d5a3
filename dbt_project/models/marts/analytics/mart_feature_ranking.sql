-- Grain: one feature. Spend over the last `ranking_days` days of data against the period before.
-- Whole history (or a window of it) rebuilt: once a day, not hourly (tag `daily`).
{{ config(tags=['daily']) }}
{{ ranking('feature') }}
