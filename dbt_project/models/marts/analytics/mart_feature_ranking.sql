-- Grain: one feature. Spend over the last `ranking_days` days of data against the period before.
{{ ranking('feature') }}
