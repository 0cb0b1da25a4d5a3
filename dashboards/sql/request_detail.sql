-- One request and each of its attempts (retries included) with its share of the request's cost.
-- {{request_id}} is a text variable (Metabase: Variable type Text; Superset: a Jinja parameter).
SELECT s.request_id, s.feature, s.tenant_id, s.final_status, s.attempts, s.total_cost AS request_cost,
       s.prompt_token_share, a.attempt, a.event_at, a.provider, a.model, a.status, a.latency_ms,
       a.input_tokens, a.cache_read_tokens, a.output_tokens, a.total_cost AS attempt_cost,
       a.request_cost_share
FROM tokenlake.mart_request_summary AS s
JOIN tokenlake.mart_request_attempts AS a ON a.request_id = s.request_id
WHERE s.request_id = {{request_id}}
ORDER BY a.attempt;
