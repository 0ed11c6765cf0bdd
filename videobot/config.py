"""The bot's configuration, read from the environment (and ``.env``, loaded by ``bot.py``).

Built once in ``main()`` and passed down; nothing reads ``os.environ`` anywhere else, so tests build
`Config` directly without touching the process environment.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/videobot.db"
DEFAULT_MODELSLAB_BASE_URL = "https://modelslab.com/api"
DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
# A new member's starting credits pay for one default `/video text` (veo-3.1-fast, 8 s: 80) and one
# default `/video image` (wan2.6-i2v, 5 s at 720p: 30); tests/videobot/test_first_run.py checks it.
DEFAULT_STARTING_BALANCE = 120
# Loopback outside containers: the health and metrics endpoints are not for the internet.
DEFAULT_HTTP_HOST = "127.0.0.1"
LOG_FORMATS = ("text", "json")
# Bot-token REST requests per second, all processes together: Discord allows 50 per bot token, and
# every 429 counts toward the 10,000-per-10-minutes invalid-request ban (videobot/discord_pacing.py).
DEFAULT_DISCORD_REST_PER_SECOND = 45.0
# Where ModelsLab posts webhooks, under PUBLIC_URL; the secret path segment follows.
WEBHOOK_PATH = "/modelslab"

_PLACEHOLDERS = {"", "changeme", "change-me", "your-token-here", "your-key-here", "xxx"}


class ConfigError(Exception):
    """A variable is missing or invalid; ``str()`` is a one-line message naming it."""


@dataclass(frozen=True)
class Config:
    """Everything the bot can be configured with. Secrets are hidden from ``repr``."""

    discord_token: str = field(repr=False)
    modelslab_api_key: str = field(repr=False)
    database_url: str = DEFAULT_DATABASE_URL
    modelslab_base_url: str = DEFAULT_MODELSLAB_BASE_URL
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    max_jobs_in_flight: int = 5
    job_timeout_seconds: float = 30 * 60
    poll_min_seconds: float = 5.0
    poll_max_seconds: float = 30.0
    lease_seconds: float = 60.0
    starting_balance: int = DEFAULT_STARTING_BALANCE
    daily_credit_cap: int | None = None
    campaign_check_seconds: float = 30.0
    input_retention_days: int = 7
    member_jobs_default: int = 3
    video_cooldown_seconds: float = 10.0
    data_dir: Path = Path("data")
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    log_format: str = "text"
    http_host: str = DEFAULT_HTTP_HOST
    http_port: int | None = None
    owner_alert_channel_id: int | None = None
    wallet_alert_usd: float | None = None
    wallet_check_seconds: float = 300.0
    funds_probe_seconds: float = 60.0
    verify_catalog: bool = False
    catalog_path: Path | None = None
    discord_rest_per_second: float = DEFAULT_DISCORD_REST_PER_SECOND
    public_url: str | None = None
    webhook_wait_seconds: float = 120.0

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in logs or messages."""
        return (self.discord_token, self.modelslab_api_key, self.webhook_secret)

    @property
    def webhook_secret(self) -> str:
        """The path segment that makes the webhook URL unguessable (ModelsLab signs nothing).

        Derived from the ModelsLab key, so it is stable across restarts and processes of one
        install, different for every install, and says nothing about the key itself.
        """
        digest = hmac.new(self.modelslab_api_key.encode(), b"videobot webhook path", hashlib.sha256)
        return digest.hexdigest()[:40]

    @property
    def webhook_url(self) -> str | None:
        """Where ModelsLab posts its webhooks (a secret: never logged); None without PUBLIC_URL."""
        if self.public_url is None:
            return None
        return f"{self.public_url}{WEBHOOK_PATH}/{self.webhook_secret}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Read the configuration from the environment; raise `ConfigError` naming the first bad variable."""
        reader = _Reader(env)
        shard_ids = reader.int_list("SHARD_IDS")
        config = cls(
            discord_token=reader.secret("DISCORD_TOKEN"),
            modelslab_api_key=reader.secret("MODELSLAB_API_KEY"),
            database_url=normalise_database_url(reader.text("DATABASE_URL", DEFAULT_DATABASE_URL)),
            modelslab_base_url=reader.url(
                "MODELSLAB_BASE_URL", DEFAULT_MODELSLAB_BASE_URL, ("http", "https")
            ),
            discord_api_base=reader.optional_url("DISCORD_API_BASE", ("http", "https")),
            # Used exactly as given: a gateway URL's path is part of it.
            discord_gateway_url=reader.optional_url("DISCORD_GATEWAY_URL", ("ws", "wss"), strip_slash=False),
            dev_guild_id=reader.optional_int("DEV_GUILD_ID"),
            log_level=reader.log_level("LOG_LEVEL", "INFO"),
            max_jobs_in_flight=reader.integer("MAX_JOBS_IN_FLIGHT", 5, minimum=1),
            job_timeout_seconds=reader.number("JOB_TIMEOUT_SECONDS", 30 * 60, minimum=60),
            poll_min_seconds=reader.number("POLL_MIN_SECONDS", 5.0, minimum=0.05),
            poll_max_seconds=reader.number("POLL_MAX_SECONDS", 30.0, minimum=0.1),
            lease_seconds=reader.number("JOB_LEASE_SECONDS", 60.0, minimum=1),
            starting_balance=reader.integer("STARTING_BALANCE", DEFAULT_STARTING_BALANCE, minimum=0),
            daily_credit_cap=reader.optional_int("DAILY_CREDIT_CAP"),
            campaign_check_seconds=reader.number("CAMPAIGN_CHECK_SECONDS", 30.0, minimum=0.1),
            input_retention_days=reader.integer("INPUT_RETENTION_DAYS", 7, minimum=0),
            member_jobs_default=reader.integer("MEMBER_JOBS_DEFAULT", 3, minimum=0),
            video_cooldown_seconds=reader.number("VIDEO_COOLDOWN_SECONDS", 10.0, minimum=0),
            data_dir=Path(reader.text("DATA_DIR", "data")),
            shard_count=reader.optional_int("SHARD_COUNT"),
            shard_ids=tuple(shard_ids) if shard_ids else None,
            log_format=reader.choice("LOG_FORMAT", "text", LOG_FORMATS),
            http_host=reader.text("HTTP_HOST", DEFAULT_HTTP_HOST),
            http_port=reader.optional_port("HTTP_PORT"),
            owner_alert_channel_id=reader.optional_int("OWNER_ALERT_CHANNEL_ID"),
            wallet_alert_usd=reader.optional_number("WALLET_ALERT_USD", minimum=0),
            wallet_check_seconds=reader.number("WALLET_CHECK_SECONDS", 300.0, minimum=0.1),
            funds_probe_seconds=reader.number("FUNDS_PROBE_SECONDS", 60.0, minimum=0.1),
            verify_catalog=reader.flag("VERIFY_CATALOG"),
            catalog_path=reader.optional_path("CATALOG_PATH"),
            discord_rest_per_second=reader.number(
                "DISCORD_REST_PER_SECOND", DEFAULT_DISCORD_REST_PER_SECOND, minimum=1
            ),
            public_url=reader.optional_url("PUBLIC_URL", ("https", "http")),
            webhook_wait_seconds=reader.number("WEBHOOK_WAIT_SECONDS", 120.0, minimum=0),
        )
        if config.daily_credit_cap is not None and config.daily_credit_cap < 0:
            raise ConfigError("DAILY_CREDIT_CAP cannot be negative")
        if config.poll_max_seconds < config.poll_min_seconds:
            raise ConfigError("POLL_MAX_SECONDS must be at least POLL_MIN_SECONDS")
        if config.shard_ids and config.shard_count is None:
            raise ConfigError("SHARD_IDS needs SHARD_COUNT")
        if config.public_url is not None:
            _check_public_url(config.public_url)
            if config.http_port is None:
                raise ConfigError(
                    "PUBLIC_URL needs HTTP_PORT: webhooks arrive on the bot's web server "
                    "(put a reverse proxy in front for HTTPS)"
                )
        return config


