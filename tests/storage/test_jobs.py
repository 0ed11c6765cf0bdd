"""Job queue queries on real databases: order, the provider slot limit, leases, guarded updates."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage import jobs as q
from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.types import utcnow
from tests.storage.factories import insert_job


async def _claim(sessions: SessionFactory, owner: str, max_at_provider: int = 5) -> int | None:
    now = utcnow()
    async with sessions() as session, session.begin():
        job = await q.claim_next_queued(
            session,
            owner=owner,
            lease_until=now + timedelta(seconds=60),
            max_at_provider=max_at_provider,
            now=now,
        )
    return job.id if job else None


async def test_claims_in_order_up_to_the_provider_limit(sessions: SessionFactory) -> None:
    ids = [(await insert_job(sessions)).id for _ in range(4)]
    claimed = [await _claim(sessions, "a", max_at_provider=3) for _ in range(4)]
    assert claimed == [*ids[:3], None]


async def test_a_job_waiting_for_retry_is_skipped_until_due(sessions: SessionFactory) -> None:
    later = await insert_job(sessions, not_before=utcnow() + timedelta(minutes=5))
    due = await insert_job(sessions)
    assert await _claim(sessions, "a") == due.id
    assert await _claim(sessions, "a") is None
    assert later.id is not None


async def test_two_processes_never_exceed_the_provider_limit(db_url: str, sessions: SessionFactory) -> None:
    """Two engines (as two processes would have) race for 20 queued jobs with a limit of 5."""
    for _ in range(20):
        await insert_job(sessions)
    other = create_engine(db_url)
    try:
        other_sessions = create_session_factory(other)
        results = await asyncio.gather(
            *(_claim(sessions if i % 2 else other_sessions, f"p{i % 2}") for i in range(30))
        )
    finally:
        await other.dispose()
    claimed = [r for r in results if r is not None]
    assert len(claimed) == 5
    assert len(set(claimed)) == 5
    async with sessions() as session:
        assert await q.count_at_provider(session) == 5


async def test_expired_leases_are_taken_over_exactly_once(db_url: str, sessions: SessionFactory) -> None:
    past = utcnow() - timedelta(seconds=1)
    for _ in range(10):
        await insert_job(
            sessions, state="processing", lease_owner="dead", lease_expires_at=past, provider_id="p"
        )
    await insert_job(
        sessions, state="processing", lease_owner="alive", lease_expires_at=utcnow() + timedelta(minutes=1)
    )
    other = create_engine(db_url)

    async def take(factory: SessionFactory, owner: str) -> list[int]:
        now = utcnow()
        async with factory() as session, session.begin():
            jobs = await q.claim_orphans(
                session, owner=owner, lease_until=now + timedelta(seconds=60), now=now
            )
        return [j.id for j in jobs if j.id is not None]

    try:
        first, second = await asyncio.gather(take(sessions, "a"), take(create_session_factory(other), "b"))
    finally:
        await other.dispose()
    assert len(first) + len(second) == 10
    assert not set(first) & set(second)


async def test_lost_lease_blocks_updates_and_renewal(sessions: SessionFactory) -> None:
    job = await insert_job(sessions, state="processing", lease_owner="a", lease_expires_at=utcnow())
    assert job.id is not None
    async with sessions() as session, session.begin():
        kept = await q.renew_leases(
            session, owner="b", job_ids=[job.id], lease_until=utcnow() + timedelta(minutes=1)
        )
        assert kept == set()
        assert (
            await q.update_owned(session, job_id=job.id, owner="b", states=["processing"], poll_count=9)
            is None
        )
        updated = await q.update_owned(session, job_id=job.id, owner="a", states=["processing"], poll_count=1)
        assert updated is not None and updated.poll_count == 1
        assert (
            await q.update_owned(session, job_id=job.id, owner="a", states=["queued"], poll_count=2) is None
        )


async def test_timestamps_come_back_aware_utc(sessions: SessionFactory) -> None:
    job = await insert_job(sessions)
    assert job.id is not None
    async with sessions() as session:
        loaded = await q.get_job(session, job_id=job.id)
    assert loaded is not None and loaded.created_at.utcoffset() == timedelta(0)


async def test_a_member_with_many_queued_jobs_takes_one_slot_at_a_time(sessions: SessionFactory) -> None:
    greedy = [(await insert_job(sessions, user_id=1)).id for _ in range(5)]
    patient = (await insert_job(sessions, user_id=2)).id
    claimed = [await _claim(sessions, "a", max_at_provider=3) for _ in range(3)]
    # 1 then 2 (nobody at the provider for them), then 1 again: not 1, 1, 1.
    assert claimed == [greedy[0], patient, greedy[1]]


async def test_a_busy_server_does_not_hold_other_servers_behind_it(sessions: SessionFactory) -> None:
    busy = [(await insert_job(sessions, guild_id=10, user_id=i)).id for i in range(4)]
    quiet = (await insert_job(sessions, guild_id=20, user_id=9)).id
    claimed = [await _claim(sessions, "a", max_at_provider=3) for _ in range(3)]
    assert claimed == [busy[0], quiet, busy[1]]


async def test_a_provider_id_is_adopted_only_by_a_job_still_waiting_and_then_blocks_its_refund(
    sessions: SessionFactory,
) -> None:
    waiting = await insert_job(sessions, state="submitting", submitted_at=utcnow(), lease_owner="a")
    not_sent = await insert_job(sessions, state="submitting", lease_owner="a")
    ended = await insert_job(sessions, state="failed", submitted_at=utcnow())
    assert waiting.id is not None and not_sent.id is not None and ended.id is not None
    async with sessions() as session, session.begin():
        assert not await q.adopt_provider_id(session, job_id=not_sent.id, provider_id="1")
        assert not await q.adopt_provider_id(session, job_id=ended.id, provider_id="1")
        assert await q.adopt_provider_id(session, job_id=waiting.id, provider_id="42")
        assert not await q.adopt_provider_id(session, job_id=waiting.id, provider_id="43")
        found = await q.find_at_provider(session, provider_id="42")
        assert found is not None and found.id == waiting.id
        assert await q.find_at_provider(session, provider_id="1") is None
        # The refund of a job whose outcome was unknown is refused once its id is known.
        refused = await q.update_owned(
            session,
            job_id=waiting.id,
            owner="a",
            states=["submitting"],
            without_provider_id=True,
            state="failed",
        )
        assert refused is None
        assert (await q.get_job(session, job_id=waiting.id)).provider_id == "42"  # type: ignore[union-attr]
