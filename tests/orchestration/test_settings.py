"""Configuration names (README: Configuration) and keeping secrets out of output."""

from pathlib import Path

from orchestration.settings import Settings, redact_url


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
