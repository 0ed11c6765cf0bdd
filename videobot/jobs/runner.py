"""The job runner: claims queued jobs while a provider slot is free, holds their leases, and resumes
jobs whose process died; each claimed job runs in its own task (`videobot.jobs.lifecycle`).

Every step is in the database, so the runner of the next process (or of another process sharing the
same PostgreSQL) takes a job over once its lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from storage import inputs as stored_inputs
from storage import jobs as job_queries
from storage.engine import SessionFactory
from storage.tables import Job
from storage.types import utcnow
from videobot.catalog import Catalog
from videobot.errors import is_outage
from videobot.jobs.delivery import JobPresenter
from videobot.jobs.lifecycle import JobLifecycle
from videobot.jobs.pacing import ProviderLimit, RunnerConfig, SubmitPause
from videobot.jobs.webhooks import WebhookInbox
from videobot.modelslab import ModelsLabClient

log = logging.getLogger(__name__)


class JobRunner:
    """Drives jobs through their states. One per process; several processes may share a database."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        catalog: Catalog,
        modelslab: ModelsLabClient,
        http: aiohttp.ClientSession,
        presenter: JobPresenter,
        config: RunnerConfig,
        owner: str | None = None,
        webhook_url: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``webhook_url``: where ModelsLab should POST its webhooks (None: no webhooks); they are
        handed to `webhooks`, the inbox the web route feeds."""
        self._sessions = sessions
        self._config = config
        self._clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.provider_limit = ProviderLimit(config.max_at_provider)
        # Out of funds at ModelsLab: jobs wait in line (bot.py also drives this from the wallet alerts).
        self.pause = SubmitPause(config.funds_probe_seconds, on_resume=self.wake, clock=clock)
        self.webhooks = WebhookInbox(sessions)
        self._lifecycle = JobLifecycle(
            sessions=sessions,
            catalog=catalog,
            modelslab=modelslab,
            http=http,
            presenter=presenter,
            config=config,
            owner=self.owner,
            provider_limit=self.provider_limit,
            pause=self.pause,
            webhooks=self.webhooks,
            webhook_url=webhook_url,
            clock=clock,
        )
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []

    @property
    def active_job_ids(self) -> set[int]:
        """Jobs this process is working on right now."""
        return set(self._tasks)

    def wake(self) -> None:
        """Look for work now (a job was queued) instead of at the next idle check."""
        self._wake.set()

    async def start(self) -> None:
        """Start claiming and running jobs in the background."""
        self._config.download_dir.mkdir(parents=True, exist_ok=True)
        # Downloads a stopped process left half-done: nothing else writes here, and every job that
        # was delivering downloads its video again.
        for leftover in self._config.download_dir.iterdir():
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
        self._loops = [
            asyncio.create_task(self._schedule_forever(), name="runner-scheduler"),
            asyncio.create_task(self._keep_leases_forever(), name="runner-leases"),
            asyncio.create_task(self._tidy_forever(), name="runner-tidy"),
        ]
        log.info("job runner %s started", self.owner)

    async def stop(self) -> None:
        """Stop working and hand our jobs back at once, so the next process resumes them."""
        tasks = [*self._loops, *self._tasks.values()]
        held = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loops.clear()
        if held:
            # Best effort, and quick: if it cannot be written, the leases simply run out.
            with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
                async with asyncio.timeout(5):
                    await self._hand_back(held)
        log.info("job runner %s stopped (%d jobs handed back)", self.owner, len(held))

    async def _hand_back(self, job_ids: list[int]) -> None:
        async with self._sessions() as session, session.begin():
            await job_queries.release_leases(session, owner=self.owner, job_ids=job_ids)

    # -- scheduling ---------------------------------------------------------------------------

    async def _schedule_forever(self) -> None:
        database_down = False
        while True:
            try:
                await self._claim_work()
                if database_down:
                    log.info("the database answers again; jobs go on")
                    database_down = False
            except Exception as exc:
                if is_outage(exc):
                    # Once per outage, not every idle check: the jobs wait, nothing is lost.
                    if not database_down:
                        log.warning("the database is unreachable; jobs wait until it answers (%r)", exc)
                    database_down = True
                else:
                    # Never let the scheduler die silently: that would strand every queued job.
                    log.exception("unexpected error while claiming jobs; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._config.idle_check_seconds)
            # Cleared after waking, not before claiming: a wake that arrives during a claim pass
            # then triggers another pass at once instead of waiting for the idle check.
            self._wake.clear()

    async def _claim_work(self) -> None:
        now = self._clock()
        lease_until = now + timedelta(seconds=self._config.lease_seconds)
        async with self._sessions() as session, session.begin():
            orphans = await job_queries.claim_orphans(
                session, owner=self.owner, lease_until=lease_until, now=now
            )
        for job in orphans:
            if job.id not in self._tasks:
                log.info("resuming job %s in state %s", job.id, job.state)
                self._spawn(job)
        while self.pause.may_submit():
            async with self._sessions() as session, session.begin():
                claimed = await job_queries.claim_next_queued(
                    session,
                    owner=self.owner,
                    lease_until=lease_until,
                    max_at_provider=self.provider_limit.value,
                    now=self._clock(),
                )
            if claimed is None:
                return
            self._spawn(claimed)
            if self.pause.paused:
                return  # a probe: one job at a time while the account has no funds

    def _spawn(self, job: Job) -> None:
        assert job.id is not None
        job_id = job.id
        task = asyncio.create_task(self._lifecycle.run(job), name=f"job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _t: self._job_done(job_id))

    def _job_done(self, job_id: int) -> None:
        self._tasks.pop(job_id, None)
        # A provider slot may have freed up.
        self._wake.set()

    async def tidy(self) -> int:
        """Delete the files no job can use any more (refunded jobs; delivered ones past the
        retention period); the number of files deleted."""
        delivered_before = self._clock() - self._config.input_retention
        async with self._sessions() as session, session.begin():
            deleted = await stored_inputs.purge_expired(session, delivered_before=delivered_before)
        if deleted:
            log.info("deleted %d stored input files no job can use any more", deleted)
        return deleted

    async def _tidy_forever(self) -> None:
        while True:
            try:
                await self.tidy()
            except Exception as exc:
                log.warning("could not delete old input files (%r); trying again later", exc)
            await asyncio.sleep(self._config.tidy_seconds)

    async def _keep_leases_forever(self) -> None:
        interval = self._config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            held = list(self._tasks)
            if not held:
                continue
            until = self._clock() + timedelta(seconds=self._config.lease_seconds)
            try:
                async with self._sessions() as session, session.begin():
                    kept = await job_queries.renew_leases(
                        session, owner=self.owner, job_ids=held, lease_until=until
                    )
            except (SQLAlchemyError, OSError):
                log.warning("could not renew job leases", exc_info=True)
                continue
            except Exception:
                # Never let the lease keeper die: every job of this process would be taken over.
                log.exception("unexpected error while renewing job leases; retrying")
                continue
            for job_id in set(held) - kept:
                log.warning("lost the lease on job %s; another process has it", job_id)
                task = self._tasks.get(job_id)
                if task is not None:
                    task.cancel()

    # -- one job --------------------------------------------------------------------------------
