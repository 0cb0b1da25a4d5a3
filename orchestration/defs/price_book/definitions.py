"""Price book: the user's own rows, loaded beside the shipped seed; the LiteLLM import."""

import dagster as dg

from orchestration.defs.price_book.assets import litellm_import, user_price_book_asset


def definitions() -> dg.Definitions:
    return dg.Definitions(assets=[litellm_import, user_price_book_asset])
