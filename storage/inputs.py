"""Queries on the files members give jobs: stored once by content, attached to jobs, purged when no
job can use them any more."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, exists, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.states import REFUNDED_STATES, JobState
from storage.tables import Job, JobInput, StoredFile


async def store(session: AsyncSession, *, sha256: str, mime: str, data: bytes, at: datetime) -> None:
    """Keep a file's bytes, once: a file already stored under this hash is left as it is."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.exec(
        insert(StoredFile)
        .values(sha256=sha256, mime=mime, size=len(data), data=data, created_at=at)
        .on_conflict_do_nothing(index_elements=["sha256"])
    )


async def is_stored(session: AsyncSession, *, sha256: str) -> bool:
    """Whether the file is still kept."""
    return (
        await session.exec(select(StoredFile.sha256).where(StoredFile.sha256 == sha256))
    ).first() is not None


async def attach(session: AsyncSession, *, job_id: int, role: str, filename: str, sha256: str) -> None:
    """Give a job a stored file in a role (``init_image``, ``init_audio``)."""
    session.add(JobInput(job_id=job_id, role=role, filename=filename, sha256=sha256))


async def job_files(session: AsyncSession, *, job_id: int) -> list[tuple[JobInput, StoredFile]]:
    """A job's files with their stored bytes."""
    stmt = (
        select(JobInput, StoredFile)
        .join(StoredFile, col(StoredFile.sha256) == col(JobInput.sha256))
        .where(JobInput.job_id == job_id)
        .order_by(col(JobInput.id))
    )
    return [(job_input, stored) for job_input, stored in (await session.exec(stmt)).all()]


async def cache_hosted_url(session: AsyncSession, *, sha256: str, url: str, until: datetime) -> None:
    """Remember where the provider can fetch a file, for every job that uses it."""
    await session.exec(
        update(StoredFile).where(col(StoredFile.sha256) == sha256).values(hosted_url=url, hosted_until=until)
    )


async def purge_jobs(session: AsyncSession, *, job_ids: Iterable[int]) -> int:
    """Forget the files of these jobs; files no other job uses are deleted. Returns files deleted."""
    ids = list(job_ids)
    if ids:
        await session.exec(delete(JobInput).where(col(JobInput.job_id).in_(ids)))
    return await _delete_unused(session)


async def purge_expired(session: AsyncSession, *, delivered_before: datetime) -> int:
    """Forget the files of jobs that can no longer use them: refunded jobs, and delivered jobs that
    finished before ``delivered_before`` (their re-roll window is over). Returns files deleted."""
    done = select(Job.id).where(
        or_(
            col(Job.state).in_(REFUNDED_STATES),
            (col(Job.state) == JobState.DELIVERED) & (col(Job.finished_at) < delivered_before),
        )
    )
    await session.exec(delete(JobInput).where(col(JobInput.job_id).in_(done)))
    return await _delete_unused(session)


async def _delete_unused(session: AsyncSession) -> int:
    used = exists().where(col(JobInput.sha256) == col(StoredFile.sha256))
    result = await session.exec(delete(StoredFile).where(~used).returning(col(StoredFile.sha256)))
    return len(result.all())
