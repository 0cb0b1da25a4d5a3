"""The user's price rows (TOKENLAKE_PRICE_BOOK) loaded next to the shipped price book."""

from datetime import date

import dagster as dg

from ingestion.price_book import user_price_book
from ingestion.price_book.litellm import LITELLM_URL, import_prices
from orchestration import warehouse
from orchestration.settings import SHIPPED_PRICE_BOOK, Settings

USER_PRICE_BOOK_KEY = dg.AssetKey(["raw", "user_price_book"])
LITELLM_IMPORT_KEY = dg.AssetKey(["price_book", "litellm_import"])


class LiteLLMImportConfig(dg.Config):
    source: str = LITELLM_URL
    effective_from: str | None = None  # YYYY-MM-DD; default today. Earlier dates re-price history.


@dg.asset(
    key=LITELLM_IMPORT_KEY,
    group_name="price_book",
    kinds={"python"},
    description=(
        "On demand: appends to your price book (TOKENLAKE_PRICE_BOOK) a version for every model "
        "whose price in LiteLLM's community price file differs from the one in force."
    ),
)
def litellm_import(
    context: dg.AssetExecutionContext,
    config: LiteLLMImportConfig,
    settings: dg.ResourceParam[Settings],
) -> dg.MaterializeResult:
    if settings.price_book is None:
        raise dg.Failure(
            "set TOKENLAKE_PRICE_BOOK to the CSV file the imported price rows should be appended to"
        )
    when = date.fromisoformat(config.effective_from) if config.effective_from else None
    result = import_prices(config.source, settings.price_book, [SHIPPED_PRICE_BOOK], when)
    context.log.info(
        "LiteLLM: %d models read, %d price versions appended",
        result.models_seen,
        len(result.appended),
    )
    return dg.MaterializeResult(
        metadata={
            "models_read": result.models_seen,
            "versions_appended": len(result.appended),
            "appended": dg.MetadataValue.md(
                "\n".join(
                    f"- {r['provider']} `{r['model_pattern']}` {r['service_tier'] or 'standard'}"
                    for r in result.appended
                )
                or "nothing changed"
            ),
        }
    )


@dg.asset(
    key=USER_PRICE_BOOK_KEY,
    deps=[LITELLM_IMPORT_KEY],
    group_name="raw",
    kinds={"dlt", "duckdb"},
    pool="warehouse",
    description=(
        "Your own price rows (negotiated prices, fine-tuned models, corrections) from the CSV named "
        "by TOKENLAKE_PRICE_BOOK; merged into the price book, your row winning an exact tie."
    ),
)
def user_price_book_asset(
    context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    pipeline = warehouse.pipeline("price_book", settings)
    path = str(settings.price_book) if settings.price_book else None
    pipeline.run(user_price_book(path)).raise_on_failed_jobs()
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("user_price_book", 0)
    if path is None:
        context.log.info("TOKENLAKE_PRICE_BOOK is not set: only the shipped price book is used")
    return dg.MaterializeResult(metadata={"rows": rows, "file_set": path is not None})
