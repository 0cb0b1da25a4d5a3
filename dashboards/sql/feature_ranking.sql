-- Features ranked by cost over the last 30 days, with their share and change against the 30 days before.
SELECT cost_rank, feature, total_cost, cost_share, previous_total_cost, cost_change_pct,
       requests, errors, cost_per_1k_requests, unpriced_attempts
FROM tokenlake.mart_feature_ranking
ORDER BY cost_rank;
