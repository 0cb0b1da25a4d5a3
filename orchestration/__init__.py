"""Dagster definitions, the `tokenlake` command and the settings they share."""
