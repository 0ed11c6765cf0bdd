"""End-to-end fixtures: loopback fakes of Discord and ModelsLab, and ``python bot.py`` as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.modelslab_server import FakeModelsLab
from tests.member import GUILD, Members, populate

ROOT = Path(__file__).resolve().parents[2]
DISCORD_TOKEN = "e2e-discord-token.abcdef.ghijklmnop"
MODELSLAB_KEY = "e2e-modelslab-key-0123456789"
START_BALANCE = 500


class BotProcess:
    """``python bot.py`` in a child process, its output in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self._env = env
        self.log_path = log_path
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py")], cwd=self._cwd, env=self._env, stdout=log, stderr=log
        )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no lease hand-back, as when a host dies."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait(10)

    def stop(self) -> int | None:
        """SIGTERM and wait: the bot's graceful shutdown."""
        if self._proc is None or self._proc.poll() is not None:
            return self._proc.returncode if self._proc else None
        self._proc.terminate()
        try:
            return self._proc.wait(15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            return self._proc.wait(5)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class World(Members):
    """The fakes, the bot processes, and members acting in the test server."""

    def __init__(self, discord: FakeDiscord, modelslab: FakeModelsLab, tmp: Path, database_url: str) -> None:
        super().__init__(discord)
        self.modelslab = modelslab
        self.tmp = tmp
        self.database_url = database_url
        self.bots: list[BotProcess] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.tmp),
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "MODELSLAB_API_KEY": MODELSLAB_KEY,
            "DATABASE_URL": self.database_url,
            "MODELSLAB_BASE_URL": self.modelslab.base_url,
            "DISCORD_API_BASE": self.discord.api_base,
            "DISCORD_GATEWAY_URL": self.discord.gateway_url,
            "DEV_GUILD_ID": str(GUILD),
            "DATA_DIR": str(self.tmp / "data"),
            "LOG_LEVEL": "DEBUG",
            "STARTING_BALANCE": str(START_BALANCE),
            "POLL_MIN_SECONDS": "0.2",
            "POLL_MAX_SECONDS": "0.8",
            "JOB_LEASE_SECONDS": "2",
            # Most tests make several videos in a row; fair-use limits have tests of their own.
            "VIDEO_COOLDOWN_SECONDS": "0",
            "MEMBER_JOBS_DEFAULT": "0",
        }
        env.update(extra)
        return env

    async def start_bot(self, **extra_env: str) -> BotProcess:
        """Start a bot process and wait until it is connected with its commands registered."""
        bot = BotProcess(self.env(**extra_env), self.tmp / f"bot-{len(self.bots)}.log", self.tmp)
        self.bots.append(bot)
        identified = self.discord.identify_count
        bot.start()
        try:
            await self.discord.wait_until_identified(timeout=60, count=identified + 1)
        except Exception:
            pytest.fail(f"the bot did not connect; its log:\n{bot.log()[-4000:]}")
        assert self.discord.registered_commands.get(GUILD), (
            "the bot did not sync its commands to DEV_GUILD_ID"
        )
        return bot

    def assert_no_secrets_in_logs(self) -> None:
        for bot in self.bots:
            text = bot.log()
            assert DISCORD_TOKEN not in text
            assert MODELSLAB_KEY not in text


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/data/videobot.db"


async def make_world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    # Discord's limits and 429s, with its waits five times shorter so the suite stays quick.
    discord = FakeDiscord(token=DISCORD_TOKEN, rate_limit_time_scale=0.2)
    modelslab = FakeModelsLab(api_key=MODELSLAB_KEY, render_seconds=1.0, retry_after=0.5)
    await discord.start()
    await modelslab.start()
    populate(discord)
    world = World(discord, modelslab, tmp_path, database_url)
    try:
        yield world
    finally:
        for bot in world.bots:
            bot.stop()
        await modelslab.close()
        await discord.close()


@pytest.fixture
async def world(tmp_path: Path, sqlite_url: str) -> AsyncIterator[World]:
    """Fakes on loopback and a SQLite database the bot creates itself."""
    async for w in make_world(tmp_path, sqlite_url):
        yield w


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the bot processes' logs to a failing test's report."""
    report: pytest.TestReport = yield
    funcargs = getattr(item, "funcargs", {})
    world = next((value for value in funcargs.values() if isinstance(value, World)), None)
    if report.failed and world is not None:
        for bot in world.bots:
            report.sections.append((f"log of {bot.log_path.name}", bot.log()[-12000:]))
    return report
