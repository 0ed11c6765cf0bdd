"""The composition root: ``python bot.py`` runs the bot.

Reads the configuration from the environment and ``.env``, sets up logging, brings the database schema up to
date, opens the HTTP session and the database engine, builds the bot with them and runs it. Every
resource is opened here with ``async with`` and handed down; nothing is global.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands
from dotenv import find_dotenv, load_dotenv
from sqlalchemy.engine import make_url

from cogs.ui.buttons import DYNAMIC_ITEMS
from cogs.ui.presenter import DiscordPresenter
from cogs.ui.translations import CommandTranslator
from cogs.ui.tree import VideoBotTree
from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.migrate import upgrade_database
from videobot import logcontext
from videobot.alerts import ProviderAlerts, ProviderProblem
from videobot.campaigns import CampaignCloser, CampaignReports, Campaigns
from videobot.catalog import Catalog, CatalogError, load_catalog
from videobot.catalog.verify import lookup_with, verify_catalog
from videobot.config import DEFAULT_DISCORD_API_BASE, Config, ConfigError
from videobot.credits import Credits
from videobot.discord_pacing import LocalBudget, RestBudget, RestPacer, SharedBudget, budget_key
from videobot.errors import is_outage
from videobot.first_run import default_videos, first_run_shortfall
from videobot.health import DiscordLink, HealthCheck
from videobot.jobs import Jobs
from videobot.jobs.pacing import RunnerConfig
from videobot.jobs.runner import JobRunner
from videobot.metrics import Metrics
from videobot.modelslab import ModelsLabClient
from videobot.moderation import AuditThrottle, Moderation, Reports
from videobot.rulebook import Rulebook
from videobot.status import StatusReports
from videobot.usage import UsageReports
from web.routes import health_routes, metrics_routes
from web.server import WebServer, WebServerError
from web.webhooks import webhook_routes

# Connections to Discord's REST API, shared by all requests (discord.py's default is unbounded).
DISCORD_CONNECTIONS = 100

log = logging.getLogger("videobot")

EXTENSIONS = ("cogs.video", "cogs.credits", "cogs.server", "cogs.campaign")


class VideoBot(commands.AutoShardedBot):
    """The bot: discord.py client plus the domain services its cogs call."""

    def __init__(
        self,
        *,
        config: Config,
        sessions: SessionFactory,
        http: aiohttp.ClientSession,
        modelslab: ModelsLabClient,
        catalog: Catalog,
        metrics: Metrics | None = None,
        pacer: RestPacer | None = None,
    ) -> None:
        metrics = metrics or Metrics(sessions=sessions, max_in_flight=config.max_jobs_in_flight)
        trace = metrics.discord_trace()
        if pacer is not None:
            # Every bot-token request waits for its send time before aiohttp sends it.
            pacer.install(trace)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            tree_cls=VideoBotTree,
            help_command=None,
            # A fixed shard count skips GET /gateway/bot and connects to DEFAULT_GATEWAY.
            shard_count=config.shard_count or 1,
            # None (all shards) is discord.py's own default, though its annotation says list.
            shard_ids=list(config.shard_ids) if config.shard_ids else None,  # type: ignore[arg-type]
            allowed_mentions=discord.AllowedMentions.none(),
            # Counts (and paces) every REST call through discord.py's public tracing hook.
            http_trace=trace,
            # Kept-alive connections, reused: a burst of commands does not open (and TLS-handshake)
            # one connection per answer, which costs more than the answers themselves.
            connector=aiohttp.TCPConnector(limit=DISCORD_CONNECTIONS),
        )
        self.config = config
        self.catalog = catalog
        self.metrics = metrics
        self.presenter = DiscordPresenter(self, catalog)
        # What the runner (and /video cancel) report jobs to: the Discord presenter, counted.
        self.job_presenter = metrics.observe_jobs(self.presenter)
        self.runner = JobRunner(
            sessions=sessions,
            catalog=catalog,
            modelslab=modelslab,
            http=http,
            presenter=self.job_presenter,
            config=RunnerConfig(
                max_at_provider=config.max_jobs_in_flight,
                job_timeout=config.job_timeout_seconds,
                poll_min=config.poll_min_seconds,
                poll_max=config.poll_max_seconds,
                lease_seconds=config.lease_seconds,
                download_dir=config.data_dir / "downloads",
                input_retention=timedelta(days=config.input_retention_days),
                funds_probe_seconds=config.funds_probe_seconds,
                webhook_wait=config.webhook_wait_seconds,
            ),
            webhook_url=config.webhook_url,
        )
        self.rulebook = Rulebook(
            sessions,
            catalog,
            default_starting_balance=config.starting_balance,
            default_member_jobs=config.member_jobs_default,
        )
        self.campaign_reports = CampaignReports(sessions)
        self.campaign_closer = CampaignCloser(sessions, self.campaign_reports)
        self.campaigns = Campaigns(sessions, catalog, on_change=self.campaign_closer.wake)
        self.jobs = Jobs(
            sessions,
            catalog,
            self.rulebook,
            global_daily_cap=config.daily_credit_cap,
            input_retention_days=config.input_retention_days,
            cooldown=timedelta(seconds=config.video_cooldown_seconds),
            on_queued=self.runner.wake,
        )
        self.credits = Credits(sessions, self.rulebook)
        self.usage = UsageReports(sessions)
        self.moderation = Moderation(sessions)
        self.reports = Reports(sessions)
        # Refused prompts reach the audit channel at most once a minute per member (see its module).
        self.refusal_audits = AuditThrottle()
        self.alerts = ProviderAlerts(
            modelslab,
            self.presenter,
            sessions=sessions,
            owner_channel_id=config.owner_alert_channel_id,
            threshold_usd=config.wallet_alert_usd,
            metrics=metrics,
        )
        modelslab.observe(metrics)
        modelslab.observe(self.alerts)
        # No funds at ModelsLab pauses submitting (jobs wait in line); a top-up or an accepted submit resumes.
        self.alerts.on_change(lambda problems: self.runner.pause.set(ProviderProblem.NO_FUNDS in problems))
        self.presenter.paused = lambda: self.runner.pause.paused
        self.status_reports = StatusReports(sessions, self.alerts, max_in_flight=config.max_jobs_in_flight)
        self.health = HealthCheck(sessions, self.discord_link, secrets=config.secrets)
        self._http_session = http
        self._modelslab = modelslab
        self._background: list[asyncio.Task[None]] = []

    async def setup_hook(self) -> None:
        await self.tree.set_translator(CommandTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        await self._sync_commands()
        self._warn_if_newcomers_cannot_pay()
        await self.runner.start()
        self._background.append(
            asyncio.create_task(
                self.campaign_closer.watch(self.presenter, interval=self.config.campaign_check_seconds),
                name="campaigns",
            )
        )
        if self.config.wallet_alert_usd is not None:
            self._background.append(
                asyncio.create_task(
                    self.alerts.watch(interval=self.config.wallet_check_seconds), name="wallet-watch"
                )
            )
        if self.config.verify_catalog:
            self._background.append(asyncio.create_task(self._verify_catalog(), name="catalog-check"))

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        await self.alerts.close()
        await self.runner.stop()
        await self.presenter.close()
        await super().close()

    async def on_ready(self) -> None:
        log.info("connected as %s in %d servers", self.user, len(self.guilds))

    def discord_link(self) -> DiscordLink:
        """The gateway as `/healthz` sees it: ready, not closed, every shard's socket open."""
        shards = list(self.shards.values())
        try:
            open_shards = bool(shards) and not any(shard.is_closed() for shard in shards)
        except AttributeError:
            open_shards = False  # a shard between two connections has no socket at all
        connected = self.is_ready() and not self.is_closed() and open_shards
        return DiscordLink(connected=connected, latency_seconds=self.latency if connected else None)

    def _warn_if_newcomers_cannot_pay(self) -> None:
        videos = default_videos(self.catalog)
        missing = first_run_shortfall(videos, self.config.starting_balance)
        if missing:
            costs = ", ".join(f"/video {v.kind} {v.cost}" for v in videos)
            log.warning(
                "STARTING_BALANCE %d does not pay for one default video of each kind (%s): new members "
                "are %d credits short",
                self.config.starting_balance,
                costs,
                missing,
            )

    async def _verify_catalog(self) -> None:
        """Compare the catalog with ModelsLab's model search, warning per mismatch; never fatal."""

        try:
            await verify_catalog(self.catalog, lookup_with(self._modelslab.model_search))
        except Exception:
            log.warning("catalog check: failed; the bot runs on regardless", exc_info=True)

    async def _sync_commands(self) -> None:
        """Register slash commands with Discord, only when they changed since the last start."""
        guild = discord.Object(self.config.dev_guild_id) if self.config.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        translator = self.tree.translator
        commands_here = self.tree.get_commands(guild=guild)
        # Exactly what tree.sync sends, translations included, so a new translation is synced too.
        payload = [
            await command.get_translated_payload(self.tree, translator)
            if translator is not None
            else command.to_dict(self.tree)
            for command in commands_here
        ]
        digest = hashlib.sha256(
            json.dumps([guild and guild.id, payload], sort_keys=True).encode()
        ).hexdigest()
        marker = self.config.data_dir / "commands.sha256"
        if marker.exists() and marker.read_text() == digest:
            log.info("slash commands unchanged; not syncing")
            return
        synced = await self.tree.sync(guild=guild)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(digest)
        log.info("synced %d slash commands %s", len(synced), f"to guild {guild.id}" if guild else "globally")


