-- Grain: one agent (attempts without an agent are `(none)`). See mart_agent_daily for sparklines.
{{ ranking("coalesce(agent, '(none)')", 'agent') }}
