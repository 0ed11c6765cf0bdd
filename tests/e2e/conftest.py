"""End-to-end fixtures: loopback fakes of Discord and ModelsLab, and ``python bot.py`` as a process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Generator
from pathlib import Path

import pytest

from tests.fakes.discord_payloads import FakeFile, FakeMessage
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.modelslab_server import FakeModelsLab

ROOT = Path(__file__).resolve().parents[2]
DISCORD_TOKEN = "e2e-discord-token.abcdef.ghijklmnop"
MODELSLAB_KEY = "e2e-modelslab-key-0123456789"
GUILD = 800_000_000_000_000_001
CHANNEL = 800_000_000_000_000_002
MEMBER = 800_000_000_000_000_003
OTHER_MEMBER = 800_000_000_000_000_004
START_BALANCE = 500
# VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31)

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + bytes(400)


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
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class World:
    """The fakes, the bot process and helpers a test needs to act as a member."""

    def __init__(self, discord: FakeDiscord, modelslab: FakeModelsLab, tmp: Path, database_url: str) -> None:
        self.discord = discord
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

    async def slash(self, command: str, user: int = MEMBER, **options: object) -> str:
        """Run a command as a member and return the text of its (final) answer."""
        files = {k: v for k, v in options.items() if isinstance(v, FakeFile)}
        plain = {k: v for k, v in options.items() if not isinstance(v, FakeFile)}
        inter = await self.discord.invoke_slash(
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=user,
            command=command,
            options=plain,
            attachments=files,
        )
        message = await inter.wait_for_followup_or_edit(lambda m: not m.loading and bool(m.text), timeout=30)
        assert inter.ephemeral, f"/{command} answered publicly: {message.text!r}"
        return message.text

    async def balance(self, user: int = MEMBER) -> int:
        text = await self.slash("credits balance", user=user)
        match = re.search(r"\*\*(\d+)\*\*", text)
        assert match, text
        return int(match.group(1))

    async def video_message(self, job_id: int, timeout: float = 60) -> FakeMessage:
        """Wait for the finished video of a job, posted in a thread."""
        return await self.discord.wait_for_message(
            lambda m: bool(m.attachments) and f"video #{job_id} is ready" in m.content, timeout=timeout
        )

    def video_messages(self, job_id: int) -> list[FakeMessage]:
        """Every live message carrying the video of a job, in any channel or thread."""
        channels = [CHANNEL, *self.discord.threads]
        return [
            m
            for channel in channels
            for m in self.discord.messages_in(channel)
            if m.attachments and f"video #{job_id} is ready" in m.content
        ]

    def assert_no_secrets_in_logs(self) -> None:
        for bot in self.bots:
            text = bot.log()
            assert DISCORD_TOKEN not in text
            assert MODELSLAB_KEY not in text


def job_id_from(text: str) -> int:
    """The job number in a "Video #12 accepted" answer."""
    match = re.search(r"Video #(\d+) accepted", text)
    assert match, f"not an acceptance: {text!r}"
    return int(match.group(1))


async def eventually(check: Callable[[], object], timeout: float = 30, what: str = "condition") -> None:
    """Wait until ``check()`` is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/data/videobot.db"


async def make_world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    discord = FakeDiscord(token=DISCORD_TOKEN)
    modelslab = FakeModelsLab(api_key=MODELSLAB_KEY, render_seconds=1.0, retry_after=0.5)
    await discord.start()
    await modelslab.start()
    discord.add_guild(GUILD, "E2E Guild")
    discord.add_text_channel(GUILD, CHANNEL, "videos")
    discord.add_member(GUILD, MEMBER, "alice", permissions=MEMBER_PERMISSIONS)
    discord.add_member(GUILD, OTHER_MEMBER, "bob", permissions=MEMBER_PERMISSIONS)
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
    world = getattr(item, "funcargs", {}).get("world")
    if report.failed and isinstance(world, World):
        for bot in world.bots:
            report.sections.append((f"log of {bot.log_path.name}", bot.log()[-12000:]))
    return report
