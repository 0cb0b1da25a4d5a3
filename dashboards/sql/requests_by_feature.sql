-- Requests (first attempts), retries and errors per feature, last 7 days.
SELECT coalesce(feature, '(none)') AS feature,
       sum(requests) AS requests,
       sum(retries) AS retries,
       sum(errors) AS errors,
       sum(total_cost) AS total_cost
FROM tokenlake.agg_usage_daily
WHERE usage_date >= current_date - 6
GROUP BY 1
ORDER BY requests DESC;
