"""One job's way from where it stands to its end: submit, follow while it renders, download and
deliver, or end it refunded with a reason the member understands.

Every step is persisted before and after it happens, and every change is guarded by the job's lease
(``UPDATE ... WHERE lease_owner = me``), so a process that lost the job cannot overwrite the work of
the one that took over. The one step that cannot be repeated safely is the paid submit:
``submitted_at`` is written just before the request goes out. A job found in ``submitting`` with
``submitted_at`` set and no provider id may or may not exist at ModelsLab, so it is failed and
refunded, never sent a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import inputs as stored_inputs
from storage import jobs as job_queries
from storage.engine import SessionFactory
from storage.states import JobState
from storage.tables import Campaign, Job
from storage.types import utcnow
from videobot import logcontext
from videobot.catalog import Catalog, InvalidRequest, ValidatedVideo
from videobot.errors import is_outage
from videobot.jobs.book import refund
from videobot.jobs.delivery import (
    NETWORK_ERRORS,
    DeliveryError,
    DeliveryImpossible,
    FoundDelivery,
    JobPresenter,
    UploadTooLarge,
)
from videobot.jobs.pacing import Backoff, ProviderLimit, RunnerConfig
from videobot.modelslab import (
    BadRequest,
    DownloadedVideo,
    InsufficientFunds,
    InvalidKey,
    JobNotFound,
    JobStatus,
    ModelsLabClient,
    ModelsLabError,
    OutputUnavailable,
    PlanRestricted,
    ProviderFailed,
    ProviderJob,
    QueueFull,
    Transient,
    allowed_private_hosts,
    download_video,
)

log = logging.getLogger(__name__)

_S = JobState

# Errors after which polling or submitting again cannot help.
_FINAL_PROVIDER_ERRORS = (
    InvalidKey,
    InsufficientFunds,
    PlanRestricted,
    BadRequest,
    ProviderFailed,
)

# Member-facing reasons. The provider's own words go to the log, not to the member.
REASON_UNCERTAIN_SUBMIT = (
    "The video service did not confirm that it accepted the job, so it was not sent again "
    "(that could have rendered it twice)."
)
REASON_TIMEOUT = "The video took longer than the time limit to render."
REASON_DOWNLOAD = "The finished video could not be downloaded from the video service."
REASON_UNDELIVERABLE = "The video could not be posted here (the channel is gone or the bot lost access)."
REASON_MODEL_GONE = "This model is no longer offered by the bot."
# The provider's text is often technical: members get a plain sentence, the log gets the text.
REASON_PROVIDER_FAILED = "The video service could not make this video. Try a different prompt or image."
REASON_TOO_MANY_RETRIES = "The video service stayed busy for too long."
REASON_REFUND_FAILED = "The credits could not be given back automatically: ask a moderator to return them."
REASON_DISCORD_FAILING = "Discord kept failing when the video was posted, so it could not be delivered."

_T = TypeVar("_T")
# How long a job waits, at most, between two tries of a write while the database is away.
_OUTAGE_RETRY_CAP = 5.0


class LeaseLost(Exception):
    """Another process owns the job now (or its state changed under us): stop touching it."""


class JobLifecycle:
    """Drives one job at a time through its states; the runner calls `run` in a task per job."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        catalog: Catalog,
        modelslab: ModelsLabClient,
        http: aiohttp.ClientSession,
        presenter: JobPresenter,
        config: RunnerConfig,
        owner: str,
        provider_limit: ProviderLimit | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._modelslab = modelslab
        self._http = http
        self._presenter = presenter
        self._config = config
        self._owner = owner
        self._clock = clock
        self._backoff = Backoff(config.poll_min, config.poll_max)
        self._provider_limit = provider_limit or ProviderLimit(config.max_at_provider)
        self._allowed_private = allowed_private_hosts(modelslab.base_url)

    async def run(self, job: Job) -> None:
        """Take the job (claimed under our lease) as far as it goes; never raises but cancellation."""
        assert job.id is not None
        logcontext.bind(job=job.id, guild=job.guild_id)  # each job runs in a task of its own
        try:
            current: Job | None = job
            if job.state.is_final:
                # Resumed only to tell the owner why it was refunded (the note was owed). The process
                # that ended it may have died before its status message said so, too.
                if job.failure_note_pending:
                    await self._show(job)
                    await self._announce(job)
                return
            if current is not None and current.state == _S.SUBMITTING:
                current = await self._submit(current)
            if current is not None and current.state == _S.PROCESSING:
                current = await self._follow(current)
            if current is not None and current.state == _S.DELIVERING:
                await self._deliver(current)
        except LeaseLost:
            log.info("job %s is no longer ours; leaving it", job.id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # An outage or a bug: keep the job, and let it be taken up again after a lease period.
            if is_outage(exc):
                log.warning("job %s: the database is unreachable (%r); it will be resumed", job.id, exc)
            else:
                log.exception("job %s hit an unexpected error; it will be retried", job.id)
            with contextlib.suppress(SQLAlchemyError, OSError):
                async with self._sessions() as session, session.begin():
                    await job_queries.release_leases(
                        session,
                        owner=self._owner,
                        job_ids=[job.id],
                        retry_at=self._clock() + timedelta(seconds=self._config.lease_seconds),
                    )

    async def _submit(self, job: Job) -> Job | None:
        assert job.id is not None
        if job.submitted_at is not None and job.provider_id is None:
            log.warning("job %s was being submitted when its process stopped; not sending it again", job.id)
            await self._end_refunded(job, _S.FAILED, REASON_UNCERTAIN_SUBMIT)
            return None
        try:
            video = ValidatedVideo.from_record(self._catalog, job.settings)
        except (InvalidRequest, ValueError) as exc:
            log.warning("job %s cannot be rebuilt from the catalog: %s", job.id, exc)
            await self._end_refunded(job, _S.FAILED, REASON_MODEL_GONE)
            return None
        try:
            urls = await self._host_inputs(job)
        except (QueueFull, Transient) as exc:
            await self._requeue(job, exc, attempt_counted=False)
            return None
        except ModelsLabError as exc:
            log.error("job %s: hosting its inputs failed: %s", job.id, exc)
            await self._end_refunded(job, _S.FAILED, exc.user_message)
            return None

        payload: dict[str, Any] = video.provider_payload(
            init_image_url=urls.get("init_image"), init_audio_url=urls.get("init_audio")
        )
        payload["track_id"] = f"job-{job.id}"
        # From here on the job may exist at the provider: record that before the request leaves.
        job = await self._update(
            job, [_S.SUBMITTING], submitted_at=self._clock(), submit_attempts=job.submit_attempts + 1
        )
        try:
            result = await self._modelslab.submit(video.model.endpoint, payload)
        except QueueFull as exc:
            await self._requeue(job, exc)
            return None
        except Transient as exc:
            if not exc.request_may_have_arrived:
                await self._requeue(job, exc)
                return None
            log.warning("job %s: submit outcome unknown (%s); not resubmitting", job.id, exc)
            await self._end_refunded(job, _S.FAILED, REASON_UNCERTAIN_SUBMIT)
            return None
        except ModelsLabError as exc:
            self._log_provider_refusal(job, exc)
            await self._end_refunded(job, _S.FAILED, exc.user_message)
            return None
        return await self._accepted(job, result)

    async def _accepted(self, job: Job, result: ProviderJob) -> Job | None:
        now = self._clock()
        if result.status is JobStatus.FAILED:
            log.warning("job %s failed at submit: %s", job.id, result.message)
            await self._end_refunded(job, _S.FAILED, REASON_PROVIDER_FAILED)
            return None
        if result.status is JobStatus.SUCCESS and result.output_urls:
            values: dict[str, Any] = {"state": _S.DELIVERING, "result_urls": list(result.output_urls)}
        elif result.provider_id is None:
            log.warning("job %s: the provider answered without a job id: %s", job.id, result)
            await self._end_refunded(job, _S.FAILED, REASON_UNCERTAIN_SUBMIT)
            return None
        else:
            first_poll = self._config.provider_wait(result.eta_seconds)
            values = {"state": _S.PROCESSING, "next_poll_at": now + timedelta(seconds=first_poll)}
        job = await self._update(
            job,
            [_S.SUBMITTING],
            provider_id=result.provider_id,
            deadline_at=now + timedelta(seconds=self._config.job_timeout),
            **values,
        )
        log.info(
            "job %s accepted by the provider as %s (eta %s s)", job.id, job.provider_id, result.eta_seconds
        )
        await self._show(job)
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
        elif attempts >= self._config.max_requeues:
            log.warning("job %s: giving up after %s attempts: %s", job.id, attempts, exc)
            await self._end_refunded(job, _S.FAILED, REASON_TOO_MANY_RETRIES)
            return
        else:
            delay = self._backoff.delay(attempts)
        log.info("job %s back in line for %.1f s: %s", job.id, delay, exc)
        await self._update(
            job,
            [_S.SUBMITTING],
            state=_S.QUEUED,
            submitted_at=None,
            submit_attempts=attempts,
            not_before=self._clock() + timedelta(seconds=delay),
            lease_owner=None,
            lease_expires_at=None,
        )

    async def _follow(self, job: Job) -> Job | None:
        """Poll the provider until the job is done, failed or past its deadline."""
        assert job.provider_id is not None and job.deadline_at is not None
        while True:
            now = self._clock()
            if now >= job.deadline_at:
                log.warning("job %s timed out at the provider (%s polls)", job.id, job.poll_count)
                await self._end_refunded(job, _S.TIMED_OUT, REASON_TIMEOUT)
                return None
            due = job.next_poll_at or now
            await asyncio.sleep(max(0.0, (min(due, job.deadline_at) - now).total_seconds()))
            if self._clock() >= job.deadline_at:
                continue
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
                    self._log_provider_refusal(job, exc)
                    await self._end_refunded(job, _S.FAILED, exc.user_message)
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
                self._log_provider_refusal(job, exc)
                await self._end_refunded(job, _S.FAILED, exc.user_message)
                return None
            else:
                if result.status is JobStatus.SUCCESS:
                    job = await self._update(
                        job, [_S.PROCESSING], state=_S.DELIVERING, result_urls=list(result.output_urls)
                    )
                    await self._show(job)
                    return job
                if result.status is JobStatus.FAILED:
                    log.warning("job %s failed at the provider: %s", job.id, result.message)
                    await self._end_refunded(job, _S.FAILED, REASON_PROVIDER_FAILED)
                    return None
                delay = self._backoff.delay(job.poll_count)
            job = await self._update(
                job,
                [_S.PROCESSING],
                poll_count=job.poll_count + 1,
                next_poll_at=self._clock() + timedelta(seconds=delay),
            )

    async def _deliver(self, job: Job) -> None:
        """Download the result and post it, exactly once."""
        urls = job.result_urls or []
        expires_at = (job.submitted_at or self._clock()) + self._config.output_lifetime
        gallery_channel_id = await self._gallery_channel(job)
        reason = REASON_DOWNLOAD
        for attempt in range(self._config.delivery_attempts):
            try:
                if job.delivery_started_at is not None:
                    # A process stopped mid-delivery, maybe after Discord took the post but before we
                    # recorded it; its nonce protects a few minutes only, so look before posting.
                    found = await self._presenter.find_delivery(job, gallery_channel_id)
                else:
                    found = FoundDelivery(None, None)
                    job = await self._update(job, [_S.DELIVERING], delivery_started_at=self._clock())
                message_id, gallery_message_id = await self._download_and_post(
                    job, urls, expires_at, found, gallery_channel_id
                )
            except OutputUnavailable as exc:
                log.warning("job %s: output not downloadable: %s", job.id, exc)
                await self._end_refunded(job, _S.FAILED, REASON_DOWNLOAD)
                return
            except DeliveryImpossible as exc:
                log.warning("job %s: cannot post the result: %s", job.id, exc)
                await self._end_refunded(job, _S.FAILED, REASON_UNDELIVERABLE)
                return
            except (Transient, DeliveryError) as exc:
                reason = REASON_DISCORD_FAILING if isinstance(exc, DeliveryError) else REASON_DOWNLOAD
                delay = self._backoff.delay(attempt)
                log.info(
                    "job %s: delivery attempt %s failed (%s); retrying in %.1f s",
                    job.id,
                    attempt + 1,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            job = await self._update(
                job,
                [_S.DELIVERING],
                state=_S.DELIVERED,
                result_message_id=message_id,
                gallery_message_id=gallery_message_id,
                finished_at=self._clock(),
                lease_owner=None,
                lease_expires_at=None,
            )
            log.info("job %s delivered (message %s)", job.id, message_id)
            await self._show(job)
            return
        await self._end_refunded(job, _S.FAILED, reason)

    async def _download_and_post(
        self,
        job: Job,
        urls: list[str],
        expires_at: datetime,
        found: FoundDelivery,
        gallery_channel_id: int | None,
    ) -> tuple[int, int | None]:
        """Post the result where it is not posted yet; the ids of the result message and, for a
        campaign entry, its gallery post."""
        if found.result_message_id is not None:
            log.info("job %s: its result was already posted (message %s)", job.id, found.result_message_id)
            gallery = found.gallery_message_id
            if gallery is None and gallery_channel_id is not None:
                gallery = await self._post_entry(
                    job, gallery_channel_id, video=None, url=urls[0] if urls else ""
                )
            return found.result_message_id, gallery
        result = await download_video(
            self._http,
            urls,
            self._config.download_dir,
            max_bytes=job.upload_limit,
            allowed_private=self._allowed_private,
        )
        if not isinstance(result, DownloadedVideo):
            log.info("job %s: video larger than the upload limit; posting a link", job.id)
            message_id = await self._presenter.deliver_link(job, result.url, expires_at)
            return message_id, await self._post_entry(job, gallery_channel_id, video=None, url=result.url)
        try:
            try:
                message_id = await self._presenter.deliver_file(job, result.path)
                video: Path | None = result.path
            except UploadTooLarge:
                log.info("job %s: upload refused as too large; posting a link", job.id)
                message_id = await self._presenter.deliver_link(job, result.url, expires_at)
                video = None
            return message_id, await self._post_entry(job, gallery_channel_id, video=video, url=result.url)
        finally:
            result.path.unlink(missing_ok=True)

    async def _gallery_channel(self, job: Job) -> int | None:
        if job.campaign_id is None:
            return None
        async with self._sessions() as session:
            campaign = await session.get(Campaign, job.campaign_id)
        return campaign.gallery_channel_id if campaign is not None else None

    async def _post_entry(
        self, job: Job, gallery_channel_id: int | None, *, video: Path | None, url: str
    ) -> int | None:
        """Post a campaign entry in the campaign's gallery (best effort: the owner already has it)."""
        if gallery_channel_id is None or job.campaign_id is None:
            return None
        async with self._sessions() as session:
            campaign = await session.get(Campaign, job.campaign_id)
        if campaign is None:
            return None
        try:
            return await self._presenter.post_gallery_entry(job, campaign, video=video, url=url)
        except Exception:
            log.warning("job %s: could not post the entry to the gallery", job.id, exc_info=True)
            return None

    # -- state changes --------------------------------------------------------------------------

    async def _update(self, job: Job, states: Sequence[JobState], **values: Any) -> Job:
        assert job.id is not None
        job_id = job.id

        async def change(session: AsyncSession) -> Job | None:
            return await job_queries.update_owned(
                session, job_id=job_id, owner=self._owner, states=list(states), **values
            )

        updated = await self._write(job_id, change)
        if updated is None:
            raise LeaseLost
        return updated

    async def _write(self, job_id: int, change: Callable[[AsyncSession], Awaitable[_T]]) -> _T:
        """Run one transaction, waiting through database outages instead of giving up.

        What a job learns (the provider's id after a paid submit, the result's URLs) exists only in
        memory until it is written: dropping it because the database was away for a minute would
        turn a paid render into a refund. The guarded update still refuses if the job changed hands.
        """
        delay = 0.5
        while True:
            try:
                return await asyncio.shield(self._transaction(change))
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.warning("job %s: waiting for the database (%r); retrying in %.0f s", job_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _OUTAGE_RETRY_CAP)

    async def _transaction(self, change: Callable[[AsyncSession], Awaitable[_T]]) -> _T:
        # Shielded by `_write`: a job cancelled at shutdown must not leave its transaction half-way
        # (on SQLite the connection would keep the write lock until garbage collection, and the
        # leases handed back at shutdown would wait 30 s for it). The write finishes or never began.
        async with self._sessions() as session, session.begin():
            return await change(session)

    async def _end_refunded(self, job: Job, state: JobState, reason: str) -> None:
        """End the job in a refunded state, give the credits back and owe the owner a note, in one
        transaction; then tell them. The note survives a crash: it is posted on resume."""
        assert job.id is not None
        now = self._clock()
        job_id, from_state = job.id, job.state

        async def end_and_refund(session: AsyncSession) -> Job:
            ended = await job_queries.update_owned(
                session,
                job_id=job_id,
                owner=self._owner,
                states=[from_state],
                state=state,
                failure_reason=reason,
                finished_at=now,
                failure_note_pending=True,
                # Still ours until the note is posted, so no other process posts it too.
                lease_expires_at=now + timedelta(seconds=self._config.lease_seconds),
            )
            if ended is None:
                raise LeaseLost
            await refund(session, ended, reason=state.value)
            return ended

        try:
            ended = await self._write(job_id, end_and_refund)
        except LeaseLost:
            raise
        except Exception:
            # The refund itself failed (a bug, or data the ledger refuses). The job must still end:
            # a job left at the provider's stage would hold a slot of every server's queue forever.
            log.exception(
                "job %s: the refund of %s credits failed; ending the job without it", job_id, job.cost
            )

            async def end_only(session: AsyncSession) -> Job:
                ended = await job_queries.update_owned(
                    session,
                    job_id=job_id,
                    owner=self._owner,
                    states=[from_state],
                    state=state,
                    failure_reason=f"{reason} {REASON_REFUND_FAILED}",
                    finished_at=now,
                    failure_note_pending=True,
                    lease_expires_at=now + timedelta(seconds=self._config.lease_seconds),
                )
                if ended is None:
                    raise LeaseLost
                return ended

            ended = await self._write(job_id, end_only)
        log.info("job %s ended %s and was refunded %s credits", job.id, state.value, job.cost)
        await self._show(ended)
        await self._announce(ended)

    async def _announce(self, job: Job) -> None:
        """Post the failure note owed to the owner, then record that it is posted."""
        assert job.id is not None
        try:
            await self._presenter.announce_failure(job)
        except DeliveryImpossible as exc:
            log.warning("job %s: no way to tell the owner about the refund: %s", job.id, exc)
        except (DeliveryError, *NETWORK_ERRORS) as exc:
            # Posted again once this lease lapses, by this process or another.
            log.warning("job %s: could not post the failure note yet: %s", job.id, exc)
            return
        job_id = job.id

        async def posted(session: AsyncSession) -> None:
            await job_queries.note_posted(session, job_id=job_id, owner=self._owner)

        await self._write(job_id, posted)

    async def _show(self, job: Job) -> None:
        try:
            await self._presenter.show_state(job)
        except Exception:
            # The status message is a courtesy; the job goes on without it.
            log.warning("job %s: could not update the status message", job.id, exc_info=True)

    @staticmethod
    def _log_provider_refusal(job: Job, exc: ModelsLabError) -> None:
        if isinstance(exc, InvalidKey | InsufficientFunds | PlanRestricted):
            log.error("job %s: the ModelsLab account needs attention: %s", job.id, exc)
        else:
            log.warning("job %s refused by the provider: %s", job.id, exc)
