-- Top 10 tenants by cost over the last 30 days, with their tier and change against the 30 days before.
SELECT tenant_id, tier, total_cost, cost_share, cost_change_pct, requests, cost_per_1k_requests
FROM tokenlake.mart_tenant_ranking
ORDER BY cost_rank
LIMIT 10;
