"""Queries on jobs: the queue, leases and guarded state changes.

A process works on a job only while it holds the job's lease (``lease_owner`` and an expiry it keeps
renewing). Every state change after the claim is an ``UPDATE ... WHERE lease_owner = me``, so a
process that lost its lease (paused, partitioned) cannot overwrite the work of the one that took over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.states import ACTIVE_STATES, AT_PROVIDER, REFUNDED_STATES, RESUMABLE, JobState
from storage.tables import Job
from storage.types import utcnow

# Any constant works; it only has to be the same in every process sharing the database.
_CLAIM_LOCK_KEY = 7_346_201
_SPEND_LOCK_NAMESPACE = 7_346_202


async def find_by_interaction(session: AsyncSession, *, interaction_id: int) -> Job | None:
    """The job created by this interaction, if any."""
    return (await session.exec(select(Job).where(Job.interaction_id == interaction_id))).first()


async def get_job(session: AsyncSession, *, job_id: int) -> Job | None:
    """One job by id."""
    return await session.get(Job, job_id)


async def member_jobs(session: AsyncSession, *, guild_id: int, user_id: int, limit: int) -> list[Job]:
    """A member's jobs in a server, newest first."""
    stmt = (
        select(Job)
        .where(Job.guild_id == guild_id, Job.user_id == user_id)
        .order_by(col(Job.id).desc())
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def queue_standing(session: AsyncSession, *, job_id: int) -> tuple[int, int]:
    """Where a queued job stands, in one statement: its place in line (1: next to be sent; queued
    jobs that came before it, whatever server they are from) and the jobs at the provider now."""
    stmt = select(
        func.count().filter(and_(col(Job.state) == JobState.QUEUED, col(Job.id) < job_id)),
        func.count().filter(col(Job.state).in_(AT_PROVIDER)),
    ).select_from(Job)
    ahead, at_provider = (await session.exec(stmt)).one()
    return int(ahead) + 1, int(at_provider)


async def count_member_active(session: AsyncSession, *, guild_id: int, user_id: int) -> int:
    """A member's jobs that have not ended yet (queued, at the provider or being delivered)."""
    result = await session.exec(
        select(func.count())
        .select_from(Job)
        .where(Job.guild_id == guild_id, Job.user_id == user_id, col(Job.state).in_(ACTIVE_STATES))
    )
    return int(result.one())


async def last_created(session: AsyncSession, *, guild_id: int, user_id: int) -> datetime | None:
    """When the member's latest job in the server was accepted (None: never)."""
    stmt = select(func.max(Job.created_at)).where(Job.guild_id == guild_id, Job.user_id == user_id)
    return (await session.exec(stmt)).one()


async def spent_since(
    session: AsyncSession, *, since: datetime, guild_id: int | None = None, at_catalog_price: bool = False
) -> int:
    """Credits spent on jobs created since a moment that were not refunded, in one server or in all.

    A refund counts against the day of its job (a job charged before midnight and refunded after
    it gives nothing back to the next day). ``at_catalog_price`` counts what the jobs cost the bot
    owner rather than what servers charged for them.
    """
    amount = Job.catalog_cost if at_catalog_price else Job.cost
    stmt = select(func.coalesce(func.sum(amount), 0)).where(
        col(Job.created_at) >= since, col(Job.state).not_in(REFUNDED_STATES)
    )
    if guild_id is not None:
        stmt = stmt.where(Job.guild_id == guild_id)
    return int((await session.exec(stmt)).one())


async def lock_spending(session: AsyncSession, *, guild_id: int | None) -> None:
    """Serialise spending checks for one server (or, with None, for the whole bot) until commit.

    SQLite's ``BEGIN IMMEDIATE`` already serialises every write transaction; PostgreSQL takes a
    transaction-scoped advisory lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Two int4 keys; servers whose ids share a remainder just queue behind each other.
        key = 0 if guild_id is None else 1 + guild_id % (2**31 - 1)
        await session.exec(select(func.pg_advisory_xact_lock(_SPEND_LOCK_NAMESPACE, key)))


async def count_at_provider(session: AsyncSession) -> int:
    """Jobs occupying a slot of the provider's queue (being submitted or rendering)."""
    result = await session.exec(select(func.count()).select_from(Job).where(col(Job.state).in_(AT_PROVIDER)))
    return int(result.one())


async def claim_next_queued(
    session: AsyncSession, *, owner: str, lease_until: datetime, max_at_provider: int, now: datetime
) -> Job | None:
    """Move the next due queued job to ``submitting`` under our lease, if a provider slot is free.

    The next job is chosen fairly (`next_fair`). The slot count and the claim happen under one lock
    (SQLite: the write lock taken by ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory
    lock), so processes sharing a database never exceed the provider's queue limit together.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.exec(select(func.pg_advisory_xact_lock(_CLAIM_LOCK_KEY)))
    if await count_at_provider(session) >= max_at_provider:
        return None
    job_id = await next_fair(session, now=now)
    if job_id is None:
        return None
    stmt = (
        update(Job)
        .where(col(Job.id) == job_id, col(Job.state) == JobState.QUEUED)
        .values(state=JobState.SUBMITTING, lease_owner=owner, lease_expires_at=lease_until, updated_at=now)
        .returning(Job)
    )
    row = (await session.exec(stmt)).first()
    return _job_from_row(row) if row else None


async def next_fair(session: AsyncSession, *, now: datetime) -> int | None:
    """The queued job to send next: first the server with the fewest jobs at the provider, then in
    it the member with the fewest, then the oldest job; ties go to whoever waited longest.

    So a member who queued thirty videos takes one slot at a time while others' jobs go ahead,
    and one busy server does not hold every other server behind it.
    """
    due = and_(
        col(Job.state) == JobState.QUEUED, or_(col(Job.not_before).is_(None), col(Job.not_before) <= now)
    )
    heads = (
        await session.exec(select(Job.guild_id, func.min(Job.id)).where(due).group_by(col(Job.guild_id)))
    ).all()
    if not heads:
        return None
    busy = await session.exec(
        select(Job.guild_id, Job.user_id, func.count())
        .where(col(Job.state).in_(AT_PROVIDER))
        .group_by(col(Job.guild_id), col(Job.user_id))
    )
    per_guild: dict[int, int] = {}
    per_member: dict[tuple[int, int], int] = {}
    for guild_id, user_id, count in busy.all():
        per_guild[guild_id] = per_guild.get(guild_id, 0) + int(count)
        per_member[(guild_id, user_id)] = int(count)
    guild_id, _oldest = min(heads, key=lambda head: (per_guild.get(head[0], 0), head[1]))
    members = await session.exec(
        select(Job.user_id, func.min(Job.id)).where(due, Job.guild_id == guild_id).group_by(col(Job.user_id))
    )
    _user_id, job_id = min(members.all(), key=lambda m: (per_member.get((guild_id, m[0]), 0), m[1] or 0))
    return job_id


async def claim_orphans(
    session: AsyncSession, *, owner: str, lease_until: datetime, now: datetime, limit: int = 50
) -> list[Job]:
    """Take over jobs whose lease has expired (their process died or stalled): jobs in progress, and
    ended jobs whose owner has still to be told why they were refunded."""
    expired = or_(col(Job.lease_expires_at).is_(None), col(Job.lease_expires_at) < now)
    unfinished = or_(col(Job.state).in_(RESUMABLE), col(Job.failure_note_pending).is_(True))
    candidates = select(Job.id).where(unfinished, expired).order_by(col(Job.id)).limit(limit)
    ids = list((await session.exec(candidates)).all())
    if not ids:
        return []
    # The expiry is checked again in the UPDATE: PostgreSQL re-evaluates it on the locked row, so
    # when two processes race for the same job only one of them gets it.
    stmt = (
        update(Job)
        .where(col(Job.id).in_(ids), unfinished, expired)
        .values(lease_owner=owner, lease_expires_at=lease_until)
        .returning(Job)
    )
    return [_job_from_row(row) for row in (await session.exec(stmt)).all()]


async def renew_leases(
    session: AsyncSession, *, owner: str, job_ids: Iterable[int], lease_until: datetime
) -> set[int]:
    """Extend our leases; returns the ids we still hold (a lost lease means: stop working on it)."""
    ids = list(job_ids)
    if not ids:
        return set()
    stmt = (
        update(Job)
        .where(col(Job.id).in_(ids), col(Job.lease_owner) == owner)
        .values(lease_expires_at=lease_until)
        .returning(col(Job.id))
    )
    return set((await session.exec(stmt)).scalars().all())


async def release_leases(
    session: AsyncSession, *, owner: str, job_ids: Iterable[int], retry_at: datetime | None = None
) -> None:
    """Give up our leases: at once (``retry_at`` None) or from ``retry_at`` on, for any process to take."""
    await session.exec(
        update(Job)
        .where(col(Job.id).in_(list(job_ids)), col(Job.lease_owner) == owner)
        .values(lease_owner=None if retry_at is None else owner, lease_expires_at=retry_at)
    )


async def update_owned(
    session: AsyncSession,
    *,
    job_id: int,
    owner: str,
    states: Sequence[str],
    without_provider_id: bool = False,
    **values: Any,
) -> Job | None:
    """Change a job we hold the lease of, if it is still in one of ``states``; else None.

    ``without_provider_id`` also requires that no provider id was adopted meanwhile (a webhook may
    name it at any moment while a submit's outcome is unknown; see `adopt_provider_id`).
    """
    values.setdefault("updated_at", utcnow())
    stmt = (
        update(Job)
        .where(col(Job.id) == job_id, col(Job.lease_owner) == owner, col(Job.state).in_(states))
        .values(**values)
        .returning(Job)
    )
    if without_provider_id:
        stmt = stmt.where(col(Job.provider_id).is_(None))
    row = (await session.exec(stmt)).first()
    return _job_from_row(row) if row else None


async def find_at_provider(session: AsyncSession, *, provider_id: str) -> Job | None:
    """The job being submitted or rendering under this provider id, if any.

    Only jobs at the provider are searched (the state index narrows it to a handful of rows), so
    the column needs no index of its own.
    """
    stmt = select(Job).where(col(Job.state).in_(AT_PROVIDER), col(Job.provider_id) == provider_id).limit(1)
    return (await session.exec(stmt)).first()


async def adopt_provider_id(session: AsyncSession, *, job_id: int, provider_id: str) -> bool:
    """Record the provider's id of a job whose submit reply was lost; True when it was recorded.

    Guarded: only a job still being submitted, whose request went out (``submitted_at`` set) and
    which has no provider id yet. Not lease-guarded, on purpose: the process holding the lease is
    waiting for exactly this and picks it up on its next look at the job.
    """
    stmt = (
        update(Job)
        .where(
            col(Job.id) == job_id,
            col(Job.state) == JobState.SUBMITTING,
            col(Job.submitted_at).is_not(None),
            col(Job.provider_id).is_(None),
        )
        .values(provider_id=provider_id, updated_at=utcnow())
        .returning(col(Job.id))
    )
    return (await session.exec(stmt)).first() is not None


async def update_unowned(
    session: AsyncSession, *, job_id: int, states: Sequence[str], **values: Any
) -> Job | None:
    """Change a job nobody is working on (queued), if it is still in one of ``states``; else None."""
    values.setdefault("updated_at", utcnow())
    stmt = (
        update(Job)
        .where(col(Job.id) == job_id, col(Job.state).in_(states), col(Job.lease_owner).is_(None))
        .values(**values)
        .returning(Job)
    )
    row = (await session.exec(stmt)).first()
    return _job_from_row(row) if row else None


async def set_presentation(
    session: AsyncSession,
    *,
    job_id: int,
    status_channel_id: int | None,
    status_message_id: int | None,
    thread_id: int | None,
) -> Job | None:
    """Remember where a job's status message and thread are; a queued job may then be claimed.

    Returns the job as it is now (it may have ended meanwhile, e.g. cancelled by a moderator)."""
    result = await session.exec(
        update(Job)
        .where(col(Job.id) == job_id)
        .values(
            status_channel_id=status_channel_id,
            status_message_id=status_message_id,
            thread_id=thread_id,
            updated_at=utcnow(),
        )
        .returning(Job)
    )
    row = result.first()
    await session.exec(
        update(Job).where(col(Job.id) == job_id, col(Job.state) == JobState.QUEUED).values(not_before=None)
    )
    return _job_from_row(row) if row else None


async def note_posted(session: AsyncSession, *, job_id: int, owner: str) -> None:
    """The owner of a refunded job has been told: nothing is owed any more, and the lease is free."""
    await session.exec(
        update(Job)
        .where(col(Job.id) == job_id, col(Job.lease_owner) == owner)
        .values(failure_note_pending=False, lease_owner=None, lease_expires_at=None)
    )


def _job_from_row(row: Any) -> Job:
    # ``UPDATE ... RETURNING Job`` yields a row whose single element is the ORM object.
    job = row[0]
    assert isinstance(job, Job)
    return job
