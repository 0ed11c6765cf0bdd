"""Delivering a rendered job: download the video (bounded, streamed, only from safe addresses), post
it in the job's thread (or a link when it is too large), and its campaign entry in the gallery;
exactly once, even after a crash mid-upload and past Discord's nonce window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import aiohttp

from storage.engine import SessionFactory
from storage.states import JobState
from storage.tables import Campaign, Job
from videobot.jobs.delivery import (
    DeliveryError,
    DeliveryImpossible,
    FoundDelivery,
    JobPresenter,
    UploadTooLarge,
)
from videobot.jobs.pacing import Backoff, RunnerConfig
from videobot.jobs.transitions import (
    REASON_DISCORD_FAILING,
    REASON_DOWNLOAD,
    REASON_UNDELIVERABLE,
    JobTransitions,
)
from videobot.modelslab import DownloadedVideo, OutputUnavailable, Transient, download_video

log = logging.getLogger(__name__)

_S = JobState


class Deliverer:
    """Takes a job in ``delivering`` to ``delivered``, or to its refunded end."""

    def __init__(
        self,
        *,
        steps: JobTransitions,
        sessions: SessionFactory,
        presenter: JobPresenter,
        http: aiohttp.ClientSession,
        config: RunnerConfig,
        backoff: Backoff,
        allowed_private: frozenset[tuple[str, int]],
        clock: Callable[[], datetime],
    ) -> None:
        self._steps = steps
        self._sessions = sessions
        self._presenter = presenter
        self._http = http
        self._config = config
        self._backoff = backoff
        self._allowed_private = allowed_private
        self._clock = clock

    async def deliver(self, job: Job) -> None:
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
                    job = await self._steps.update(job, [_S.DELIVERING], delivery_started_at=self._clock())
                message_id, gallery_message_id = await self._download_and_post(
                    job, urls, expires_at, found, gallery_channel_id
                )
            except OutputUnavailable as exc:
                log.warning("job %s: output not downloadable: %s", job.id, exc)
                await self._steps.end_refunded(job, _S.FAILED, REASON_DOWNLOAD)
                return
            except DeliveryImpossible as exc:
                log.warning("job %s: cannot post the result: %s", job.id, exc)
                await self._steps.end_refunded(job, _S.FAILED, REASON_UNDELIVERABLE)
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
            job = await self._steps.update(
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
            await self._steps.show(job)
            return
        await self._steps.end_refunded(job, _S.FAILED, reason)

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
