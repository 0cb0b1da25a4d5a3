"""The user's price rows (TOKENLAKE_PRICE_BOOK) loaded next to the shipped price book."""

import dagster as dg

from ingestion.pipeline import warehouse_pipeline
from ingestion.price_book import user_price_book
from orchestration.settings import Settings

USER_PRICE_BOOK_KEY = dg.AssetKey(["raw", "user_price_book"])


@dg.asset(
    key=USER_PRICE_BOOK_KEY,
    group_name="raw",
    kinds={"dlt", "duckdb"},
    pool="warehouse",
    description=(
        "Your own price rows (negotiated prices, fine-tuned models, corrections) from the CSV named "
        "by TOKENLAKE_PRICE_BOOK; merged into the price book, your row winning an exact tie."
    ),
)
def user_price_book_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = Settings.from_env()
    pipeline = warehouse_pipeline("price_book", settings.warehouse, settings.dlt_dir)
    path = str(settings.price_book) if settings.price_book else None
    pipeline.run(user_price_book(path)).raise_on_failed_jobs()
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("user_price_book", 0)
    if path is None:
        context.log.info("TOKENLAKE_PRICE_BOOK is not set: only the shipped price book is used")
    return dg.MaterializeResult(metadata={"rows": rows, "file_set": path is not None})