class RedactingFormatter(logging.Formatter):
    """Replaces the bot's secrets wherever they would appear in a log line or traceback."""

    def __init__(self, fmt: str, secrets: tuple[str, ...]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


class JsonFormatter(RedactingFormatter):
    """One JSON object per line (``LOG_FORMAT=json``) for log shippers, secrets redacted likewise.

    Fields: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``job_id`` and ``guild_id``
    where known (from ``extra=`` or `videobot.logcontext`), and ``exception`` with the traceback.
    """

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__("%(message)s", secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        job_id = getattr(record, "job_id", None) or logcontext.job_id.get()
        guild_id = getattr(record, "guild_id", None) or logcontext.guild_id.get()
        if job_id is not None:
            entry["job_id"] = job_id
        if guild_id is not None:
            entry["guild_id"] = guild_id
        if record.exc_info:
            entry["exception"] = self.redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.redact(self.formatStack(record.stack_info))
        # Redacted before encoding too: JSON escapes could hide a secret from a search on the line.
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))


class TextFormatter(RedactingFormatter):
    """The readable default: time, level, logger, message, with ``[job 12 guild 34]`` where known."""

    def format(self, record: logging.LogRecord) -> str:
        job_id = getattr(record, "job_id", None) or logcontext.job_id.get()
        guild_id = getattr(record, "guild_id", None) or logcontext.guild_id.get()
        tags = " ".join(
            f"{name} {value}" for name, value in (("job", job_id), ("guild", guild_id)) if value is not None
        )
        record.context = f" [{tags}]" if tags else ""
        return super().format(record)


