"""Following a job while ModelsLab renders it: polls at the provider's ETA then with backoff, woken
early by a webhook; transient errors, a full queue and a job the provider does not know yet right
after its submit never end a paid job before its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from storage.states import JobState
from storage.tables import Job
from videobot.jobs.pacing import Backoff, RunnerConfig
from videobot.jobs.transitions import REASON_PROVIDER_FAILED, REASON_TIMEOUT, JobTransitions
from videobot.jobs.webhooks import WebhookInbox
from videobot.modelslab import (
    BadRequest,
    InsufficientFunds,
    InvalidKey,
    JobNotFound,
    JobStatus,
    ModelsLabClient,
    PlanRestricted,
    ProviderFailed,
    QueueFull,
    Transient,
)

log = logging.getLogger(__name__)

_S = JobState

# Errors after which polling again cannot help.
_FINAL_PROVIDER_ERRORS = (
    InvalidKey,
    InsufficientFunds,
    PlanRestricted,
    BadRequest,
    ProviderFailed,
)
# A backoff attempt number past which every delay is the cap (with its jitter).
_AT_CAP = 64


class Follower:
    """Takes a job in ``processing`` to ``delivering``, or to its refunded end."""

    def __init__(
        self,
        *,
        steps: JobTransitions,
        modelslab: ModelsLabClient,
        config: RunnerConfig,
        backoff: Backoff,
        webhooks: WebhookInbox | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._steps = steps
        self._modelslab = modelslab
        self._config = config
        self._backoff = backoff
        self._webhooks = webhooks
        self._clock = clock

    async def follow(self, job: Job) -> Job | None:
        """Poll the provider until the job is done, failed or past its deadline."""
        assert job.id is not None and job.provider_id is not None and job.deadline_at is not None
        wake = self._webhooks.listen(job.id) if self._webhooks is not None else None
        last_fetch: float | None = None
        while True:
            now = self._clock()
            if now >= job.deadline_at:
                log.warning("job %s timed out at the provider (%s polls)", job.id, job.poll_count)
                await self._steps.end_refunded(job, _S.TIMED_OUT, REASON_TIMEOUT)
                return None
            due = job.next_poll_at or now
            await self._until_due(
                max(0.0, (min(due, job.deadline_at) - now).total_seconds()), wake, last_fetch
            )
            if self._clock() >= job.deadline_at:
                continue
            last_fetch = asyncio.get_running_loop().time()
            try:
                result = await self._modelslab.fetch(job.provider_id)
            except QueueFull as exc:
                delay = self._config.provider_wait(exc.retry_after)
            except Transient as exc:
                delay = self._backoff.delay(job.poll_count)
                log.info("job %s: poll failed (%s); next in %.1f s", job.id, exc, delay)
            except JobNotFound as exc:
                since_submit = (self._clock() - (job.submitted_at or self._clock())).total_seconds()
                if since_submit > self._config.not_found_grace:
                    self._steps.log_provider_refusal(job, exc)
                    await self._steps.end_refunded(job, _S.FAILED, exc.user_message)
                    return None
                # Right after a submit the fetch endpoint may not know the job yet.
                delay = self._backoff.delay(job.poll_count)
                log.info(
                    "job %s: not found yet %.0f s after submit; next poll in %.1f s",
                    job.id,
                    since_submit,
                    delay,
                )
            except _FINAL_PROVIDER_ERRORS as exc:
                self._steps.log_provider_refusal(job, exc)
                await self._steps.end_refunded(job, _S.FAILED, exc.user_message)
                return None
            else:
                if result.status is JobStatus.SUCCESS:
                    job = await self._steps.update(
                        job, [_S.PROCESSING], state=_S.DELIVERING, result_urls=list(result.output_urls)
                    )
                    await self._steps.show(job)
                    return job
                if result.status is JobStatus.FAILED:
                    log.warning("job %s failed at the provider: %s", job.id, result.message)
                    await self._steps.end_refunded(job, _S.FAILED, REASON_PROVIDER_FAILED)
                    return None
                # With webhooks a poll is only the fallback for a webhook that never comes.
                delay = self._backoff.delay(job.poll_count if wake is None else _AT_CAP)
            job = await self._steps.update(
                job,
                [_S.PROCESSING],
                poll_count=job.poll_count + 1,
                next_poll_at=self._clock() + timedelta(seconds=delay),
            )

    async def _until_due(self, seconds: float, wake: asyncio.Event | None, last_fetch: float | None) -> None:
        """Wait ``seconds`` for the next poll, or less when a webhook names the job.

        A webhook wakes the job at most once per ``poll_min`` after a fetch, so a flood of
        webhooks (duplicates, forgeries) never costs more fetches than polling would.
        """
        if wake is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)
        wake.clear()
        if last_fetch is not None:
            spare = last_fetch + self._config.poll_min - asyncio.get_running_loop().time()
            if spare > 0:
                await asyncio.sleep(spare)
