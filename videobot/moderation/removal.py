"""Deleting a video: the job is marked deleted, the files its owner gave are purged, and a moderator's
deletion is recorded. The chat side then removes the messages."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import inputs as stored_inputs
from storage import jobs as job_queries
from storage import moderation as queries
from storage.states import ModerationActionKind
from storage.tables import Campaign, Job
from videobot.moderation import actions
from videobot.moderation.refusals import ModerationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeletedVideo:
    """A deleted video and where its messages were, for the chat side to remove them."""

    job: Job
    gallery_channel_id: int | None  # the campaign gallery its entry was posted in, if any
    first_time: bool  # False: it was already deleted (the messages are removed again, harmlessly)
    by_moderator: bool  # a moderator, not its owner, deleted it (recorded in the moderation log)


async def delete_video(
    session: AsyncSession,
    *,
    job_id: int,
    guild_id: int,
    actor_id: int,
    moderator: bool,
    reason: str | None,
    now: datetime,
) -> DeletedVideo:
    """Delete a finished video, in the caller's transaction.

    The owner may always delete their video; anyone else must be a moderator (``moderator``, decided by
    the caller from the server's rules), and then the deletion is one moderation-log entry. Deleting an
    already deleted video changes nothing and is not refused, so that removing its messages can be
    retried when the chat service failed the first time.
    """
    job = await job_queries.get_job(session, job_id=job_id)
    if job is None or job.guild_id != guild_id:
        raise ModerationError("That video no longer exists.")
    assert job.id is not None
    by_owner = job.user_id == actor_id
    if not by_owner and not moderator:
        raise ModerationError("Only the video's owner or a moderator can delete it.")
    if not job.state.is_final:
        raise ModerationError(
            f"Video #{job.id} is still being made. A video waiting in line can be cancelled with "
            "`/video cancel`; otherwise delete it once it is posted."
        )
    marked = await queries.mark_deleted(session, job_id=job.id, actor_id=actor_id, at=now)
    purged = await stored_inputs.purge_jobs(session, job_ids=[job.id])
    if marked is not None and not by_owner:
        await actions.record(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action=ModerationActionKind.DELETE_VIDEO,
            target_user_id=job.user_id,
            job_id=job.id,
            reason=reason,
            at=now,
        )
    gallery = await session.get(Campaign, job.campaign_id) if job.campaign_id else None
    log.info(
        "job %s deleted by %s (%s; %s stored files deleted)",
        job.id,
        actor_id,
        "owner" if by_owner else "moderator",
        purged,
    )
    return DeletedVideo(
        job=marked or job,
        gallery_channel_id=gallery.gallery_channel_id if gallery else None,
        first_time=marked is not None,
        by_moderator=not by_owner,
    )
