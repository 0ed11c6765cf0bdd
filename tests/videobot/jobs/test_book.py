"""Accepting jobs: one charge per interaction, never an overdraft, on both databases."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from sqlmodel import func, select

from storage.engine import SessionFactory
from storage.ledger import balance_of, ledger_sum
from storage.tables import Account, Job, LedgerEntry
from videobot.catalog import VideoChoices, load_catalog, validate_choices
from videobot.credits import Credits, Member
from videobot.jobs import DuplicateRequest, JobError, JobRequest, Jobs, NotEnoughCredits
from videobot.rulebook import Rulebook

CATALOG = load_catalog()
VIDEO = validate_choices(CATALOG, VideoChoices(kind="text", prompt="a fox", duration=4))  # 40 credits
_ids = itertools.count(1)


def make_jobs(sessions: SessionFactory, starting_balance: int, **options: Any) -> Jobs:
    rulebook = Rulebook(sessions, CATALOG, default_starting_balance=starting_balance)
    return Jobs(sessions, CATALOG, rulebook, **options)


def request(*, interaction_id: int | None = None, user_id: int = 5) -> JobRequest:
    return JobRequest(
        interaction_id=interaction_id or next(_ids),
        guild_id=1,
        channel_id=2,
        user_id=user_id,
        video=VIDEO,
        upload_limit=10 << 20,
    )


async def count(sessions: SessionFactory, model: type[Job] | type[LedgerEntry]) -> int:
    async with sessions() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_a_replayed_interaction_is_charged_once(sessions: SessionFactory) -> None:
    jobs = make_jobs(sessions, 100)
    created = await jobs.create(request(interaction_id=42))
    with pytest.raises(DuplicateRequest) as caught:
        await jobs.create(request(interaction_id=42))
    assert caught.value.job.id == created.job.id
    assert "charged once" in str(caught.value)
    assert created.balance_after == 60
    assert await count(sessions, Job) == 1


async def test_concurrent_replays_of_one_interaction_make_one_job(sessions: SessionFactory) -> None:
    jobs = make_jobs(sessions, 1000)
    results = await asyncio.gather(
        *(jobs.create(request(interaction_id=77)) for _ in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, DuplicateRequest) for r in results if isinstance(r, BaseException))
    async with sessions() as session:
        assert await balance_of(session, guild_id=1, user_id=5) == 960


async def test_fifty_concurrent_commands_against_a_balance_for_five(sessions: SessionFactory) -> None:
    """The issue's integrity check: exactly 5 jobs, 5 debits, no overdraft."""
    jobs = make_jobs(sessions, 5 * VIDEO.cost)
    results = await asyncio.gather(*(jobs.create(request()) for _ in range(50)), return_exceptions=True)
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(accepted) == 5
    assert all(isinstance(r, NotEnoughCredits) for r in refused)
    assert await count(sessions, Job) == 5
    async with sessions() as session:
        debits = await session.exec(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "debit")
        )
        assert debits.one() == 5
        account = (await session.exec(select(Account))).one()
        assert account.balance == 0
        assert await ledger_sum(session, account_id=account.id) == 0  # type: ignore[arg-type]


async def test_refusal_for_credits_names_cost_and_balance_and_charges_nothing(
    sessions: SessionFactory,
) -> None:
    jobs = make_jobs(sessions, 30)
    with pytest.raises(NotEnoughCredits) as caught:
        await jobs.create(request())
    assert "costs 40 credits and you have 30" in str(caught.value)
    assert await count(sessions, Job) == 0
    credits = Credits(sessions, Rulebook(sessions, CATALOG, default_starting_balance=30))
    assert await credits.balance(Member(1, 5)) == 30


async def test_cancel_only_own_waiting_jobs(sessions: SessionFactory) -> None:
    jobs = make_jobs(sessions, 100)
    job = (await jobs.create(request())).job
    assert job.id is not None
    with pytest.raises(JobError, match="no job"):
        await jobs.cancel(job.id, guild_id=1, user_id=999)
    cancelled = await jobs.cancel(job.id, guild_id=1, user_id=5)
    assert cancelled.state == "cancelled"
    with pytest.raises(JobError, match="already ended"):
        await jobs.cancel(job.id, guild_id=1, user_id=5)
    async with sessions() as session:
        assert await balance_of(session, guild_id=1, user_id=5) == 100


async def test_a_job_number_no_job_can_have_is_just_not_found(sessions: SessionFactory) -> None:
    jobs = make_jobs(sessions, 100)
    for number in (0, -3, 2**31, 1099511627776):  # PostgreSQL would refuse these as "out of range"
        with pytest.raises(JobError, match=f"no job #{number}"):
            await jobs.cancel(number, guild_id=1, user_id=5)
        assert await jobs.get(number) is None
