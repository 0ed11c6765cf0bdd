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
from datetime import timedelta
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands
from dotenv import find_dotenv, load_dotenv

from cogs.ui.buttons import DYNAMIC_ITEMS
from cogs.ui.presenter import DiscordPresenter
from cogs.ui.tree import VideoBotTree
from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.migrate import upgrade_database
from videobot.campaigns import CampaignCloser, CampaignReports, Campaigns
from videobot.catalog import Catalog, load_catalog
from videobot.config import Config, ConfigError
from videobot.credits import Credits
from videobot.jobs import Jobs
from videobot.jobs.pacing import RunnerConfig
from videobot.jobs.runner import JobRunner
from videobot.modelslab import ModelsLabClient
from videobot.moderation import AuditThrottle, Moderation, Reports
from videobot.rulebook import Rulebook
from videobot.usage import UsageReports

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
    ) -> None:
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
        )
        self.config = config
        self.catalog = catalog
        self.presenter = DiscordPresenter(self, catalog)
        self.runner = JobRunner(
            sessions=sessions,
            catalog=catalog,
            modelslab=modelslab,
            http=http,
            presenter=self.presenter,
            config=RunnerConfig(
                max_at_provider=config.max_jobs_in_flight,
                job_timeout=config.job_timeout_seconds,
                poll_min=config.poll_min_seconds,
                poll_max=config.poll_max_seconds,
                lease_seconds=config.lease_seconds,
                download_dir=config.data_dir / "downloads",
                input_retention=timedelta(days=config.input_retention_days),
            ),
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
        self._campaign_watch: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        await self._sync_commands()
        await self.runner.start()
        self._campaign_watch = asyncio.create_task(
            self.campaign_closer.watch(self.presenter, interval=self.config.campaign_check_seconds),
            name="campaigns",
        )

    async def close(self) -> None:
        if self._campaign_watch is not None:
            self._campaign_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._campaign_watch
        await self.runner.stop()
        await self.presenter.close()
        await super().close()

    async def on_ready(self) -> None:
        log.info("connected as %s in %d servers", self.user, len(self.guilds))

    async def _sync_commands(self) -> None:
        """Register slash commands with Discord, only when they changed since the last start."""
        guild = discord.Object(self.config.dev_guild_id) if self.config.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
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
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def setup_logging(config: Config) -> None:
    """One logging setup for the process: level from LOG_LEVEL, secrets redacted, discord.http quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", config.secrets)
    )
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


async def run(config: Config) -> None:
    """Open every resource, run the bot until it is closed, and release everything."""
    catalog = load_catalog()
    engine = create_engine(config.database_url)
    try:
        await upgrade_database(engine)
        timeout = aiohttp.ClientTimeout(total=None, connect=15, sock_read=120)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            modelslab = ModelsLabClient(
                http, api_key=config.modelslab_api_key, base_url=config.modelslab_base_url
            )
            async with VideoBot(
                config=config,
                sessions=create_session_factory(engine),
                http=http,
                modelslab=modelslab,
                catalog=catalog,
            ) as bot:
                _close_on_signals(bot)
                await bot.start(config.discord_token)
    finally:
        await engine.dispose()


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
        await upgrade_database(engine)
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
    if args == ["migrate"]:
        asyncio.run(migrate(config))
        return 0
    point_discord_at(config)
    try:
        asyncio.run(run(config))
    except discord.LoginFailure:
        log.error("Discord refused the token (DISCORD_TOKEN): check it in the developer portal")
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
