"""Counts for operating the bot: jobs by state, ledger totals, where owner alerts can go, and the
database's own pulse.

Each is one aggregate query, cheap enough to run on every metrics scrape and status command.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.states import EntryKind, JobState
from storage.tables import Job, LedgerEntry, ServerRulesRow


async def ping(session: AsyncSession) -> None:
    """``SELECT 1``: raises when the database does not answer."""
    await session.exec(text("SELECT 1"))  # type: ignore[call-overload]


async def job_counts(
    session: AsyncSession, *, guild_id: int | None = None, since: datetime | None = None
) -> dict[JobState, int]:
    """Jobs per state (every state present, zeros included), for one server or all, created since a moment."""
    stmt = select(Job.state, func.count()).group_by(col(Job.state))
    if guild_id is not None:
        stmt = stmt.where(Job.guild_id == guild_id)
    if since is not None:
        stmt = stmt.where(col(Job.created_at) >= since)
    counts = dict.fromkeys(JobState, 0)
    for state, count in (await session.exec(stmt)).all():
        counts[JobState(state)] = int(count)
    return counts


async def ledger_totals(session: AsyncSession) -> dict[EntryKind, tuple[int, int]]:
    """Per entry kind: how many entries, and how many credits they moved (as a positive number)."""
    stmt = select(
        LedgerEntry.kind, func.count(), func.coalesce(func.sum(func.abs(LedgerEntry.amount)), 0)
    ).group_by(col(LedgerEntry.kind))
    totals = dict.fromkeys(EntryKind, (0, 0))
    for kind, entries, credits in (await session.exec(stmt)).all():
        totals[EntryKind(kind)] = (int(entries), int(credits))
    return totals


async def audit_channel_ids(session: AsyncSession) -> list[int]:
    """Every server's audit channel, where one is set."""
    stmt = (
        select(ServerRulesRow.audit_channel_id)
        .where(col(ServerRulesRow.audit_channel_id).is_not(None))
        .order_by(col(ServerRulesRow.guild_id))
    )
    return [int(channel) for channel in (await session.exec(stmt)).all() if channel is not None]
