-- Grain: one agent (attempts without an agent are `(none)`). See mart_agent_daily for sparklines.
-- Whole history (or a window of it) rebuilt: once a day, not hourly (tag `daily`).
{{ config(tags=['daily']) }}
{{ ranking("coalesce(agent, '(none)')", 'agent') }}
