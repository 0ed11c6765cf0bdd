"""Queries on campaigns, their wallets, entries and votes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.states import REFUNDED_STATES
from storage.tables import Account, Campaign, Job, Vote


async def guild_campaigns(session: AsyncSession, *, guild_id: int) -> list[Campaign]:
    """The server's campaigns, newest first."""
    stmt = select(Campaign).where(Campaign.guild_id == guild_id).order_by(col(Campaign.starts_at).desc())
    return list((await session.exec(stmt)).all())


async def by_name(session: AsyncSession, *, guild_id: int, name_key: str) -> Campaign | None:
    """A campaign by its case-folded name."""
    stmt = select(Campaign).where(Campaign.guild_id == guild_id, Campaign.name_key == name_key)
    return (await session.exec(stmt)).first()


async def wallet_id(session: AsyncSession, *, guild_id: int, user_id: int, campaign_id: int) -> int | None:
    """The member's wallet account in a campaign (None: not joined)."""
    stmt = select(Account.id).where(
        Account.guild_id == guild_id, Account.user_id == user_id, Account.wallet == campaign_id
    )
    return (await session.exec(stmt)).first()


async def wallet_balance(
    session: AsyncSession, *, guild_id: int, user_id: int, campaign_id: int
) -> int | None:
    """The member's campaign credits left (None: not joined)."""
    stmt = select(Account.balance).where(
        Account.guild_id == guild_id, Account.user_id == user_id, Account.wallet == campaign_id
    )
    return (await session.exec(stmt)).first()


async def joined_running(
    session: AsyncSession, *, guild_id: int, user_id: int, now: datetime
) -> list[Campaign]:
    """Running campaigns the member has joined, the one ending soonest first."""
    stmt = (
        select(Campaign)
        .join(Account, col(Account.wallet) == col(Campaign.id))
        .where(
            Campaign.guild_id == guild_id,
            Account.guild_id == guild_id,
            Account.user_id == user_id,
            col(Campaign.starts_at) <= now,
            col(Campaign.ends_at) > now,
            col(Campaign.closed_at).is_(None),
        )
        .order_by(col(Campaign.ends_at))
    )
    return list((await session.exec(stmt)).all())


async def running_wallets_total(session: AsyncSession, *, guild_id: int, user_id: int, now: datetime) -> int:
    """Campaign credits the member holds in running campaigns they joined."""
    stmt = (
        select(func.coalesce(func.sum(Account.balance), 0))
        .join(Campaign, col(Account.wallet) == col(Campaign.id))
        .where(
            Campaign.guild_id == guild_id,
            Account.guild_id == guild_id,
            Account.user_id == user_id,
            col(Campaign.starts_at) <= now,
            col(Campaign.ends_at) > now,
            col(Campaign.closed_at).is_(None),
        )
    )
    return int((await session.exec(stmt)).one())


async def count_entries(session: AsyncSession, *, campaign_id: int, user_id: int) -> int:
    """A member's entries in a campaign (refunded jobs excluded)."""
    stmt = (
        select(func.count())
        .select_from(Job)
        .where(Job.campaign_id == campaign_id, Job.user_id == user_id, col(Job.state).not_in(REFUNDED_STATES))
    )
    return int((await session.exec(stmt)).one())


async def credits_spent(session: AsyncSession, *, campaign_id: int) -> int:
    """Credits spent on a campaign's entries (refunded jobs excluded), from any wallet."""
    stmt = select(func.coalesce(func.sum(Job.cost), 0)).where(
        Job.campaign_id == campaign_id, col(Job.state).not_in(REFUNDED_STATES)
    )
    return int((await session.exec(stmt)).one())


async def entries(session: AsyncSession, *, campaign_id: int) -> list[Job]:
    """Every job made for a campaign, oldest first (refunded ones too)."""
    stmt = select(Job).where(Job.campaign_id == campaign_id).order_by(col(Job.id))
    return list((await session.exec(stmt)).all())


async def participants(session: AsyncSession, *, campaign_id: int) -> int:
    """Members who joined (one wallet each)."""
    return int(
        (
            await session.exec(select(func.count()).select_from(Account).where(Account.wallet == campaign_id))
        ).one()
    )


async def toggle_vote(session: AsyncSession, *, job_id: int, voter_id: int, at: datetime) -> bool:
    """Add the member's vote, or take it back if it was there; True when the vote now counts."""
    removed = await session.exec(
        delete(Vote).where(col(Vote.job_id) == job_id, col(Vote.voter_id) == voter_id).returning(col(Vote.id))
    )
    if removed.first() is not None:
        return False
    session.add(Vote(job_id=job_id, voter_id=voter_id, created_at=at))
    await session.flush()
    return True


async def count_votes(session: AsyncSession, *, job_id: int) -> int:
    """An entry's votes."""
    return int(
        (await session.exec(select(func.count()).select_from(Vote).where(Vote.job_id == job_id))).one()
    )


async def votes_by_entry(session: AsyncSession, *, campaign_id: int) -> dict[int, int]:
    """Votes per entry of a campaign."""
    stmt = (
        select(Vote.job_id, func.count())
        .join(Job, col(Job.id) == col(Vote.job_id))
        .where(Job.campaign_id == campaign_id)
        .group_by(col(Vote.job_id))
    )
    return {job_id: int(count) for job_id, count in (await session.exec(stmt)).all()}


async def vote_times(session: AsyncSession, *, campaign_id: int) -> list[datetime]:
    """When each vote still standing for a campaign's entries was cast, oldest first."""
    stmt = (
        select(Vote.created_at)
        .join(Job, col(Job.id) == col(Vote.job_id))
        .where(Job.campaign_id == campaign_id)
        .order_by(col(Vote.created_at))
    )
    return list((await session.exec(stmt)).all())


async def due_to_close(session: AsyncSession, *, now: datetime) -> list[Campaign]:
    """Campaigns past their end that are not closed yet (in any server)."""
    stmt = select(Campaign).where(col(Campaign.ends_at) <= now, col(Campaign.closed_at).is_(None))
    return list((await session.exec(stmt)).all())


async def mark_closed(session: AsyncSession, *, campaign_id: int, at: datetime) -> bool:
    """Close a campaign if nobody else did (compare-and-set): True for the one process that did."""
    stmt = (
        update(Campaign)
        .where(col(Campaign.id) == campaign_id, col(Campaign.closed_at).is_(None))
        .values(closed_at=at)
        .returning(col(Campaign.id))
    )
    return (await session.exec(stmt)).first() is not None


async def wallets(session: AsyncSession, *, campaign_id: int) -> list[tuple[int, int]]:
    """(account id, balance) of every wallet of a campaign."""
    stmt = select(Account.id, Account.balance).where(Account.wallet == campaign_id)
    return [(int(i), int(b)) for i, b in (await session.exec(stmt)).all() if i is not None]


async def closed_without_summary(session: AsyncSession) -> list[Campaign]:
    """Closed campaigns whose summary has not been posted yet."""
    stmt = select(Campaign).where(
        col(Campaign.closed_at).is_not(None), col(Campaign.summary_message_id).is_(None)
    )
    return list((await session.exec(stmt)).all())


async def set_summary(session: AsyncSession, *, campaign_id: int, message_id: int) -> None:
    """Remember the summary message of a closed campaign."""
    await session.exec(
        update(Campaign).where(col(Campaign.id) == campaign_id).values(summary_message_id=message_id)
    )
