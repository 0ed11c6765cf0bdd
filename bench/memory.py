"""Memory of the ``bot.py`` process: with many jobs waiting in line, and while delivering large videos.

Queued jobs are inserted straight into the bot's SQLite file before it starts (10,000 commands
through the fake would measure the command path, not the queue): rows as ``Jobs.create`` writes them,
state ``queued``, no status message. The bot runs with ``MAX_JOBS_IN_FLIGHT=1`` and a render of an
hour, so one job sits at ModelsLab and every other one stays queued; one more job then comes in
through ``/video text``, so the command path runs with the whole queue ahead of it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert

from bench.burst import Burst, run_burst
from bench.harness import bench_world
from storage.engine import create_engine
from storage.migrate import upgrade_database
from storage.tables import Job
from storage.types import utcnow
from tests.member import CHANNEL, GUILD
from videobot.catalog import VideoChoices, load_catalog, validate_choices
from videobot.config import normalise_database_url
from videobot.jobs import JobState

_ROWS_PER_INSERT = 1000


@dataclass
class QueuedMemory:
    """The bot's memory with ``queued`` jobs waiting."""

    queued: int
    vm_hwm_kib: int
    vm_rss_kib: int
    accepted: str  # what the member was told for the extra job


async def insert_queued_jobs(database_url: str, count: int) -> None:
    """Write ``count`` queued ``/video text`` jobs (veo-3.1-fast, 4 s) into a migrated database."""
    catalog = load_catalog()
    engine = create_engine(normalise_database_url(database_url))
    try:
        await upgrade_database(engine)
        now = utcnow()
        rows = []
        for i in range(count):
            video = validate_choices(
                catalog, VideoChoices(kind="text", prompt=f"queued job {i}: a lighthouse at dusk", duration=4)
            )
            rows.append(
                {
                    "interaction_id": 1_000_000_000_000_000_000 + i,
                    "guild_id": GUILD,
                    "channel_id": CHANNEL,
                    "user_id": 830_000_000_000_000_000 + i % 500,
                    "kind": video.model.kind,
                    "model_id": video.model.id,
                    "prompt": video.prompt,
                    "settings": video.to_record(),
                    "cost": video.cost,
                    "upload_limit": 10 * 1024 * 1024,
                    "state": JobState.QUEUED.value,
                    "created_at": now - timedelta(seconds=count - i),
                    "updated_at": now,
                }
            )
        async with engine.begin() as conn:
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                await conn.execute(insert(Job), rows[start : start + _ROWS_PER_INSERT])
    finally:
        await engine.dispose()


async def queued_memory(count: int, *, settle: float = 3.0) -> QueuedMemory:
    """Peak and current RSS of a bot that starts with ``count`` jobs in line and takes one more."""
    async with bench_world(render_seconds=3600) as world:
        if count:
            await insert_queued_jobs(world.database_url, count)
        bot = await world.start_measured_bot(MAX_JOBS_IN_FLIGHT="1")
        answer = await world.run("video text", prompt="one more in line", duration=4)
        await asyncio.sleep(settle)  # a claim pass and an idle check of the runner
        return QueuedMemory(count, bot.kib("VmHWM"), bot.kib("VmRSS"), answer)


@dataclass
class LargeVideos:
    """RSS of the bot before and at the peak of delivering large videos."""

    videos: int
    size: int
    rss_before_kib: int
    hwm_before_kib: int
    hwm_after_kib: int
    burst: Burst
    uploaded: int  # videos the fake received as attachments of ``size`` bytes

    @property
    def added_kib(self) -> int:
        """Peak RSS during the deliveries above the resident set before them."""
        return self.hwm_after_kib - self.rss_before_kib


async def large_video_memory(videos: int, size: int, *, channels: int, within: float) -> LargeVideos:
    """Deliver ``videos`` videos of ``size`` bytes (uploaded: a boost-tier-2 guild allows 50 MiB)."""
    async with bench_world(render_seconds=1.0, premium_tier=2) as world:
        world.modelslab.use_large_video(size)
        bot = await world.start_measured_bot(MAX_JOBS_IN_FLIGHT=str(videos), POLL_MIN_SECONDS="1")
        await asyncio.sleep(2)  # let start-up allocations settle before the baseline
        rss_before, hwm_before = bot.kib("VmRSS"), bot.kib("VmHWM")
        burst = await run_burst(world, bot, jobs=videos, channels=channels, within=within)
        uploaded = sum(
            1
            for message in world.discord.messages.values()
            for attachment in message.attachments
            if attachment.size == size
        )
        return LargeVideos(videos, size, rss_before, hwm_before, bot.kib("VmHWM"), burst, uploaded)