def setup_logging(config: Config) -> None:
    """One logging setup for the process: level from LOG_LEVEL, format from LOG_FORMAT, secrets
    redacted, discord.http quiet."""
    handler = logging.StreamHandler()
    formatter: logging.Formatter
    if config.log_format == "json":
        formatter = JsonFormatter(config.secrets)
    else:
        formatter = TextFormatter(
            "%(asctime)s %(levelname)-7s %(name)s%(context)s: %(message)s", config.secrets
        )
    handler.setFormatter(formatter)
    # Python's warnings (an unclosed session, a deprecation) go through the same formatter.
    logging.captureWarnings(True)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level)
    # Chatty libraries stay at WARNING (discord.http) or INFO even when LOG_LEVEL=DEBUG.
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    logging.getLogger("discord.gateway").setLevel(logging.WARNING)
    for name in ("aiosqlite", "sqlalchemy.engine"):
        logging.getLogger(name).setLevel(logging.WARNING)


def point_discord_at(config: Config) -> None:
    """Send discord.py's REST and gateway traffic to a Discord-compatible server, when configured."""
    if config.discord_api_base:
        discord.http.Route.BASE = config.discord_api_base
    if config.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.discord_gateway_url)


class StartupError(Exception):
    """The bot cannot start; ``str()`` is the one line the operator reads (the process exits 1)."""


async def run(config: Config) -> None:
    """Open every resource, run the bot until it is closed, and release everything.

    What stops the start is raised as `StartupError`, one line saying what and where.
    """
    catalog = _load_catalog(config)
    engine = create_engine(config.database_url)
    sessions = create_session_factory(engine)
    metrics = Metrics(sessions=sessions, max_in_flight=config.max_jobs_in_flight)
    pacer = RestPacer(
        _rest_budget(config, sessions, metrics),
        rate=config.discord_rest_per_second,
        on_wait=metrics.discord_pacing_wait.observe,
    )
    try:
        await _prepare_database(engine, config)
        timeout = aiohttp.ClientTimeout(total=None, connect=15, sock_read=120)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            modelslab = ModelsLabClient(
                http, api_key=config.modelslab_api_key, base_url=config.modelslab_base_url
            )
            async with (
                VideoBot(
                    config=config,
                    sessions=sessions,
                    http=http,
                    modelslab=modelslab,
                    catalog=catalog,
                    metrics=metrics,
                    pacer=pacer,
                ) as bot,
                contextlib.AsyncExitStack() as stack,
            ):
                if config.http_port is not None:
                    server = WebServer(host=config.http_host, port=config.http_port)
                    server.add_routes(health_routes(bot.health.check))
                    server.add_routes(metrics_routes(bot.metrics))
                    if config.public_url is not None:
                        server.add_routes(
                            webhook_routes(config.webhook_secret, bot.runner.webhooks.receive, bot.metrics)
                        )
                        log.info("ModelsLab webhooks on: %s/modelslab/<secret>", config.public_url)
                        if not config.public_url.startswith("https://"):
                            log.warning("PUBLIC_URL is not https://: ModelsLab only calls HTTPS webhooks")
                    try:
                        await stack.enter_async_context(server)
                    except WebServerError as exc:
                        raise StartupError(str(exc)) from None
                _close_on_signals(bot)
                await _log_in(bot, config)
                await _stay_connected(bot, config)
    finally:
        # After the bot: its last REST calls are paced too.
        await pacer.close()
        await engine.dispose()


