"""Publishing the marts where BI tools read them without touching the pipeline's warehouse:
a read-only DuckDB file, Parquet folders, and a PostgreSQL schema (docs/design.md §6)."""
