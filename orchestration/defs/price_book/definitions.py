"""Price book: the user's own rows, loaded beside the shipped seed."""

import dagster as dg

from orchestration.defs.price_book.assets import user_price_book_asset


def definitions() -> dg.Definitions:
    return dg.Definitions(assets=[user_price_book_asset])
