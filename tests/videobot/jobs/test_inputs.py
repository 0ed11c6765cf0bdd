"""Members' files: stored once by content, reused by re-rolls without copying, deleted when no job
can use them any more (refunded at once; delivered after the retention period), on both databases."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlmodel import func, select

from storage.engine import SessionFactory
from storage.tables import Job, JobInput, StoredFile
from storage.types import utcnow
from tests.videobot.jobs.conftest import Harness
from videobot.catalog import VideoChoices, load_catalog, validate_choices
from videobot.jobs import InputFile, JobError, JobRequest, Jobs, JobState
from videobot.rulebook import Rulebook

CATALOG = load_catalog()
IMAGE = validate_choices(CATALOG, VideoChoices(kind="image", prompt="it blinks", has_image=True))
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(64)
_ids = itertools.count(1)


@pytest.fixture
def jobs(sessions: SessionFactory) -> Jobs:
    return Jobs(sessions, CATALOG, Rulebook(sessions, CATALOG, default_starting_balance=1000))


def with_picture(user_id: int = 5, picture: bytes = PICTURE) -> JobRequest:
    return JobRequest(
        interaction_id=next(_ids),
        guild_id=1,
        channel_id=2,
        user_id=user_id,
        video=IMAGE,
        upload_limit=10 << 20,
        inputs=(InputFile.attached("init_image", "image/png", "c.png", picture),),
    )


async def stored(sessions: SessionFactory) -> tuple[int, int]:
    """(stored files, job inputs)."""
    async with sessions() as session:
        files = (await session.exec(select(func.count()).select_from(StoredFile))).one()
        inputs = (await session.exec(select(func.count()).select_from(JobInput))).one()
    return int(files), int(inputs)


async def finish(sessions: SessionFactory, job_id: int | None, state: JobState, *, days_ago: int = 0) -> None:
    async with sessions() as session, session.begin():
        job = await session.get(Job, job_id)
        assert job is not None
        job.state, job.finished_at = state, utcnow() - timedelta(days=days_ago)


async def test_the_same_picture_twice_is_stored_once(jobs: Jobs, sessions: SessionFactory) -> None:
    await jobs.create(with_picture())
    await jobs.create(with_picture(user_id=6))
    assert await stored(sessions) == (1, 2)


async def test_a_reroll_reuses_the_stored_file_without_copying_it(
    jobs: Jobs, sessions: SessionFactory
) -> None:
    first = (await jobs.create(with_picture())).job
    assert first.id is not None
    request = await jobs.reroll_request(first.id, interaction_id=next(_ids), user_id=5, upload_limit=1 << 20)
    assert [i.data for i in request.inputs] == [None]  # no bytes read back for a re-roll
    await jobs.create(request)
    assert await stored(sessions) == (1, 2)


async def test_a_cancelled_jobs_file_is_deleted_at_once_unless_another_job_uses_it(
    jobs: Jobs, sessions: SessionFactory
) -> None:
    only = (await jobs.create(with_picture(picture=PICTURE + b"only"))).job
    shared = (await jobs.create(with_picture())).job
    await jobs.create(with_picture(user_id=6))  # the same picture, another job
    assert only.id is not None and shared.id is not None
    await jobs.cancel(only.id, guild_id=1, user_id=5)
    await jobs.cancel(shared.id, guild_id=1, user_id=5)
    assert await stored(sessions) == (1, 1)


async def test_old_delivered_files_are_deleted_and_a_reroll_then_says_why(
    jobs: Jobs, sessions: SessionFactory, harness: Harness
) -> None:
    old = (await jobs.create(with_picture(picture=PICTURE + b"old"))).job
    recent = (await jobs.create(with_picture())).job
    failed = (await jobs.create(with_picture(picture=PICTURE + b"failed"))).job
    await finish(sessions, old.id, JobState.DELIVERED, days_ago=8)
    await finish(sessions, recent.id, JobState.DELIVERED, days_ago=1)
    await finish(sessions, failed.id, JobState.FAILED)
    assert await harness.runner(input_retention=timedelta(days=7)).tidy() == 2
    assert await stored(sessions) == (1, 1)  # the recent delivery keeps its picture for re-rolls
    assert old.id is not None
    with pytest.raises(JobError, match=r"no longer kept .* 7 days"):
        await jobs.reroll_request(old.id, interaction_id=next(_ids), user_id=5, upload_limit=1 << 20)
