"""Configuration names (README: Configuration) and keeping secrets out of output."""

from pathlib import Path

import pytest

from orchestration.settings import ConfigError, Settings, redact_url


def test_defaults_follow_tokenlake_home(tmp_path: Path):
    settings = Settings.from_env({"TOKENLAKE_HOME": str(tmp_path)})
    assert settings.warehouse == tmp_path / "warehouse.duckdb"
    assert settings.logs_url == str(tmp_path / "demo" / "logs")
    assert settings.dagster_home == tmp_path / "dagster"
    assert settings.openai_api_base == "https://api.openai.com"
    assert settings.anthropic_api_base == "https://api.anthropic.com"
    assert settings.price_book is None and settings.webhook_url is None


def test_every_documented_variable_is_read(tmp_path: Path):
    env = {
        "TOKENLAKE_HOME": str(tmp_path),
        "TOKENLAKE_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "TOKENLAKE_LOGS_URL": "s3://bucket/logs",
        "OPENAI_ADMIN_KEY": "openai-test-key-1",
        "OPENAI_API_BASE": "http://127.0.0.1:9999",
        "ANTHROPIC_ADMIN_KEY": "ant-admin-test",
        "ANTHROPIC_API_BASE": "http://127.0.0.1:9998",
        "TOKENLAKE_WEBHOOK_URL": "http://127.0.0.1:9997/hook",
        "TOKENLAKE_PUBLISH_POSTGRES_URL": "postgresql://u:p@127.0.0.1:5432/db",
        "TOKENLAKE_PRICE_BOOK": str(tmp_path / "prices.csv"),
    }
    s = Settings.from_env(env)
    assert (s.warehouse, s.logs_url, s.openai_api_base, s.anthropic_api_base) == (
        tmp_path / "w.duckdb", "s3://bucket/logs", "http://127.0.0.1:9999", "http://127.0.0.1:9998",
    )  # fmt: skip
    assert s.openai_admin_key and s.anthropic_admin_key and s.webhook_url and s.publish_postgres_url
    assert s.price_book == tmp_path / "prices.csv"
    # Secrets never show up when settings are printed or logged.
    text = repr(s)
    for secret in ("openai-test-key-1", "ant-admin-test", "9997/hook", "u:p@"):
        assert secret not in text


def test_credentials_in_urls_are_redacted():
    assert redact_url("s3://AKIAXXXX:secret@bucket/logs") == "s3://***@bucket/logs"
    assert redact_url("/var/log/llm") == "/var/log/llm"
    assert redact_url("https://example.test/a@b") == "https://example.test/a@b"


def test_the_warehouse_is_duckdb_unless_another_destination_is_named(tmp_path: Path):
    default = Settings.from_env({"TOKENLAKE_HOME": str(tmp_path)})
    assert default.is_duckdb and default.dbt_target == "duckdb"
    assert default.export_for_tools()["TOKENLAKE_DBT_TARGET"] == "duckdb"

    url = "postgresql://tokenlake:p%40ss@db.internal:6543/usage"
    pg = Settings.from_env(
        {"TOKENLAKE_HOME": str(tmp_path), "TOKENLAKE_DESTINATION": "postgres",
         "TOKENLAKE_WAREHOUSE_URL": url}
    )  # fmt: skip
    assert not pg.is_duckdb and pg.dbt_target == "postgres"
    tools = pg.export_for_tools()
    assert (
        tools["TOKENLAKE_WAREHOUSE_HOST"], tools["TOKENLAKE_WAREHOUSE_PORT"],
        tools["TOKENLAKE_WAREHOUSE_USER"], tools["TOKENLAKE_WAREHOUSE_DATABASE"],
        tools["PGTZ"],
    ) == ("db.internal", "6543", "tokenlake", "usage", "UTC")  # fmt: skip
    # The password goes only where dbt scrubs it from its logs, and never into printed text.
    assert tools["DBT_ENV_SECRET_TOKENLAKE_WAREHOUSE_PASSWORD"] == "p@ss"
    assert "p%40ss" not in repr(pg) + pg.warehouse_label()
    assert pg.warehouse_label() == "postgres postgresql://***@db.internal:6543/usage"


def test_an_unknown_destination_or_a_bad_url_is_a_clear_error(tmp_path: Path):
    import pytest

    with pytest.raises(ValueError, match="TOKENLAKE_DESTINATION must be one of"):
        Settings.from_env({"TOKENLAKE_HOME": str(tmp_path), "TOKENLAKE_DESTINATION": "oracle"})
    bad = Settings.from_env(
        {"TOKENLAKE_HOME": str(tmp_path), "TOKENLAKE_DESTINATION": "postgres",
         "TOKENLAKE_WAREHOUSE_URL": "mysql://x@y/z"}
    )  # fmt: skip
    with pytest.raises(ValueError, match="postgresql://"):
        bad.export_for_tools()


def test_the_duckdb_memory_limit_and_publish_retention(tmp_path: Path):
    base = {"TOKENLAKE_HOME": str(tmp_path)}
    s = Settings.from_env(base)
    assert (s.duckdb_memory_limit, s.publish_retain_hours) == ("1.1GB", 24.0)
    assert (
        s.export_for_tools()["TOKENLAKE_DUCKDB_MEMORY_LIMIT"] == "1.1GB"
    )  # dbt's profile reads it
    s = Settings.from_env(
        {**base, "TOKENLAKE_DUCKDB_MEMORY_LIMIT": "1.5GiB", "TOKENLAKE_PUBLISH_RETAIN_HOURS": "2"}
    )
    assert (s.duckdb_memory_limit, s.publish_retain_hours) == ("1.5GiB", 2.0)
    with pytest.raises(ConfigError, match="TOKENLAKE_DUCKDB_MEMORY_LIMIT"):
        Settings.from_env({**base, "TOKENLAKE_DUCKDB_MEMORY_LIMIT": "lots"})


def test_the_log_format_names_are_read_in_both_spellings(tmp_path: Path):
    mapping = tmp_path / "mine.yaml"
    for names in (("TOKENLAKE_LOGS_FORMAT", "TOKENLAKE_LOGS_MAPPING"),
                  ("TOKENLAKE_LOG_FORMAT", "TOKENLAKE_LOG_MAPPING")):  # fmt: skip
        env = {"TOKENLAKE_HOME": str(tmp_path), names[0]: "helicone", names[1]: str(mapping)}
        s = Settings.from_env(env)
        assert (s.logs_format, s.logs_mapping) == ("helicone", mapping)
