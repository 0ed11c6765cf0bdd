"""What every benchmark needs: the loopback fakes, ``bot.py`` as a child process, and the report.

The fakes and the process wrapper are the end-to-end suite's own (``tests/e2e/conftest.py``,
``tests/member.py``), so a benchmark drives the bot exactly as those tests do.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.conftest import DISCORD_TOKEN, MODELSLAB_KEY, BotProcess, World
from tests.fakes.discord_payloads import FakeMessage
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.modelslab_server import FakeModelsLab
from tests.member import GUILD, MEMBER_PERMISSIONS, populate

# Ids of the channels and members a benchmark adds next to the e2e test server's own.
BENCH_CHANNEL = 810_000_000_000_000_000
BENCH_MEMBER = 820_000_000_000_000_000

READY = re.compile(r"your video #(\d+) is ready")
FAILED = re.compile(r"video #(\d+) did not work out")
ACCEPTED = re.compile(r"Video #(\d+) accepted")
STATUS_TITLE = re.compile(r"Video #(\d+) · (.+)")


def cores() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def machine() -> str:
    """One line saying what ran the benchmark."""
    return (
        f"{cores()} cores ({platform.processor() or platform.machine()}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def proc_status_kib(pid: int, field_name: str) -> int:
    """A ``/proc/<pid>/status`` memory field in KiB (``VmHWM``: peak resident set, ``VmRSS``: now)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    raise LookupError(f"{field_name} not in /proc/{pid}/status")


def mib(kib: int) -> str:
    """KiB as MiB for the report."""
    return f"{kib / 1024:.1f} MiB"


@dataclass
class Report:
    """Prints one figure a line and collects the checks that failed."""

    failures: list[str] = field(default_factory=list)

    def line(self, name: str, value: str, **params: object) -> None:
        """Print ``name: value  [param=value, ...]``."""
        extra = ", ".join(f"{k}={v}" for k, v in params.items())
        print(f"{name}: {value}" + (f"  [{extra}]" if extra else ""), flush=True)

    def note(self, text: str) -> None:
        """A line of context (parameters, explanations), prefixed with ``#``."""
        print(f"# {text}", flush=True)

    def check(self, what: str, ok: bool, detail: str) -> None:
        """Record a failed bound (smoke mode)."""
        if not ok:
            self.failures.append(f"{what}: {detail}")
            print(f"FAIL {what}: {detail}", flush=True)

    def at_most(self, what: str, measured: float, expected: float, factor: float) -> None:
        """Fail when ``measured`` exceeds ``factor`` times today's ``expected`` value."""
        bound = expected * factor
        self.check(what, measured <= bound, f"{measured:.2f} > {factor:g} × {expected:g} = {bound:.2f}")


class MeasuredBot(BotProcess):
    """The e2e suite's ``python bot.py`` wrapper, plus the pid the memory figures read."""

    @property
    def pid(self) -> int:
        """The bot process's id."""
        assert self._proc is not None, "start() first"
        return self._proc.pid

    def kib(self, field_name: str) -> int:
        """A memory figure of the running bot (see `proc_status_kib`)."""
        return proc_status_kib(self.pid, field_name)


