"""dlt sources that bring usage data into the warehouse's `raw` schema."""
