"""What `tokenlake run` checks before it starts: the places and files the configuration names.

Each problem is one line naming the variable and what to fix (the CLI prints it and exits 2),
instead of a traceback from deep inside a step after minutes of work.
"""

from __future__ import annotations

import os
import tempfile

from orchestration.settings import ConfigError, Settings


def check_configuration(settings: Settings) -> None:
    """Raise ConfigError for the first thing in the configuration that cannot work."""
    _check_home(settings)
    if settings.price_book is not None:
        from ingestion.price_book import PriceBookError, read_price_book

        try:
            read_price_book(settings.price_book)
        except PriceBookError as exc:
            raise ConfigError(
                f"TOKENLAKE_PRICE_BOOK={settings.price_book}: {_strip(exc, settings.price_book)}"
            ) from None
        except (OSError, ValueError) as exc:  # unreadable, not a CSV
            raise ConfigError(
                f"TOKENLAKE_PRICE_BOOK={settings.price_book}: cannot be read ({_first_line(exc)})"
            ) from None
    if settings.logs_mapping is not None:
        from ingestion.usage_logs.formats import LogMapping, MappingError

        try:
            LogMapping.from_yaml(settings.logs_mapping)
        except MappingError as exc:
            raise ConfigError(f"TOKENLAKE_LOGS_MAPPING={settings.logs_mapping}: {exc}") from None
    from ingestion.usage_logs.location import LogsLocationError, check_logs_location

    try:
        check_logs_location(settings.logs_url)
    except LogsLocationError as exc:
        hint = (
            ""
            if os.environ.get("TOKENLAKE_LOGS_URL")
            else (
                " (TOKENLAKE_LOGS_URL is not set: the default is the demo's logs; set it to where "
                "your usage logs are, or run `tokenlake demo`)"
            )
        )
        raise ConfigError(f"{exc}{hint}") from None


def _check_home(settings: Settings) -> None:
    for variable, folder in (
        ("TOKENLAKE_HOME", settings.home),
        ("TOKENLAKE_WAREHOUSE", settings.warehouse.parent),
    ):
        if variable == "TOKENLAKE_WAREHOUSE" and not settings.is_duckdb:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise ConfigError(
                f"{variable}: {folder} is not a folder this user can write "
                f"({exc.strerror or type(exc).__name__}); choose another or fix its permissions"
            ) from None
    if settings.is_duckdb and settings.warehouse.is_dir():
        raise ConfigError(
            f"TOKENLAKE_WAREHOUSE: {settings.warehouse} is a folder; it must name the DuckDB file"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _strip(exc: BaseException, path: object) -> str:
    """The price-book error without its leading path (the line already names the file)."""
    return _first_line(exc).removeprefix(f"{path}: ")
