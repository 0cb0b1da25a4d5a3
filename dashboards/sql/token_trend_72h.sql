-- Prompt vs completion tokens per hour over the last 72 hours; hours without usage shown as 0.
SELECT h.hour AS usage_hour,
       coalesce(t.prompt_tokens, 0) AS prompt_tokens,
       coalesce(t.completion_tokens, 0) AS completion_tokens
FROM generate_series(
         date_trunc('hour', now() AT TIME ZONE 'UTC') - interval '71 hours',
         date_trunc('hour', now() AT TIME ZONE 'UTC'),
         interval '1 hour'
     ) AS h(hour)
LEFT JOIN tokenlake.mart_token_trend_hourly AS t ON t.usage_hour = h.hour
ORDER BY 1;
