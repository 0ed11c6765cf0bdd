"""Members' reports of videos, and the moderators' decisions on them (delete, block the owner, dismiss).

A member reports a video once. The report goes to the moderators (the chat side posts it in the
audit channel); its owner is never told who reported it. Deleting or dismissing closes a report;
blocking the owner does not, so that the video can still be deleted or the report dismissed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import jobs as job_queries
from storage import moderation as queries
from storage.engine import SessionFactory
from storage.states import ModerationActionKind, ReportStatus
from storage.tables import Campaign, Job, VideoReport
from storage.types import utcnow
from videobot.moderation import actions, removal
from videobot.moderation.blocks import BlockResult, block_member
from videobot.moderation.refusals import ModerationError
from videobot.moderation.removal import DeletedVideo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiledReport:
    """A report just made, with the video it is about and where that video's gallery post is."""

    report: VideoReport
    job: Job
    gallery_channel_id: int | None


class Reports:
    """Filing reports of videos and deciding them."""

    def __init__(self, sessions: SessionFactory, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def file(self, job_id: int, *, guild_id: int, reporter_id: int) -> FiledReport:
        """Record a member's report of a video: once per member and video, never of one's own."""
        now = self._clock()
        try:
            async with self._sessions() as session, session.begin():
                job = await job_queries.get_job(session, job_id=job_id)
                if job is None or job.guild_id != guild_id:
                    raise ModerationError("That video no longer exists.")
                if job.deleted_at is not None:
                    raise ModerationError(f"Video #{job_id} has already been deleted.")
                if job.user_id == reporter_id:
                    raise ModerationError(
                        "This is your own video: you can delete it instead of reporting it."
                    )
                if await queries.find_report(session, job_id=job_id, reporter_id=reporter_id):
                    raise _reported_already(job_id)
                report = VideoReport(
                    guild_id=guild_id, job_id=job_id, reporter_id=reporter_id, created_at=now
                )
                session.add(report)
                await session.flush()
                campaign = await session.get(Campaign, job.campaign_id) if job.campaign_id else None
        except IntegrityError:
            raise _reported_already(job_id) from None  # two presses at once: one report
        log.info("video %s reported (report %s)", job_id, report.id)
        return FiledReport(report, job, campaign.gallery_channel_id if campaign else None)

    async def posted(self, report_id: int, *, channel_id: int, message_id: int) -> None:
        """Remember where the report was posted for the moderators."""
        async with self._sessions() as session, session.begin():
            await queries.set_report_message(
                session, report_id=report_id, channel_id=channel_id, message_id=message_id
            )

    async def withdraw(self, report_id: int) -> None:
        """Forget a report that could not reach the moderators, so the member can report again."""
        async with self._sessions() as session, session.begin():
            await queries.delete_report(session, report_id=report_id)

    async def delete_video(self, report_id: int, *, guild_id: int, actor_id: int) -> DeletedVideo:
        """A moderator's decision: delete the reported video (closes the report).

        Pressed again on a report already closed this way, it deletes again (harmlessly), so that
        removing the messages can be retried when the chat service failed the first time.
        """
        now = self._clock()
        async with self._sessions() as session, session.begin():
            report = await session.get(VideoReport, report_id)
            if report is None or report.status is not ReportStatus.DELETED:
                report = await _decide(session, report_id, guild_id, ReportStatus.DELETED, actor_id, now)
            return await removal.delete_video(
                session,
                job_id=report.job_id,
                guild_id=guild_id,
                actor_id=actor_id,
                moderator=True,
                reason=f"report #{report_id}",
                now=now,
            )

    async def block_owner(self, report_id: int, *, guild_id: int, actor_id: int) -> BlockResult:
        """A moderator's decision: block the reported video's owner until unblocked (the report stays
        open, so the video can still be deleted)."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            report = await _open_report(session, report_id, guild_id)
            job = await job_queries.get_job(session, job_id=report.job_id)
            assert job is not None
            if job.user_id == actor_id:
                raise ModerationError("You can't block yourself. Nothing was changed.")
            block = await queries.active_block(session, guild_id=guild_id, user_id=job.user_id, now=now)
            if block is not None:
                until = (
                    f"until {block.expires_at:%Y-%m-%d %H:%M} UTC" if block.expires_at else "until unblocked"
                )
                raise ModerationError(
                    f"The owner of video #{job.id} is already blocked {until}; `/videobot block` changes "
                    "a block. Nothing was changed."
                )
            return await block_member(
                session,
                guild_id=guild_id,
                user_id=job.user_id,
                actor_id=actor_id,
                reason=f"reported video #{job.id} (report #{report_id})",
                expires_at=None,
                now=now,
            )

    async def dismiss(self, report_id: int, *, guild_id: int, actor_id: int) -> VideoReport:
        """A moderator's decision: nothing wrong with the video (closes the report)."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            report = await _decide(session, report_id, guild_id, ReportStatus.DISMISSED, actor_id, now)
            job = await job_queries.get_job(session, job_id=report.job_id)
            await actions.record(
                session,
                guild_id=guild_id,
                actor_id=actor_id,
                action=ModerationActionKind.DISMISS_REPORT,
                target_user_id=job.user_id if job else None,
                job_id=report.job_id,
                reason=f"report #{report_id}",
                at=now,
            )
        return report


async def _open_report(session: AsyncSession, report_id: int, guild_id: int) -> VideoReport:
    report = await session.get(VideoReport, report_id)
    if report is None or report.guild_id != guild_id:
        raise ModerationError("That report no longer exists.")
    if report.status is not ReportStatus.OPEN:
        raise _handled(report)
    return report


async def _decide(
    session: AsyncSession, report_id: int, guild_id: int, status: ReportStatus, actor_id: int, now: datetime
) -> VideoReport:
    await _open_report(session, report_id, guild_id)
    decided = await queries.decide_report(
        session, report_id=report_id, status=status, actor_id=actor_id, at=now
    )
    if decided is None:
        # Another moderator decided between our read and our update.
        current = await session.get(VideoReport, report_id, populate_existing=True)
        assert current is not None
        raise _handled(current)
    return decided


def _handled(report: VideoReport) -> ModerationError:
    what = "the video was deleted" if report.status is ReportStatus.DELETED else "it was dismissed"
    return ModerationError(f"Report #{report.id} was already handled: {what}. Nothing was changed.")


def _reported_already(job_id: int) -> ModerationError:
    return ModerationError(f"You already reported video #{job_id}; the moderators have it.")