class BenchWorld(World):
    """The e2e world (fakes, members, env of ``bot.py``) with measured bot processes and room to grow."""

    def __init__(self, discord: FakeDiscord, modelslab: FakeModelsLab, tmp: Path, database_url: str) -> None:
        super().__init__(discord, modelslab, tmp, database_url)
        self.channel_ids: list[int] = []
        self.member_ids: list[int] = []

    def env(self, **extra: str) -> dict[str, str]:
        """The e2e environment with production pacing unless a benchmark says otherwise."""
        defaults = {
            "LOG_LEVEL": "INFO",
            "POLL_MIN_SECONDS": "5",
            "POLL_MAX_SECONDS": "30",
            "JOB_LEASE_SECONDS": "60",
            "STARTING_BALANCE": "1000",
        }
        return super().env(**{**defaults, **extra})

    async def start_measured_bot(self, **extra_env: str) -> MeasuredBot:
        """Start ``bot.py`` and wait until it is connected with its commands registered."""
        bot = MeasuredBot(self.env(**extra_env), self.tmp / f"bot-{len(self.bots)}.log", self.tmp)
        self.bots.append(bot)
        identified = self.discord.identify_count
        bot.start()
        try:
            await self.discord.wait_until_identified(timeout=60, count=identified + 1)
        except TimeoutError:
            raise RuntimeError(f"the bot did not connect; its log:\n{bot.log()[-4000:]}") from None
        if not self.discord.registered_commands.get(GUILD):
            raise RuntimeError("the bot did not sync its commands to DEV_GUILD_ID")
        return bot

    def ensure_channels(self, count: int) -> list[int]:
        """``count`` text channels for benchmark jobs (created on first use)."""
        while len(self.channel_ids) < count:
            channel_id = BENCH_CHANNEL + len(self.channel_ids)
            self.discord.add_text_channel(GUILD, channel_id, f"videos-{len(self.channel_ids)}")
            self.channel_ids.append(channel_id)
        return self.channel_ids[:count]

    def ensure_members(self, count: int) -> list[int]:
        """``count`` members, one per benchmark job (created on first use)."""
        while len(self.member_ids) < count:
            user_id = BENCH_MEMBER + len(self.member_ids)
            self.discord.add_member(
                GUILD, user_id, f"member{len(self.member_ids)}", permissions=MEMBER_PERMISSIONS
            )
            self.member_ids.append(user_id)
        return self.member_ids[:count]

    def job_index(self) -> tuple[set[int], set[int], dict[int, str]]:
        """Job ids with a posted video, job ids with a failure note, and each status message's state."""
        ready: set[int] = set()
        failed: set[int] = set()
        states: dict[int, str] = {}
        for message in list(self.discord.messages.values()):
            if message.deleted:
                continue
            if match := READY.search(message.content):
                ready.add(int(match.group(1)))
            elif match := FAILED.search(message.content):
                failed.add(int(match.group(1)))
            title = _status_title(message)
            if title and (match := STATUS_TITLE.match(title)):
                states[int(match.group(1))] = match.group(2)
        return ready, failed, states


def _status_title(message: FakeMessage) -> str | None:
    if not message.embeds:
        return None
    title = message.embeds[0].get("title")
    return title if isinstance(title, str) else None


@asynccontextmanager
async def bench_world(
    *,
    render_seconds: float = 4.0,
    premium_tier: int = 0,
    database_url: str | None = None,
    rate_limits: bool = True,
) -> AsyncIterator[BenchWorld]:
    """Fakes on loopback (Discord's rate limits on, ModelsLab's queue limit out of the way), the e2e
    test server, and a scratch directory with the bot's SQLite file unless ``database_url`` is given.
    """
    with tempfile.TemporaryDirectory(prefix="videobot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        discord = FakeDiscord(token=DISCORD_TOKEN, rate_limits=rate_limits)
        modelslab = FakeModelsLab(
            api_key=MODELSLAB_KEY, render_seconds=render_seconds, queue_limit=100_000, retry_after=0.5
        )
        await discord.start()
        await modelslab.start()
        populate(discord)
        discord.guilds[GUILD].premium_tier = premium_tier
        world = BenchWorld(discord, modelslab, tmp, database_url or f"sqlite:///{tmp}/data/videobot.db")
        try:
            yield world
        finally:
            for bot in world.bots:
                bot.stop()
            await modelslab.close()
            await discord.close()


async def wait_until(check: Callable[[], bool], within: float, interval: float = 0.1) -> bool:
    """Poll ``check`` until it is true (True) or ``within`` seconds passed (False)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval)
    return True


def spread(items: Iterable[int], count: int) -> list[int]:
    """``count`` items taken round-robin from ``items``."""
    pool = list(items)
    return [pool[i % len(pool)] for i in range(count)]
