"""The configuration from the environment: defaults, URL mapping, one-line errors that name the variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from videobot.config import Config, ConfigError, normalise_database_url

SECRETS = {"DISCORD_TOKEN": "discord-secret-token", "MODELSLAB_API_KEY": "modelslab-secret-key"}


def test_defaults_need_only_the_two_secrets() -> None:
    config = Config.from_env(SECRETS)
    assert config.database_url == "sqlite+aiosqlite:///data/videobot.db"
    assert config.max_jobs_in_flight == 5
    assert config.modelslab_base_url == "https://modelslab.com/api"
    assert config.discord_api_base is None


@pytest.mark.parametrize("missing", ["DISCORD_TOKEN", "MODELSLAB_API_KEY"])
def test_a_missing_secret_is_named(missing: str) -> None:
    env = {k: v for k, v in SECRETS.items() if k != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is not set"):
        Config.from_env(env)


def test_a_placeholder_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN still holds a placeholder"):
        Config.from_env({**SECRETS, "DISCORD_TOKEN": "changeme"})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("postgresql+asyncpg://h/db", "postgresql+asyncpg://h/db"),
    ],
)
def test_database_urls_are_mapped_to_async_drivers(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected
    assert Config.from_env({**SECRETS, "DATABASE_URL": given}).database_url == expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_JOBS_IN_FLIGHT", "five", "MAX_JOBS_IN_FLIGHT must be a whole number"),
        ("MAX_JOBS_IN_FLIGHT", "0", "MAX_JOBS_IN_FLIGHT must be at least 1"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must be a sqlite:// or postgresql:// URL"),
        ("DISCORD_GATEWAY_URL", "http://x", "DISCORD_GATEWAY_URL must start with ws:// or wss://"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
        ("POLL_MIN_SECONDS", "abc", "POLL_MIN_SECONDS must be a number"),
        ("DISCORD_REST_PER_SECOND", "0.5", "DISCORD_REST_PER_SECOND must be at least 1"),
    ],
)
def test_bad_values_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env({**SECRETS, name: value})


def test_secrets_stay_out_of_repr() -> None:
    text = repr(Config.from_env(SECRETS))
    assert "discord-secret-token" not in text
    assert "modelslab-secret-key" not in text


def test_operations_defaults() -> None:
    config = Config.from_env(SECRETS)
    assert config.log_format == "text"
    assert config.http_port is None
    assert config.http_host == "127.0.0.1"
    assert config.owner_alert_channel_id is None
    assert config.wallet_alert_usd is None
    assert config.wallet_check_seconds == 300
    assert config.verify_catalog is False
    assert config.catalog_path is None
    assert config.discord_rest_per_second == 45
    assert Config.from_env({**SECRETS, "DISCORD_REST_PER_SECOND": "40"}).discord_rest_per_second == 40


def test_operations_variables_are_read(tmp_path: Path) -> None:
    catalog = tmp_path / "models.toml"
    catalog.write_text("")
    config = Config.from_env(
        {
            **SECRETS,
            "LOG_FORMAT": "JSON",
            "HTTP_PORT": "8080",
            "HTTP_HOST": "0.0.0.0",
            "OWNER_ALERT_CHANNEL_ID": "123",
            "WALLET_ALERT_USD": "5.5",
            "WALLET_CHECK_SECONDS": "60",
            "VERIFY_CATALOG": "yes",
            "CATALOG_PATH": str(catalog),
        }
    )
    assert (config.log_format, config.http_port, config.http_host) == ("json", 8080, "0.0.0.0")
    assert (config.owner_alert_channel_id, config.wallet_alert_usd, config.wallet_check_seconds) == (
        123,
        5.5,
        60,
    )
    assert config.verify_catalog is True
    assert config.catalog_path == catalog


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HTTP_PORT", "0", "HTTP_PORT must be a TCP port between 1 and 65535"),
        ("HTTP_PORT", "http", "HTTP_PORT must be a whole number"),
        ("LOG_FORMAT", "yaml", "LOG_FORMAT must be one of text, json"),
        ("OWNER_ALERT_CHANNEL_ID", "#alerts", "OWNER_ALERT_CHANNEL_ID must be a whole number"),
        ("WALLET_ALERT_USD", "-1", "WALLET_ALERT_USD must be at least 0"),
        ("WALLET_ALERT_USD", "five", "WALLET_ALERT_USD must be a number"),
        ("WALLET_ALERT_USD", "inf", "WALLET_ALERT_USD must be a finite number"),
        ("WALLET_CHECK_SECONDS", "0", "WALLET_CHECK_SECONDS must be at least 0.1"),
        ("VERIFY_CATALOG", "maybe", "VERIFY_CATALOG must be 1 or 0"),
        ("CATALOG_PATH", "/no/such/models.toml", "CATALOG_PATH must name an existing file"),
    ],
)
def test_bad_operations_values_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env({**SECRETS, name: value})


def test_every_variable_is_in_the_readme_table_and_in_env_example() -> None:
    root = Path(__file__).resolve().parents[2]
    source = (root / "videobot" / "config.py").read_text()
    names = set(re.findall(r'reader\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    assert {"DISCORD_TOKEN", "HTTP_PORT", "WALLET_ALERT_USD", "CATALOG_PATH"} <= names
    readme = (root / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    example = (root / ".env.example").read_text()
    assert sorted(n for n in names if f"`{n}`" not in table) == []
    assert sorted(n for n in names if f"{n}=" not in example) == []


def test_webhooks_are_off_until_public_url_is_set() -> None:
    config = Config.from_env(SECRETS)
    assert config.public_url is None
    assert config.webhook_url is None
    assert config.webhook_wait_seconds == 120


def test_the_webhook_url_carries_a_stable_secret_that_is_redacted_and_not_in_repr() -> None:
    env = {**SECRETS, "PUBLIC_URL": "https://bot.example.com/", "HTTP_PORT": "8080"}
    config = Config.from_env({**env, "WEBHOOK_WAIT_SECONDS": "30"})
    secret = config.webhook_secret
    assert re.fullmatch(r"[0-9a-f]{40}", secret)
    assert config.webhook_url == f"https://bot.example.com/modelslab/{secret}"
    assert config.webhook_wait_seconds == 30
    assert secret in config.secrets
    assert secret not in repr(config)
    assert "modelslab-secret-key" not in secret
    # The same for every process of the install, another for another key.
    assert Config.from_env(env).webhook_secret == secret
    other = Config.from_env({**env, "MODELSLAB_API_KEY": "another-key"})
    assert other.webhook_secret != secret


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PUBLIC_URL": "bot.example.com", "HTTP_PORT": "8080"},
            "PUBLIC_URL must start with https:// or http://",
        ),
        ({"PUBLIC_URL": "ftp://bot.example.com", "HTTP_PORT": "8080"}, "PUBLIC_URL must start with"),
        (
            {"PUBLIC_URL": "https://bot.example.com/?a=1", "HTTP_PORT": "8080"},
            "PUBLIC_URL must be a base URL",
        ),
        ({"PUBLIC_URL": "https://", "HTTP_PORT": "8080"}, "PUBLIC_URL must be a base URL"),
        ({"PUBLIC_URL": "https://bot.example.com"}, "PUBLIC_URL needs HTTP_PORT"),
        ({"WEBHOOK_WAIT_SECONDS": "-1"}, "WEBHOOK_WAIT_SECONDS must be at least 0"),
    ],
)
def test_bad_webhook_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Config.from_env({**SECRETS, **env})
