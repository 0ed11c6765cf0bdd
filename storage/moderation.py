"""Queries for moderation: blocked terms, member blocks, video reports, deleted videos and the log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.states import JobState, ReportStatus
from storage.tables import BlockedTerm, Job, MemberBlock, ModerationAction, VideoReport

# -- blocked terms ------------------------------------------------------------------------------


async def terms(session: AsyncSession, *, guild_id: int) -> list[BlockedTerm]:
    """A server's blocked terms, oldest first."""
    stmt = select(BlockedTerm).where(BlockedTerm.guild_id == guild_id).order_by(col(BlockedTerm.id))
    return list((await session.exec(stmt)).all())


async def term_keys(session: AsyncSession, *, guild_id: int) -> list[tuple[str, str]]:
    """``(normalised key, term as typed)`` of every blocked term of a server."""
    stmt = select(BlockedTerm.term_key, BlockedTerm.term).where(BlockedTerm.guild_id == guild_id)
    return [(key, term) for key, term in (await session.exec(stmt)).all()]


async def count_terms(session: AsyncSession, *, guild_id: int) -> int:
    """How many terms a server blocks."""
    stmt = select(func.count()).select_from(BlockedTerm).where(BlockedTerm.guild_id == guild_id)
    return int((await session.exec(stmt)).one())


async def find_term(session: AsyncSession, *, guild_id: int, term_key: str) -> BlockedTerm | None:
    """The server's blocked term with this normalised key, if any."""
    stmt = select(BlockedTerm).where(BlockedTerm.guild_id == guild_id, BlockedTerm.term_key == term_key)
    return (await session.exec(stmt)).first()


async def delete_term(session: AsyncSession, *, term_id: int) -> None:
    """Remove one blocked term."""
    await session.exec(delete(BlockedTerm).where(col(BlockedTerm.id) == term_id))


# -- member blocks ------------------------------------------------------------------------------


def _active(now: datetime) -> ColumnElement[bool]:
    return or_(col(MemberBlock.expires_at).is_(None), col(MemberBlock.expires_at) > now)


async def block_of(session: AsyncSession, *, guild_id: int, user_id: int) -> MemberBlock | None:
    """The member's block row in the server, active or expired."""
    stmt = select(MemberBlock).where(MemberBlock.guild_id == guild_id, MemberBlock.user_id == user_id)
    return (await session.exec(stmt)).first()


async def active_block(
    session: AsyncSession, *, guild_id: int, user_id: int, now: datetime
) -> MemberBlock | None:
    """The member's block in the server if it is in force at ``now``."""
    stmt = select(MemberBlock).where(
        MemberBlock.guild_id == guild_id,
        MemberBlock.user_id == user_id,
        _active(now),
    )
    return (await session.exec(stmt)).first()


async def active_blocks(session: AsyncSession, *, guild_id: int, now: datetime) -> list[MemberBlock]:
    """Every block in force in a server, the ones ending soonest first (permanent ones last)."""
    stmt = (
        select(MemberBlock)
        .where(MemberBlock.guild_id == guild_id, _active(now))
        .order_by(col(MemberBlock.expires_at).is_(None), col(MemberBlock.expires_at), col(MemberBlock.id))
    )
    return list((await session.exec(stmt)).all())


async def delete_block(session: AsyncSession, *, block_id: int) -> None:
    """Lift a block (its history stays in the moderation log)."""
    await session.exec(delete(MemberBlock).where(col(MemberBlock.id) == block_id))


async def queued_job_ids(session: AsyncSession, *, guild_id: int, user_id: int) -> list[int]:
    """A member's jobs in a server still waiting in line (not claimed by a runner), oldest first."""
    stmt = (
        select(Job.id)
        .where(
            Job.guild_id == guild_id,
            Job.user_id == user_id,
            Job.state == JobState.QUEUED,
            col(Job.lease_owner).is_(None),
        )
        .order_by(col(Job.id))
    )
    return [job_id for job_id in (await session.exec(stmt)).all() if job_id is not None]


# -- deleted videos -----------------------------------------------------------------------------


async def mark_deleted(session: AsyncSession, *, job_id: int, actor_id: int, at: datetime) -> Job | None:
    """Mark a job's video deleted, once; None when it already was."""
    stmt = (
        update(Job)
        .where(col(Job.id) == job_id, col(Job.deleted_at).is_(None))
        .values(deleted_at=at, deleted_by=actor_id, updated_at=at)
        .returning(Job)
    )
    row = (await session.exec(stmt)).first()
    if row is None:
        return None
    job = row[0]
    assert isinstance(job, Job)
    return job


# -- reports ------------------------------------------------------------------------------------


async def find_report(session: AsyncSession, *, job_id: int, reporter_id: int) -> VideoReport | None:
    """A member's report of a video, if they made one."""
    stmt = select(VideoReport).where(VideoReport.job_id == job_id, VideoReport.reporter_id == reporter_id)
    return (await session.exec(stmt)).first()


async def set_report_message(
    session: AsyncSession, *, report_id: int, channel_id: int, message_id: int
) -> None:
    """Remember where a report was posted for moderators."""
    await session.exec(
        update(VideoReport)
        .where(col(VideoReport.id) == report_id)
        .values(audit_channel_id=channel_id, audit_message_id=message_id)
    )


async def delete_report(session: AsyncSession, *, report_id: int) -> None:
    """Forget a report that never reached the moderators."""
    await session.exec(delete(VideoReport).where(col(VideoReport.id) == report_id))


async def decide_report(
    session: AsyncSession, *, report_id: int, status: ReportStatus, actor_id: int, at: datetime
) -> VideoReport | None:
    """Close an open report with a decision, once; None when it was already decided."""
    stmt = (
        update(VideoReport)
        .where(col(VideoReport.id) == report_id, col(VideoReport.status) == ReportStatus.OPEN)
        .values(status=status, decided_by=actor_id, decided_at=at)
        .returning(VideoReport)
    )
    row = (await session.exec(stmt)).first()
    if row is None:
        return None
    report = row[0]
    assert isinstance(report, VideoReport)
    return report


# -- the moderation log -------------------------------------------------------------------------


async def actions_page(
    session: AsyncSession, *, guild_id: int, user_id: int | None, offset: int, limit: int
) -> tuple[list[ModerationAction], int]:
    """A server's moderator actions, newest first (with ``user_id``: by or about that member), and how
    many there are in all."""
    where: list[ColumnElement[bool]] = [col(ModerationAction.guild_id) == guild_id]
    if user_id is not None:
        where.append(
            or_(col(ModerationAction.actor_id) == user_id, col(ModerationAction.target_user_id) == user_id)
        )
    total = await session.exec(select(func.count()).select_from(ModerationAction).where(*where))
    rows = await session.exec(
        select(ModerationAction)
        .where(*where)
        .order_by(col(ModerationAction.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), int(total.one())


async def add_action(session: AsyncSession, action: ModerationAction) -> None:
    """Record one moderator action."""
    session.add(action)
    await session.flush()