def _check_public_url(url: str) -> None:
    """PUBLIC_URL is a base the provider appends a path to: a host, no query, no fragment."""
    parsed = urlsplit(url)
    if not parsed.hostname or parsed.query or parsed.fragment:
        raise ConfigError("PUBLIC_URL must be a base URL like https://bot.example.com (no query or fragment)")


def normalise_database_url(url: str) -> str:
    """Map the URL forms hosts hand out to the async drivers we use.

    ``postgres://`` (Heroku and friends) and ``postgresql://`` become ``postgresql+asyncpg://``;
    ``sqlite://`` becomes ``sqlite+aiosqlite://``.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise ConfigError("DATABASE_URL must be a sqlite:// or postgresql:// URL")


class _Reader:
    """Reads and checks single variables, with error messages that name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def secret(self, name: str) -> str:
        value = self._raw(name)
        if value is None:
            raise ConfigError(f"{name} is not set: put it in the environment or in .env")
        if value.lower() in _PLACEHOLDERS:
            raise ConfigError(f"{name} still holds a placeholder value: set the real one")
        return value

    def text(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def url(self, name: str, default: str, schemes: tuple[str, ...]) -> str:
        return self.optional_url(name, schemes) or default

    def optional_url(self, name: str, schemes: tuple[str, ...], *, strip_slash: bool = True) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        if not any(value.startswith(f"{scheme}://") for scheme in schemes):
            allowed = " or ".join(f"{s}://" for s in schemes)
            raise ConfigError(f"{name} must start with {allowed}")
        # A REST base has paths appended to it ("/channels/…"), so a trailing slash would double up.
        return value.rstrip("/") if strip_slash else value

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        value = self.optional_int(name)
        if value is None:
            return default
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}")
        return value

    def optional_int(self, name: str) -> int | None:
        value = self._raw(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number") from None

    def int_list(self, name: str) -> list[int]:
        value = self._raw(name)
        if value is None:
            return []
        try:
            return [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(f"{name} must be a comma-separated list of whole numbers") from None

    def number(self, name: str, default: float, *, minimum: float) -> float:
        value = self.optional_number(name, minimum=minimum)
        return default if value is None else value

    def optional_number(self, name: str, *, minimum: float) -> float | None:
        value = self._raw(name)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number") from None
        if not math.isfinite(number):
            raise ConfigError(f"{name} must be a finite number")
        if number < minimum:
            raise ConfigError(f"{name} must be at least {minimum:g}")
        return number

    def optional_port(self, name: str) -> int | None:
        value = self.optional_int(name)
        if value is not None and not 1 <= value <= 65535:
            raise ConfigError(f"{name} must be a TCP port between 1 and 65535")
        return value

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = (self._raw(name) or default).lower()
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}")
        return value

    def flag(self, name: str) -> bool:
        value = (self._raw(name) or "0").lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be 1 or 0 (also true/false, yes/no, on/off)")

    def optional_path(self, name: str) -> Path | None:
        value = self._raw(name)
        if value is None:
            return None
        path = Path(value)
        if not path.is_file():
            raise ConfigError(f"{name} must name an existing file ({value} is not one)")
        return path

    def log_level(self, name: str, default: str) -> str:
        value = (self._raw(name) or default).upper()
        if value not in logging.getLevelNamesMapping():
            raise ConfigError(f"{name} must be one of DEBUG, INFO, WARNING, ERROR")
        return value
