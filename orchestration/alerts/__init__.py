"""Alerts: what they say (payload), where they wait (outbox), how they travel (notifier)."""
