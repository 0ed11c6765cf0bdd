"""One job's way through delivery and refunds when things fail between two steps: results already
posted before a crash, failure notes that could not be posted, owners nowhere to be reached."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from storage.tables import Job
from storage.types import utcnow
from tests.videobot.jobs.conftest import START, Harness
from videobot.jobs import JobState
from videobot.jobs.delivery import DeliveryError, DeliveryImpossible


async def rewind_to_delivering(harness: Harness, job_id: int) -> None:
    """Make a delivered job look like its process died after posting, before recording it."""
    async with harness.sessions() as session, session.begin():
        row = await session.get(Job, job_id)
        assert row is not None
        row.state, row.result_message_id, row.finished_at = JobState.DELIVERING, None, None
        row.lease_owner, row.lease_expires_at = "dead-process", utcnow() - timedelta(seconds=1)


async def test_a_first_delivery_posts_without_searching_and_marks_the_attempt(harness: Harness) -> None:
    await harness.runner().start()
    job = await harness.queue(duration=4)
    done = await harness.wait_for(job.id, JobState.DELIVERED)
    assert done.delivery_started_at is not None
    assert harness.presenter.searches == []  # no history read for a job that never tried before


async def test_a_result_posted_before_a_crash_is_found_not_posted_again(harness: Harness) -> None:
    first = harness.runner()
    await first.start()
    job = await harness.queue(duration=4)
    done = await harness.wait_for(job.id, JobState.DELIVERED)
    await first.stop()
    assert done.id is not None
    await rewind_to_delivering(harness, done.id)

    await harness.runner().start()
    again = await harness.wait_for(done.id, JobState.DELIVERED)
    assert harness.presenter.searches == [done.id]
    assert [j for j, _ in harness.presenter.files] == [done.id]  # one post, not two
    assert again.result_message_id == 9000 + done.id
    assert await harness.ledger(done.id) == [("debit", -done.cost)]


async def test_a_failure_note_that_could_not_be_posted_is_posted_after_the_lease_lapses(
    harness: Harness,
) -> None:
    harness.presenter.announce_errors = [DeliveryError("Discord is down")]
    harness.fake.fail_next_submit("bad_request")
    await harness.runner().start()
    job = await harness.queue(duration=4)
    failed = await harness.wait_for(job.id, JobState.FAILED)
    assert failed.failure_note_pending
    assert await harness.balance() == START  # refunded at once, note or not

    await harness.eventually(lambda: bool(harness.presenter.failures), what="the note, posted later")
    assert [j for j, _ in harness.presenter.failures] == [job.id]
    for _ in range(100):  # the note is recorded as posted just after Discord took it
        later = await harness.job(job.id)
        if not later.failure_note_pending:
            break
        await asyncio.sleep(0.05)
    assert not later.failure_note_pending and later.lease_owner is None
    assert await harness.ledger(job.id) == [("debit", -job.cost), ("refund", job.cost)]


async def test_an_owner_nowhere_to_be_reached_still_gets_a_terminal_refunded_job(harness: Harness) -> None:
    harness.presenter.announce_errors = [DeliveryImpossible("no channel, no thread, DMs closed")]
    harness.fake.fail_next_submit("bad_request")
    await harness.runner().start()
    job = await harness.queue(duration=4)
    await harness.wait_for(job.id, JobState.FAILED)
    for _ in range(100):  # the one attempt to tell the owner, then nothing is owed
        ended = await harness.job(job.id)
        if not ended.failure_note_pending:
            break
        await asyncio.sleep(0.05)
    assert not ended.failure_note_pending and ended.lease_owner is None
    assert harness.presenter.announce_errors == [] and harness.presenter.failures == []
    assert await harness.balance() == START


async def test_a_refund_that_fails_still_ends_the_job(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_refund(*args: object, **kwargs: object) -> None:
        raise IntegrityError("refund", {}, Exception("the ledger refused it"))

    monkeypatch.setattr("videobot.jobs.transitions.refund", broken_refund)
    harness.fake.fail_next_submit("bad_request")
    await harness.runner().start()
    job = await harness.queue(duration=4)
    failed = await harness.wait_for(job.id, JobState.FAILED)
    assert "could not be given back automatically" in (failed.failure_reason or "")
    assert failed.lease_owner is None or failed.failure_note_pending  # not stuck holding a provider slot
