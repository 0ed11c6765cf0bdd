"""An in-process bot: the real `VideoBot` (cogs, tree, runner) on the loopback fakes and a SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import discord
import pytest
import yarl

from bot import VideoBot
from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.migrate import upgrade_database
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.modelslab_server import FakeModelsLab
from tests.member import CHANNEL, GUILD, Members, populate
from videobot.catalog import load_catalog
from videobot.config import Config
from videobot.modelslab import ModelsLabClient

TOKEN = "flow-discord-token"
KEY = "flow-modelslab-key"
START = 500


class Flow(Members):
    """A running in-process bot, the fakes around it, and members acting in the test server."""

    def __init__(
        self, discord_fake: FakeDiscord, modelslab: FakeModelsLab, bot: VideoBot, sessions: SessionFactory
    ) -> None:
        super().__init__(discord_fake)
        self.modelslab = modelslab
        self.bot = bot
        self.sessions = sessions

    def status_text(self, job_id: int) -> str:
        """What the job's status message in the test channel shows now ("" before it exists)."""
        shown = [m.text for m in self.discord.messages_in(CHANNEL, include_ephemeral=False)]
        return next((text for text in shown if f"Video #{job_id} ·" in text), "")


@pytest.fixture
def flow_config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    """The bot's configuration; a test changes it with ``@pytest.mark.config(name=value, ...)``."""
    marker = request.node.get_closest_marker("config")
    return Config(
        **{
            "discord_token": TOKEN,
            "modelslab_api_key": KEY,
            "database_url": f"sqlite+aiosqlite:///{tmp_path}/flow.db",
            "dev_guild_id": GUILD,
            "starting_balance": START,
            "poll_min_seconds": 0.1,
            "poll_max_seconds": 0.5,
            "lease_seconds": 3,
            "data_dir": tmp_path / "data",
            # Most tests make several videos in a row; fair-use limits have tests of their own.
            "video_cooldown_seconds": 0,
            "member_jobs_default": 0,
            **(marker.kwargs if marker else {}),
        }
    )


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeModelsLab]]:
    # Discord's limits and 429s, with its waits five times shorter so the suite stays quick.
    discord_fake = FakeDiscord(token=TOKEN, rate_limit_time_scale=0.2)
    modelslab = FakeModelsLab(api_key=KEY, render_seconds=0.5, retry_after=0.5)
    await discord_fake.start()
    await modelslab.start()
    populate(discord_fake)
    try:
        yield discord_fake, modelslab
    finally:
        await modelslab.close()
        await discord_fake.close()


@pytest.fixture
async def flow(
    fakes: tuple[FakeDiscord, FakeModelsLab], flow_config: Config, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Flow]:
    discord_fake, modelslab = fakes
    monkeypatch.setattr(discord.http.Route, "BASE", discord_fake.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(discord_fake.gateway_url)
    )
    config = replace(flow_config, modelslab_base_url=modelslab.base_url)
    engine = create_engine(config.database_url)
    await upgrade_database(engine)
    sessions = create_session_factory(engine)
    async with aiohttp.ClientSession() as http:
        bot = VideoBot(
            config=config,
            sessions=sessions,
            http=http,
            modelslab=ModelsLabClient(http, api_key=KEY, base_url=modelslab.base_url),
            catalog=load_catalog(),
        )
        await bot.login(TOKEN)
        connection = asyncio.create_task(bot.connect())
        try:
            await discord_fake.wait_until_identified(timeout=20)
            await asyncio.wait_for(bot.wait_until_ready(), 20)
            yield Flow(discord_fake, modelslab, bot, sessions)
        finally:
            await bot.close()
            connection.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await connection
    await engine.dispose()
