"""Database statements per ``/video text``, counted inside an in-process bot.

The bot is built as ``tests/cogs/conftest.py`` builds it (the real ``VideoBot`` with its cogs and
runner, on the loopback fakes); a SQLAlchemy ``before_cursor_execute`` listener on its engine counts
every statement the driver executes, and ``begin`` events count transactions. SQLite's
``BEGIN IMMEDIATE`` is a statement of its own; PostgreSQL's BEGIN/COMMIT and both databases' COMMIT
are not cursor executions and are not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.harness import ACCEPTED, wait_until
from bot import VideoBot
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade_database
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.modelslab_server import FakeModelsLab
from tests.member import CHANNEL, GUILD, MEMBER, OTHER_MEMBER, Members, populate
from videobot.catalog import load_catalog
from videobot.config import Config
from videobot.modelslab import ModelsLabClient

TOKEN = "bench-discord-token"
KEY = "bench-modelslab-key"
POLL_MIN, POLL_MAX, RENDER = 0.2, 1.0, 0.5


@dataclass
class StatementCounter:
    """Statements (by first word) and transactions on one engine."""

    statements: Counter[str] = field(default_factory=Counter)
    transactions: int = 0

    def attach(self, engine: AsyncEngine) -> None:
        """Count on this engine from now on."""
        event.listen(engine.sync_engine, "before_cursor_execute", self._on_execute)
        event.listen(engine.sync_engine, "begin", self._on_begin)

    def _on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements[statement.split(None, 1)[0].upper()] += 1

    def _on_begin(self, conn: Any) -> None:
        self.transactions += 1

    def snapshot(self) -> tuple[int, int, int]:
        """(statements without BEGIN, BEGIN statements, transactions) so far."""
        begins = self.statements["BEGIN"]
        return sum(self.statements.values()) - begins, begins, self.transactions


@dataclass
class Span:
    """What one stretch of work cost the database."""

    statements: int
    begins: int
    transactions: int
    seconds: float

    @staticmethod
    def between(before: tuple[int, int, int], after: tuple[int, int, int], seconds: float) -> Span:
        """The difference of two snapshots."""
        return Span(after[0] - before[0], after[1] - before[1], after[2] - before[2], seconds)


@dataclass
class Statements:
    """Statements for a member's first command, a later command, a whole job, and the idle rate."""

    database: str
    idle_per_second: float
    first_command: Span
    command: Span
    job: Span
    by_kind: Counter[str]


@asynccontextmanager
async def _in_process_bot(database_url: str, counter: StatementCounter) -> AsyncIterator[Members]:
    with tempfile.TemporaryDirectory(prefix="videobot-bench-db-") as tmp:
        fake = FakeDiscord(token=TOKEN)
        modelslab = FakeModelsLab(api_key=KEY, render_seconds=RENDER, queue_limit=100_000, retry_after=0.5)
        await fake.start()
        await modelslab.start()
        populate(fake)
        saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = fake.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
        engine = create_engine(database_url)
        try:
            await upgrade_database(engine)
            counter.attach(engine)
            config = Config(
                discord_token=TOKEN,
                modelslab_api_key=KEY,
                database_url=database_url,
                modelslab_base_url=modelslab.base_url,
                dev_guild_id=GUILD,
                starting_balance=500,
                poll_min_seconds=POLL_MIN,
                poll_max_seconds=POLL_MAX,
                data_dir=Path(tmp) / "data",
                video_cooldown_seconds=0,
                member_jobs_default=0,
            )
            async with aiohttp.ClientSession() as http:
                bot = VideoBot(
                    config=config,
                    sessions=create_session_factory(engine),
                    http=http,
                    modelslab=ModelsLabClient(http, api_key=KEY, base_url=modelslab.base_url),
                    catalog=load_catalog(),
                )
                await bot.login(TOKEN)
                connection = asyncio.create_task(bot.connect())
                try:
                    await fake.wait_until_identified(timeout=20)
                    await asyncio.wait_for(bot.wait_until_ready(), 20)
                    yield Members(fake)
                finally:
                    await bot.close()
                    connection.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await connection
        finally:
            await engine.dispose()
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
            await modelslab.close()
            await fake.close()


async def _one_job(members: Members, counter: StatementCounter, user: int) -> tuple[Span, Span]:
    """Spans of one ``/video text``: to the member's answer, and to the final status edit."""
    before, started = counter.snapshot(), time.monotonic()
    text = await members.run("video text", user=user, prompt="a kite over the dunes", duration=4)
    answered = counter.snapshot(), time.monotonic()
    match = ACCEPTED.search(text)
    if match is None:
        raise RuntimeError(f"/video text was not accepted: {text!r}")
    job_id = int(match.group(1))
    await members.video(job_id)
    status = f"Video #{job_id} · Done"
    if not await wait_until(lambda: any(status in m.text for m in members.discord.messages_in(CHANNEL)), 30):
        raise RuntimeError(f"job {job_id}'s status never said Done")
    finished = counter.snapshot(), time.monotonic()
    return (
        Span.between(before, answered[0], answered[1] - started),
        Span.between(before, finished[0], finished[1] - started),
    )


async def count_statements(database_url: str, label: str, *, idle_seconds: float = 4.0) -> Statements:
    """Run two jobs (a member's first, then another member's second after a warm-up) and count."""
    counter = StatementCounter()
    async with _in_process_bot(database_url, counter) as members:
        await asyncio.sleep(1)  # start-up work (migrations were before the counter, sync, runner start)
        idle_start, idle_t = counter.snapshot(), time.monotonic()
        await asyncio.sleep(idle_seconds)
        idle = Span.between(idle_start, counter.snapshot(), time.monotonic() - idle_t)
        first_command, _ = await _one_job(members, counter, MEMBER)
        await members.run("credits balance", user=OTHER_MEMBER)  # the second member's account exists
        kinds_before = Counter(counter.statements)
        command, job = await _one_job(members, counter, OTHER_MEMBER)
        by_kind = counter.statements - kinds_before
    return Statements(
        database=label,
        idle_per_second=(idle.statements + idle.begins) / idle.seconds,
        first_command=first_command,
        command=command,
        job=job,
        by_kind=by_kind,
    )


def postgres_configured() -> bool:
    """Whether TEST_POSTGRES_URL names a server to run the PostgreSQL figures on."""
    return bool(os.environ.get("TEST_POSTGRES_URL"))
