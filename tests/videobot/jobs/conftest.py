"""A runner harness: the fake ModelsLab on loopback, a real database, and a recording presenter.

The presenter is a recording double of the Discord side (the runner only sees the
`JobPresenter` interface); everything else is real: the client, aiohttp, the database, leases.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from storage.engine import SessionFactory
from storage.ledger import balance_of
from storage.tables import Campaign, Job, LedgerEntry
from tests.fakes.modelslab_server import FakeModelsLab
from videobot.catalog import Catalog, VideoChoices, load_catalog, validate_choices
from videobot.jobs import InputFile, JobRequest, Jobs, JobState
from videobot.jobs.delivery import FoundDelivery, UploadTooLarge
from videobot.jobs.pacing import RunnerConfig
from videobot.jobs.runner import JobRunner
from videobot.media import is_mp4
from videobot.modelslab import ModelsLabClient
from videobot.rulebook import Rulebook

KEY = "test-modelslab-key"
START = 500
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
MP3 = b"ID3\x03\x00\x00\x00" + bytes(64)
_interactions = itertools.count(1)


class RecordingPresenter:
    """Stands in for Discord: records what the runner shows and delivers."""

    def __init__(self) -> None:
        self.states: list[tuple[int, str]] = []
        self.files: list[tuple[int, bytes]] = []
        self.links: list[tuple[int, str, datetime]] = []
        self.failures: list[tuple[int, str]] = []
        self.gallery: list[tuple[int, int, bool]] = []
        self.refuse_upload = False
        self.announce_errors: list[Exception] = []
        self.searches: list[int] = []

    async def show_state(self, job: Job) -> None:
        assert job.id is not None
        self.states.append((job.id, job.state))

    async def deliver_file(self, job: Job, video: Path) -> int:
        assert job.id is not None
        if self.refuse_upload:
            raise UploadTooLarge("40005")
        self.files.append((job.id, video.read_bytes()))
        return 9000 + job.id

    async def deliver_link(self, job: Job, url: str, expires_at: datetime) -> int:
        assert job.id is not None
        self.links.append((job.id, url, expires_at))
        return 8000 + job.id

    async def announce_failure(self, job: Job) -> None:
        assert job.id is not None and job.failure_reason is not None
        if self.announce_errors:
            raise self.announce_errors.pop(0)
        self.failures.append((job.id, job.failure_reason))

    async def find_delivery(self, job: Job, gallery_channel_id: int | None) -> FoundDelivery:
        assert job.id is not None
        self.searches.append(job.id)
        posted = [j for j, _ in self.files] + [j for j, _, _ in self.links]
        result = (9000 if any(j == job.id for j, _ in self.files) else 8000) + job.id
        return FoundDelivery(
            result if job.id in posted else None,
            7000 + job.id if any(j == job.id for j, _, _ in self.gallery) else None,
        )

    async def post_gallery_entry(self, job: Job, campaign: Campaign, *, video: Path | None, url: str) -> int:
        assert job.id is not None and campaign.id is not None
        self.gallery.append((job.id, campaign.id, video is not None and is_mp4(video.read_bytes()[:16])))
        return 7000 + job.id


class Harness:
    """A runner wired to the fake, with helpers to queue jobs and wait for outcomes."""

    def __init__(
        self, sessions: SessionFactory, fake: FakeModelsLab, http: aiohttp.ClientSession, tmp: Path
    ) -> None:
        self.sessions = sessions
        self.fake = fake
        self.http = http
        self.tmp = tmp
        self.catalog: Catalog = load_catalog()
        self.presenter = RecordingPresenter()
        self.runners: list[JobRunner] = []
        self.jobs = Jobs(
            sessions,
            self.catalog,
            Rulebook(sessions, self.catalog, default_starting_balance=START),
            on_queued=self._wake_runners,
        )

    def _wake_runners(self) -> None:
        for runner in self.runners:
            runner.wake()

    def runner(self, *, webhook_url: str | None = None, **overrides: object) -> JobRunner:
        """A runner on the fake (``overrides``: RunnerConfig fields; ``webhook_url``: webhooks on)."""
        values: dict[str, object] = {
            "max_at_provider": 5,
            "job_timeout": 20,
            "poll_min": 0.05,
            "poll_max": 0.2,
            "lease_seconds": 1.5,
            "download_dir": self.tmp / "downloads",
            "idle_check_seconds": 0.1,
        }
        values.update(overrides)
        runner = JobRunner(
            sessions=self.sessions,
            catalog=self.catalog,
            modelslab=ModelsLabClient(self.http, api_key=KEY, base_url=self.fake.base_url, request_timeout=2),
            http=self.http,
            presenter=self.presenter,
            config=RunnerConfig(**values),  # type: ignore[arg-type]
            webhook_url=webhook_url,
        )
        self.runners.append(runner)
        return runner

    async def queue(
        self, *, user_id: int = 7, upload_limit: int = 10 * 1024 * 1024, **choices: object
    ) -> Job:
        kind = str(choices.pop("kind", "text"))
        inputs = []
        if kind == "image":
            inputs.append(InputFile.attached("init_image", "image/png", "cat.png", PNG))
        if choices.pop("with_audio", False):
            inputs.append(InputFile.attached("init_audio", "audio/mpeg", "beat.mp3", MP3))
        video = validate_choices(
            self.catalog,
            VideoChoices(
                kind=kind,  # type: ignore[arg-type]
                prompt=str(choices.pop("prompt", "a cat surfing a wave")),
                has_image=kind == "image",
                has_audio=any(i.role == "init_audio" for i in inputs),
                **choices,  # type: ignore[arg-type]
            ),
        )
        created = await self.jobs.create(
            JobRequest(
                interaction_id=next(_interactions),
                guild_id=1,
                channel_id=2,
                user_id=user_id,
                video=video,
                upload_limit=upload_limit,
                inputs=tuple(inputs),
            )
        )
        assert created.job.id is not None
        await self.jobs.set_presentation(
            created.job.id, status_channel_id=None, status_message_id=None, thread_id=None
        )
        return created.job

    async def job(self, job_id: int | None) -> Job:
        assert job_id is not None
        loaded = await self.jobs.get(job_id)
        assert loaded is not None
        return loaded

    async def wait_for(self, job_id: int | None, *states: JobState, timeout: float = 15) -> Job:
        wanted = {s.value for s in states}
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            job = await self.job(job_id)
            if job.state in wanted:
                return job
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"job {job_id} stuck in {job.state}, wanted {wanted}")
            await asyncio.sleep(0.05)

    async def eventually(self, check: Callable[[], object], *, what: str, timeout: float = 15) -> None:
        """Wait until ``check()`` is truthy."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def balance(self, user_id: int = 7) -> int | None:
        async with self.sessions() as session:
            return await balance_of(session, guild_id=1, user_id=user_id)

    async def ledger(self, job_id: int | None) -> list[tuple[str, int]]:
        async with self.sessions() as session:
            rows = await session.exec(select(LedgerEntry).where(LedgerEntry.job_id == job_id))
            return sorted((e.kind, e.amount) for e in rows.all())


@pytest.fixture
async def fake() -> AsyncIterator[FakeModelsLab]:
    server = FakeModelsLab(api_key=KEY, render_seconds=0.3, retry_after=0.3)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def harness(sessions: SessionFactory, fake: FakeModelsLab, tmp_path: Path) -> AsyncIterator[Harness]:
    async with aiohttp.ClientSession() as http:
        h = Harness(sessions, fake, http, tmp_path)
        try:
            yield h
        finally:
            for runner in h.runners:
                await runner.stop()


async def crash(runner: JobRunner) -> None:
    """Stop a runner the way SIGKILL would: tasks gone, leases left to expire."""
    loops: list[asyncio.Task[None]] = [*runner._loops, *runner._tasks.values()]
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    runner._loops.clear()
