"""The usage-event contract (docs/design.md §1) as data: field names, types, defaults, aliases."""

RAW_DATASET = "raw"
EVENTS_TABLE = "usage_events"
QUARANTINE_TABLE = "usage_events_quarantine"
FILES_TABLE = "usage_log_files"

EVENT_KEY = ("request_id", "attempt")
QUARANTINE_KEY = ("_source_file", "_source_line", "_source_record")

# Field name -> kind. Order is the column order of raw.usage_events.
CONTRACT_FIELDS: dict[str, str] = {
    "timestamp": "timestamp",
    "request_id": "string",
    "attempt": "int",
    "tenant_id": "string",
    "user_id": "string",
    "feature": "string",
    "agent": "string",
    "action_type": "string",
    "provider": "string",
    "model": "string",
    "region": "string",
    "key_source": "string",
    "input_tokens": "int",
    "output_tokens": "int",
    "cache_read_tokens": "int",
    "cache_write_tokens": "int",
    "cache_write_1h_tokens": "int",
    "reasoning_tokens": "int",
    "total_tokens": "int",
    "latency_ms": "int",
    "status": "string",
    "retry_count": "int",
    "cache_hit": "bool",
    "batch": "bool",
    "service_tier": "string",
    "session_id": "string",
    "prompt_template_id": "string",
    "computed_cost": "decimal",
    # False where the source cannot report cache tokens (an instrumentation without cache
    # attributes): cache reads are then unknown, not zero, and the cost an upper bound.
    "cache_tokens_reported": "bool",
}

# Older / OpenAI-style names accepted for the same field (canonical name wins when both are given).
ALIASES: dict[str, str] = {
    "prompt_tokens": "input_tokens",
    "completion_tokens": "output_tokens",
}

REQUIRED_FIELDS = (
    "timestamp",
    "request_id",
    "tenant_id",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
)

# Counters that may never be negative.
NON_NEGATIVE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "latency_ms",
    "retry_count",
)

KEY_SOURCES = ("system", "byok")

# File name endings the log reader understands; anything else is listed as skipped.
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet",)
GZIP_SUFFIX = ".gz"

# Bytes read per block; a block is cut at its last newline so that lines never split.
READ_BLOCK_BYTES = 32 * 1024 * 1024
# Small files are read by Python and pooled up to this many lines per SQL pass.
POOL_ROWS = 200_000
