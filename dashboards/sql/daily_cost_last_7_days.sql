-- Daily cost, last 7 days (today included), with days without usage shown as 0.
SELECT d.day::date AS usage_date,
       coalesce(sum(a.total_cost), 0) AS total_cost
FROM generate_series((current_date - 6)::timestamp, current_date::timestamp, interval '1 day') AS d(day)
LEFT JOIN tokenlake.agg_usage_daily AS a ON a.usage_date = d.day::date
GROUP BY 1
ORDER BY 1;
