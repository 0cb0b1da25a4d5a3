-- Cost by feature and day, last 30 days (stacked bar or area chart).
SELECT usage_date, coalesce(feature, '(none)') AS feature, sum(total_cost) AS total_cost
FROM tokenlake.agg_usage_daily
WHERE usage_date >= current_date - 29
GROUP BY 1, 2
ORDER BY 1, 3 DESC;
