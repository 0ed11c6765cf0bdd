"""Submitting a job to ModelsLab: once, never blindly twice.

``submitted_at`` is written just before the paid request goes out. A job found in ``submitting``
with ``submitted_at`` set and no provider id may or may not exist at ModelsLab, so it is never sent
a second time: with webhooks on, it waits (``webhook_wait`` from its submit) for a webhook carrying
its track id to name the provider's id (`videobot.jobs.webhooks`), and is refunded only if none
comes; without webhooks nothing could ever tell, so it is refunded at once. A full queue, a
connection that never opened and a 402 put the job back in line instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from storage import inputs as stored_inputs
from storage.engine import SessionFactory
from storage.states import JobState
from storage.tables import Job
from videobot.catalog import Catalog, InvalidRequest, ValidatedVideo
from videobot.jobs.pacing import Backoff, ProviderLimit, RunnerConfig, SubmitPause
from videobot.jobs.transitions import (
    REASON_MODEL_GONE,
    REASON_PROVIDER_FAILED,
    REASON_TOO_MANY_RETRIES,
    REASON_UNCERTAIN_SUBMIT,
    JobTransitions,
    LeaseLost,
)
from videobot.jobs.webhooks import WebhookInbox, track_id_of
from videobot.modelslab import (
    InsufficientFunds,
    JobStatus,
    ModelsLabClient,
    ModelsLabError,
    ProviderJob,
    QueueFull,
    Transient,
)

log = logging.getLogger(__name__)

_S = JobState


class Submitter:
    """Takes a job in ``submitting`` to ``processing`` (or ``delivering``), back in line, or to its
    refunded end."""

    def __init__(
        self,
        *,
        steps: JobTransitions,
        sessions: SessionFactory,
        catalog: Catalog,
        modelslab: ModelsLabClient,
        config: RunnerConfig,
        backoff: Backoff,
        provider_limit: ProviderLimit,
        pause: SubmitPause,
        webhooks: WebhookInbox | None,
        webhook_url: str | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._steps = steps
        self._sessions = sessions
        self._catalog = catalog
        self._modelslab = modelslab
        self._config = config
        self._backoff = backoff
        self._provider_limit = provider_limit
        self._pause = pause
        self._webhooks = webhooks
        self._webhook_url = webhook_url
        self._clock = clock

    async def submit(self, job: Job) -> Job | None:
        """Send the job (or, if it was sent before, wait to learn what became of it)."""
        assert job.id is not None
        if job.submitted_at is not None:
            if job.provider_id is not None:
                # A webhook named it while no process was waiting (or just before this one looked).
                return await self._adopted(job)
            log.warning("job %s was being submitted when its process stopped; not sending it again", job.id)
            return await self._await_webhook(job)
        try:
            video = ValidatedVideo.from_record(self._catalog, job.settings)
        except (InvalidRequest, ValueError) as exc:
            log.warning("job %s cannot be rebuilt from the catalog: %s", job.id, exc)
            await self._steps.end_refunded(job, _S.FAILED, REASON_MODEL_GONE)
            return None
        try:
            urls = await self._host_inputs(job)
        except (QueueFull, Transient, InsufficientFunds) as exc:
            await self._requeue(job, exc, attempt_counted=False)
            return None
        except ModelsLabError as exc:
            log.error("job %s: hosting its inputs failed: %s", job.id, exc)
            await self._steps.end_refunded(job, _S.FAILED, exc.user_message)
            return None

        payload: dict[str, Any] = video.provider_payload(
            init_image_url=urls.get("init_image"), init_audio_url=urls.get("init_audio")
        )
        payload["track_id"] = track_id_of(job.id)
        # From here on the job may exist at the provider: record that before the request leaves.
        job = await self._steps.update(
            job, [_S.SUBMITTING], submitted_at=self._clock(), submit_attempts=job.submit_attempts + 1
        )
        try:
            result = await self._modelslab.submit(video.model.endpoint, payload, webhook=self._webhook_url)
        except (QueueFull, InsufficientFunds) as exc:
            await self._requeue(job, exc)
            return None
        except Transient as exc:
            if not exc.request_may_have_arrived:
                await self._requeue(job, exc)
                return None
            log.warning("job %s: submit outcome unknown (%s); not resubmitting", job.id, exc)
            return await self._await_webhook(job)
        except ModelsLabError as exc:
            self._steps.log_provider_refusal(job, exc)
            await self._steps.end_refunded(job, _S.FAILED, exc.user_message)
            return None
        return await self._accepted(job, result)

    async def _accepted(self, job: Job, result: ProviderJob) -> Job | None:
        now = self._clock()
        self._pause.set(False)  # the account has funds: an accepted submit says so
        if result.status is JobStatus.FAILED:
            log.warning("job %s failed at submit: %s", job.id, result.message)
            await self._steps.end_refunded(job, _S.FAILED, REASON_PROVIDER_FAILED)
            return None
        if result.status is JobStatus.SUCCESS and result.output_urls:
            values: dict[str, Any] = {"state": _S.DELIVERING, "result_urls": list(result.output_urls)}
        elif result.provider_id is None:
            log.warning("job %s: the provider answered without a job id: %s", job.id, result)
            return await self._await_webhook(job)
        else:
            first_poll = self._config.provider_wait(result.eta_seconds)
            if self._webhooks is not None:
                # The webhook wakes the job when it is done; the poll is only for a webhook lost.
                first_poll += self._config.poll_max
            values = {"state": _S.PROCESSING, "next_poll_at": now + timedelta(seconds=first_poll)}
        job = await self._steps.update(
            job,
            [_S.SUBMITTING],
            provider_id=result.provider_id,
            deadline_at=now + timedelta(seconds=self._config.job_timeout),
            **values,
        )
        log.info(
            "job %s accepted by the provider as %s (eta %s s)", job.id, job.provider_id, result.eta_seconds
        )
        await self._steps.show(job)
        return job

    async def _await_webhook(self, job: Job) -> Job | None:
        """A submit whose outcome is unknown: the job may be rendering at ModelsLab, or not exist.

        Only a webhook carrying its track id can tell (ModelsLab offers no lookup by our id), so
        wait for one until ``webhook_wait`` after the submit (measured from ``submitted_at``, so a
        job resumed after a restart does not wait twice), then refund. The database is looked at
        again every ``webhook_recheck`` too: the webhook may reach another process sharing it.
        """
        assert job.id is not None
        if self._webhooks is None:
            await self._steps.end_refunded(job, _S.FAILED, REASON_UNCERTAIN_SUBMIT)
            return None
        until = (job.submitted_at or self._clock()) + timedelta(seconds=self._config.webhook_wait)
        wake = self._webhooks.listen(job.id)
        log.info("job %s: waiting until %s for a webhook to name it", job.id, until.isoformat())
        while True:
            current = await self._steps.reload(job)
            if current.provider_id is not None:
                return await self._adopted(current)
            remaining = (until - self._clock()).total_seconds()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(remaining, self._config.webhook_recheck))
            wake.clear()
        log.warning("job %s: no webhook named it in time; refunding", job.id)
        try:
            await self._steps.end_refunded(job, _S.FAILED, REASON_UNCERTAIN_SUBMIT, without_provider_id=True)
        except LeaseLost:
            # Refused because a webhook named it at the last moment (or the job is not ours any more).
            current = await self._steps.reload(job)
            if current.provider_id is None:
                raise
            return await self._adopted(current)
        return None

    async def _adopted(self, job: Job) -> Job:
        """Follow a job whose provider id came from a webhook after its submit reply was lost."""
        now = self._clock()
        job = await self._steps.update(
            job,
            [_S.SUBMITTING],
            state=_S.PROCESSING,
            deadline_at=now + timedelta(seconds=self._config.job_timeout),
            # A webhook usually means the render is over: fetch now.
            next_poll_at=now,
        )
        log.info("job %s recovered through a webhook as provider job %s", job.id, job.provider_id)
        await self._steps.show(job)
        return job

    async def _host_inputs(self, job: Job) -> dict[str, str]:
        """Give the provider a URL it can fetch for each input, valid well past submit time."""
        assert job.id is not None
        async with self._sessions() as session:
            files = await stored_inputs.job_files(session, job_id=job.id)
        urls: dict[str, str] = {}
        fresh_until = self._clock() + self._config.hosted_url_margin
        for attached, stored in files:
            if stored.hosted_url and stored.hosted_until and stored.hosted_until > fresh_until:
                urls[attached.role] = stored.hosted_url
                continue
            hosted = await self._modelslab.host_file(stored.data, stored.mime)
            async with self._sessions() as session, session.begin():
                await stored_inputs.cache_hosted_url(
                    session, sha256=stored.sha256, url=hosted.url, until=hosted.expires_at
                )
            urls[attached.role] = hosted.url
        return urls

    async def _requeue(self, job: Job, exc: ModelsLabError, *, attempt_counted: bool = True) -> None:
        """Put a job that was not accepted (queue full, service unreachable) back in line.

        ``attempt_counted`` is False when the failure came before the submit counted the attempt.
        """
        attempts = job.submit_attempts + (0 if attempt_counted else 1)
        if isinstance(exc, QueueFull):
            # A full queue is the provider saying "not yet": the job waits in line, however long,
            # and the attempt does not count. The account's real queue size, when the answer names
            # it, becomes the runner's limit so it stops sending submits that will be refused.
            attempts = job.submit_attempts - (1 if attempt_counted else 0)
            if self._provider_limit.learn(exc.queue_limit):
                log.warning(
                    "ModelsLab says this account's queue holds %s jobs, fewer than MAX_JOBS_IN_FLIGHT=%s: "
                    "sending at most %s at a time",
                    exc.queue_limit,
                    self._provider_limit.configured,
                    exc.queue_limit,
                )
            delay = self._config.provider_wait(exc.retry_after)
        elif isinstance(exc, InsufficientFunds):
            # No funds is the owner's problem to fix, not the member's: submitting pauses, the job
            # keeps its place in line (the attempt does not count) and is tried again after a top-up.
            attempts = job.submit_attempts - (1 if attempt_counted else 0)
            self._pause.set(True)
            delay = 0.0  # the pause holds it back, and it goes as soon as submitting resumes
        elif attempts >= self._config.max_requeues:
            log.warning("job %s: giving up after %s attempts: %s", job.id, attempts, exc)
            await self._steps.end_refunded(job, _S.FAILED, REASON_TOO_MANY_RETRIES)
            return
        else:
            delay = self._backoff.delay(attempts)
        log.info("job %s back in line for %.1f s: %s", job.id, delay, exc)
        waiting = await self._steps.update(
            job,
            [_S.SUBMITTING],
            state=_S.QUEUED,
            submitted_at=None,
            submit_attempts=attempts,
            not_before=self._clock() + timedelta(seconds=delay),
            lease_owner=None,
            lease_expires_at=None,
        )
        await self._steps.show(waiting)
