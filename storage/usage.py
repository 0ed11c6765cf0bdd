"""Queries behind the moderators' usage report."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.states import ACTIVE_STATES
from storage.tables import Job


async def jobs_since(session: AsyncSession, *, guild_id: int, since: datetime) -> list[Job]:
    """The server's jobs created since a moment, oldest first."""
    stmt = select(Job).where(Job.guild_id == guild_id, col(Job.created_at) >= since).order_by(col(Job.id))
    return list((await session.exec(stmt)).all())


async def unfinished_jobs(session: AsyncSession, *, guild_id: int) -> list[Job]:
    """The server's jobs that have not ended, oldest first."""
    stmt = (
        select(Job).where(Job.guild_id == guild_id, col(Job.state).in_(ACTIVE_STATES)).order_by(col(Job.id))
    )
    return list((await session.exec(stmt)).all())
