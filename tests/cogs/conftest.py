"""An in-process bot: the real `VideoBot` (cogs, tree, runner) on the loopback fakes and a SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import re
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
from tests.e2e.conftest import CHANNEL, GUILD, MEMBER, MEMBER_PERMISSIONS, OTHER_MEMBER
from tests.fakes.discord_payloads import FakeFile, FakeMessage
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.modelslab_server import FakeModelsLab
from videobot.catalog import load_catalog
from videobot.config import Settings
from videobot.modelslab import ModelsLabClient

TOKEN = "flow-discord-token"
KEY = "flow-modelslab-key"
START = 500
MODERATOR = 800_000_000_000_000_009
MANAGE_GUILD = 1 << 5


class Flow:
    """A running in-process bot and the fakes around it."""

    def __init__(
        self, discord_fake: FakeDiscord, modelslab: FakeModelsLab, bot: VideoBot, sessions: SessionFactory
    ):
        self.discord = discord_fake
        self.modelslab = modelslab
        self.bot = bot
        self.sessions = sessions

    async def run(
        self, command: str, *, user: int = MEMBER, channel: int = CHANNEL, **options: object
    ) -> str:
        """Run a slash command and return the text of the answer the member reads."""
        files = {k: v for k, v in options.items() if isinstance(v, FakeFile)}
        plain = {k: v for k, v in options.items() if not isinstance(v, FakeFile)}
        inter = await self.discord.invoke_slash(
            guild_id=GUILD,
            channel_id=channel,
            user_id=user,
            command=command,
            options=plain,
            attachments=files,
        )
        message = await inter.wait_for_followup_or_edit(lambda m: not m.loading and bool(m.text), timeout=20)
        return message.text

    async def click(self, message: FakeMessage, custom_id: str, *, user: int = MEMBER) -> str:
        inter = await self.discord.click_button(
            guild_id=GUILD,
            channel_id=message.channel_id,
            user_id=user,
            message_id=message.id,
            custom_id=custom_id,
        )
        answer = await inter.wait_for_followup_or_edit(lambda m: m.ephemeral and not m.loading, timeout=20)
        return answer.text

    async def balance(self, user: int = MEMBER) -> int:
        text = await self.run("credits balance", user=user)
        match = re.search(r"\*\*(\d+)\*\*", text)
        assert match, text
        return int(match.group(1))

    async def video(self, job_id: int, timeout: float = 30) -> FakeMessage:
        return await self.discord.wait_for_message(
            lambda m: f"video #{job_id} is ready" in m.content and not m.deleted, timeout=timeout
        )


def job_number(text: str) -> int:
    match = re.search(r"Video #(\d+) accepted", text)
    assert match, f"not accepted: {text!r}"
    return int(match.group(1))


@pytest.fixture
def flow_settings(tmp_path: Path) -> Settings:
    return Settings(
        discord_token=TOKEN,
        modelslab_api_key=KEY,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/flow.db",
        dev_guild_id=GUILD,
        starting_balance=START,
        poll_min_seconds=0.1,
        poll_max_seconds=0.5,
        lease_seconds=3,
        data_dir=tmp_path / "data",
    )


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeModelsLab]]:
    discord_fake = FakeDiscord(token=TOKEN)
    modelslab = FakeModelsLab(api_key=KEY, render_seconds=0.5, retry_after=0.5)
    await discord_fake.start()
    await modelslab.start()
    discord_fake.add_guild(GUILD, "Flow Guild")
    discord_fake.add_text_channel(GUILD, CHANNEL, "videos")
    discord_fake.add_member(GUILD, MEMBER, "alice", permissions=MEMBER_PERMISSIONS)
    discord_fake.add_member(GUILD, OTHER_MEMBER, "bob", permissions=MEMBER_PERMISSIONS)
    discord_fake.add_member(GUILD, MODERATOR, "mod", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    try:
        yield discord_fake, modelslab
    finally:
        await modelslab.close()
        await discord_fake.close()


@pytest.fixture
async def flow(
    fakes: tuple[FakeDiscord, FakeModelsLab], flow_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Flow]:
    discord_fake, modelslab = fakes
    monkeypatch.setattr(discord.http.Route, "BASE", discord_fake.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(discord_fake.gateway_url)
    )
    settings = replace(flow_settings, modelslab_base_url=modelslab.base_url)
    engine = create_engine(settings.database_url)
    await upgrade_database(engine)
    sessions = create_session_factory(engine)
    async with aiohttp.ClientSession() as http:
        bot = VideoBot(
            settings=settings,
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
