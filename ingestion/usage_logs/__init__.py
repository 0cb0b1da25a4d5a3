"""Usage logs from applications and LLM gateways (JSONL, JSONL.gz, Parquet, OTLP/JSON spans).

Files are listed with dlt's filesystem resource (local folders, globs, any fsspec URL), read in
Arrow batches and normalised in DuckDB. The events reach dlt as one Parquet file per run
(staged_events.py; as Arrow batches for other destinations), which it appends to, or merges
into, `raw.usage_events` on (request_id, attempt); bad records go to
`raw.usage_events_quarantine`, and every file's tally (lines read = loaded + quarantined +
skipped) to `raw.usage_log_files`.

The dlt source is `source.usage_logs_source`. Importing this package loads nothing else (no
dlt): the settings read the contract and the formats without the source.
"""