def _rest_budget(config: Config, sessions: SessionFactory, metrics: Metrics) -> RestBudget:
    """The bot token's REST budget: shared through PostgreSQL by every process, else this process's."""
    rate = config.discord_rest_per_second
    if make_url(config.database_url).get_backend_name() == "postgresql":
        return SharedBudget(
            sessions,
            key=budget_key(config.discord_token),
            rate=rate,
            on_fallback=metrics.discord_budget_fallbacks.inc,
        )
    return LocalBudget(rate)


def _load_catalog(config: Config) -> Catalog:
    try:
        return load_catalog(config.catalog_path)
    except CatalogError as exc:
        # The loader's message names the file, the model and the key.
        raise StartupError(f"the model catalog is invalid: {exc}") from None


async def _prepare_database(engine: Any, config: Config) -> None:
    """Reach the database and bring its schema up to date, or say which of the two failed, where."""
    where = _database_where(config.database_url)
    try:
        await upgrade_database(engine)
    except Exception as exc:
        reason = _one_line(exc)
        log.debug("database start-up failure", exc_info=True)
        if is_outage(exc) or isinstance(exc, OSError | TimeoutError):
            raise StartupError(f"cannot reach the database at {where} (DATABASE_URL): {reason}") from None
        raise StartupError(f"could not migrate the database at {where}: {reason}") from None


async def _log_in(bot: VideoBot, config: Config) -> None:
    """Log in to Discord's REST API (and run the setup hook): the first call that needs Discord."""
    api = config.discord_api_base or DEFAULT_DISCORD_API_BASE
    try:
        await bot.login(config.discord_token)
    except discord.LoginFailure:
        raise StartupError(
            f"Discord refused the token (HTTP 401 from {api}): check DISCORD_TOKEN in the developer portal"
        ) from None
    except (aiohttp.ClientConnectionError, TimeoutError) as exc:
        raise StartupError(f"cannot reach Discord at {api}: {_one_line(exc)}") from None
    except discord.HTTPException as exc:
        raise StartupError(f"Discord answered HTTP {exc.status} at start ({api}): {_one_line(exc)}") from None


async def _stay_connected(bot: VideoBot, config: Config) -> None:
    """Hold the gateway connection until the bot is closed; fatal gateway refusals become one line."""
    try:
        await bot.connect()
    except discord.PrivilegedIntentsRequired:
        raise StartupError(
            "Discord refused a privileged intent this bot asked for: enable it in the developer portal "
            "(Bot → Privileged Gateway Intents)"
        ) from None
    except discord.ConnectionClosed as exc:
        gateway = config.discord_gateway_url or "Discord's gateway"
        if exc.code == 4004:
            raise StartupError(
                f"Discord's gateway ({gateway}) refused the token (4004): check DISCORD_TOKEN"
            ) from None
        raise StartupError(
            f"Discord's gateway ({gateway}) closed the connection with code {exc.code}"
        ) from None


def _database_where(url: str) -> str:
    """The database for a message: host, port and name, or the SQLite file; never the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite file {parsed.database}"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _close_on_signals(bot: VideoBot) -> None:
    # Hosts stop workers with SIGTERM: hand jobs back cleanly instead of waiting for leases to expire.
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))


async def migrate(config: Config) -> None:
    """Bring the database schema up to date and stop (``python bot.py migrate``, the release step)."""
    engine = create_engine(config.database_url)
    try:
        await _prepare_database(engine, config)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None, env: dict[str, Any] | None = None) -> int:
    """Entry point: ``python bot.py`` runs the bot, ``python bot.py migrate`` only migrates.

    Returns the process exit code.
    """
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["migrate"]):
        print("usage: python bot.py [migrate]", file=sys.stderr)
        return 2
    load_dotenv(find_dotenv(usecwd=True))
    try:
        config = Config.from_env(env if env is not None else os.environ)
    except ConfigError as exc:
        print(f"videobot: {exc}", file=sys.stderr)
        return 2
    setup_logging(config)
    try:
        if args == ["migrate"]:
            asyncio.run(migrate(config))
            return 0
        point_discord_at(config)
        asyncio.run(run(config))
    except StartupError as exc:
        # One line, no traceback, exit 1: a supervisor restarts the process and an operator reads why.
        log.error("cannot start: %s", exc)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
