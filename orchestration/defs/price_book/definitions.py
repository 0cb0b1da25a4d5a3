"""Price book: the user's own rows, loaded beside the shipped seed."""

import dagster as dg

from orchestration.defs.price_book.assets import (
    LITELLM_IMPORT_KEY,
    litellm_import,
    user_price_book_asset,
)

__all__ = ["LITELLM_IMPORT_KEY", "definitions", "import_prices_job"]

import_prices_job = dg.define_asset_job(
    "import_prices",
    selection=dg.AssetSelection.keys(LITELLM_IMPORT_KEY),
    description="On demand: refresh your price book from LiteLLM's community price file.",
)


def definitions() -> dg.Definitions:
    return dg.Definitions(assets=[litellm_import, user_price_book_asset], jobs=[import_prices_job])
