"""The user's own price rows (TOKENLAKE_PRICE_BOOK), loaded into raw.user_price_book.

Same columns as seeds/price_book.csv. The file is the truth: each load replaces the table, so a
row removed from the file leaves the warehouse too. Without a file the table is emptied.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dlt
import pyarrow as pa
import pyarrow.csv as pcsv

PRICE_BOOK_COLUMNS = (
    "provider", "model_pattern", "service_tier", "effective_from", "currency",
    "input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
    "cache_write_1h_per_mtok", "long_context_threshold", "long_context_input_per_mtok",
    "long_context_output_per_mtok", "batch_discount", "source", "note",
)  # fmt: skip
SCHEMA = pa.schema([pa.field(name, pa.string()) for name in PRICE_BOOK_COLUMNS])


class PriceBookError(ValueError):
    """The user's price book cannot be used as it is; the message says what to fix."""


def read_price_book(path: Path) -> pa.Table:
    """Read a price-book CSV as text columns, checking its header and required values."""
    if not path.is_file():
        raise PriceBookError(f"TOKENLAKE_PRICE_BOOK points to {path}, which is not a file")
    table = pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(column_types=SCHEMA, strings_can_be_null=True),
    )
    if tuple(table.column_names) != PRICE_BOOK_COLUMNS:
        raise PriceBookError(
            f"{path}: the header must be the price book's columns: {','.join(PRICE_BOOK_COLUMNS)}"
        )
    for required in (
        "provider",
        "model_pattern",
        "effective_from",
        "input_per_mtok",
        "output_per_mtok",
    ):
        missing = table.column(required).null_count
        if missing:
            raise PriceBookError(f"{path}: {missing} row(s) have no {required}")
    _check_values(path, table)
    return table


NUMBER_COLUMNS = tuple(
    c for c in PRICE_BOOK_COLUMNS if c.endswith(("_mtok", "_threshold", "_discount"))
)


def _check_values(path: Path, table: pa.Table) -> None:
    """Numbers are numbers and dates are dates, so that a typo is named here, with its line,
    instead of failing a cast deep inside dbt."""
    for column in (*NUMBER_COLUMNS, "effective_from"):
        for index, value in enumerate(table.column(column).to_pylist()):
            if value is None or _valid(column, value.strip()):
                continue
            kind = "a date (YYYY-MM-DD)" if column == "effective_from" else "a number"
            # Line 1 is the header.
            raise PriceBookError(f"{path}: line {index + 2}: {column} {value!r} is not {kind}")


def _valid(column: str, value: str) -> bool:
    from datetime import datetime
    from decimal import Decimal, InvalidOperation

    try:
        if column == "effective_from":
            datetime.fromisoformat(value)
            return True
        return Decimal(value).is_finite()
    except (ValueError, InvalidOperation):
        return False


@dlt.resource(name="user_price_book", write_disposition="replace")
def user_price_book(path: str | None = None) -> Iterator[pa.Table]:
    yield read_price_book(Path(path)) if path else SCHEMA.empty_table()
