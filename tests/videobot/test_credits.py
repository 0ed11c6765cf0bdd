"""Credits with each server's rules: allowance over simulated days, moderator changes, history, caps."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from storage.engine import SessionFactory
from storage.ledger import ledger_sum
from storage.states import AllowanceMode
from storage.tables import Account, LedgerEntry
from videobot.catalog import VideoChoices, load_catalog, validate_choices
from videobot.credits import Credits, CreditsError, Member, allowance_due
from videobot.jobs import CapReached, JobError, JobRequest, Jobs, NotEnoughCredits
from videobot.rulebook import Rulebook, ServerRules

CATALOG = load_catalog()
GUILD = 1
ALICE = Member(GUILD, 10)
MOD = 99
VIDEO = validate_choices(CATALOG, VideoChoices(kind="text", prompt="a fox", duration=4))  # 40 credits
_ids = itertools.count(1)


class Clock:
    """A settable clock: days pass when the test says so."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: int) -> None:
        self.now += timedelta(days=days)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rulebook(sessions: SessionFactory) -> Rulebook:
    return Rulebook(sessions, CATALOG, default_starting_balance=20)


@pytest.fixture
def credits(sessions: SessionFactory, rulebook: Rulebook, clock: Clock) -> Credits:
    return Credits(sessions, rulebook, clock=clock)


async def consistent(sessions: SessionFactory) -> None:
    """Every account's balance equals the sum of its entries and is not negative."""
    async with sessions() as session:
        for account in (await session.exec(select(Account))).all():
            assert account.id is not None
            assert account.balance >= 0
            assert await ledger_sum(session, account_id=account.id) == account.balance


@pytest.mark.parametrize(
    ("mode", "balance", "last_day", "expected"),
    [
        ("floor", 3, None, 7),  # top up 3 → 10
        ("floor", 12, None, 0),  # already above the floor
        ("floor", 0, date(2026, 11, 1), 10),  # a week away or a day: the floor once
        ("add", 0, date(2026, 10, 26), 35),  # 7 days × 5, under the cap of 40
        ("add", 30, date(2026, 10, 26), 10),  # capped at 40
        ("add", 0, None, 5),  # first action: one day
        ("add", 0, date(2026, 11, 2), 0),  # already given today
    ],
)
def test_allowance_due(mode: str, balance: int, last_day: date | None, expected: int) -> None:
    amount = 10 if mode == "floor" else 5
    rules = ServerRules(GUILD, 20, AllowanceMode(mode), amount, 40 if mode == "add" else None)
    assert (
        allowance_due(rules, balance=balance, last_day=last_day, today=date(2026, 11, 2), role_ids=())
        == expected
    )


def test_role_bonuses_add_to_the_allowance() -> None:
    rules = ServerRules(GUILD, 0, AllowanceMode.FLOOR, 10, role_bonuses={7: 5, 8: 2})
    assert rules.daily_allowance([7, 8, 9]) == 17
    assert allowance_due(rules, balance=0, last_day=None, today=date(2026, 1, 1), role_ids=[7]) == 15


async def test_add_allowance_accrues_over_simulated_days_once_per_return(
    credits: Credits, rulebook: Rulebook, clock: Clock, sessions: SessionFactory
) -> None:
    await rulebook.update(GUILD, actor_id=MOD, allowance_mode="add", allowance_amount=5, allowance_cap=100)
    assert await credits.balance(ALICE) == 25  # 20 to start + today's 5
    assert await credits.balance(ALICE) == 25  # same day: nothing more
    clock.advance(7)  # away for a week
    assert await credits.balance(ALICE) == 60  # 7 × 5, in one entry
    history = await credits.history(ALICE, page=0)
    assert [(e.kind, e.amount) for e in history.entries] == [
        ("allowance", 35),
        ("allowance", 5),
        ("start", 20),
    ]
    clock.advance(30)
    assert await credits.balance(ALICE) == 100  # the cap
    await consistent(sessions)


async def test_floor_allowance_tops_up_once_a_day_with_role_bonus(
    credits: Credits, rulebook: Rulebook, clock: Clock
) -> None:
    await rulebook.update(
        GUILD, actor_id=MOD, starting_balance=0, allowance_mode="floor", allowance_amount=10
    )
    await rulebook.set_role_bonus(GUILD, 555, 5, actor_id=MOD)
    booster = Member(GUILD, 11, role_ids=(555,))
    assert await credits.balance(booster) == 15
    await credits.revoke(booster, 15, actor_id=MOD, reason=None)
    assert await credits.balance(booster) == 0  # already topped up today
    clock.advance(1)
    assert await credits.balance(booster) == 15


async def test_concurrent_first_actions_give_the_allowance_once(
    credits: Credits, rulebook: Rulebook, sessions: SessionFactory
) -> None:
    await rulebook.update(GUILD, actor_id=MOD, allowance_mode="add", allowance_amount=5)
    balances = await asyncio.gather(*(credits.balance(ALICE) for _ in range(20)))
    assert set(balances) == {25}
    await consistent(sessions)


async def test_grant_revoke_set_write_one_entry_each_with_actor_and_reason(credits: Credits) -> None:
    granted = await credits.grant(ALICE, 50, actor_id=MOD, reason="event prize")
    assert (granted.changed_by, granted.balance_after) == (50, 70)
    revoked = await credits.revoke(ALICE, 500, actor_id=MOD, reason="abuse")
    assert (revoked.requested, revoked.changed_by, revoked.balance_after) == (500, -70, 0)  # never below zero
    set_to = await credits.set_balance(ALICE, 33, actor_id=MOD, reason="reset")
    assert (set_to.changed_by, set_to.balance_after) == (33, 33)
    page = await credits.history(ALICE, page=0)
    assert [(e.kind, e.amount, e.actor_id, e.reason) for e in page.entries] == [
        ("set", 33, MOD, "reset"),
        ("revoke", -70, MOD, "abuse"),
        ("grant", 50, MOD, "event prize"),
        ("start", 20, None, None),
    ]
    with pytest.raises(CreditsError):
        await credits.grant(ALICE, 0, actor_id=MOD, reason=None)
    with pytest.raises(CreditsError):
        await credits.set_balance(ALICE, -1, actor_id=MOD, reason=None)


async def test_history_pages_newest_first(credits: Credits) -> None:
    for i in range(1, 24):
        await credits.grant(ALICE, i, actor_id=MOD, reason=None)
    first, last = await credits.history(ALICE, page=0), await credits.history(ALICE, page=9)
    assert (first.pages, first.total) == (3, 24)
    assert [e.amount for e in first.entries][:3] == [23, 22, 21]
    assert last.page == 2
    assert [e.kind for e in last.entries] == ["grant", "grant", "grant", "start"]


async def test_many_concurrent_grants_revokes_and_debits_keep_the_books_straight(
    sessions: SessionFactory, rulebook: Rulebook, credits: Credits, clock: Clock
) -> None:
    jobs = Jobs(sessions, CATALOG, rulebook, clock=clock)
    # 20 + 400 credits, revokes take at most 250: whatever the order, at least 4 debits of 40 fit.
    await credits.grant(ALICE, 400, actor_id=MOD, reason=None)

    async def debit() -> bool:
        try:
            await jobs.create(request(ALICE.user_id))
        except NotEnoughCredits:  # the only refusal allowed here: anything else fails the test
            return False
        return True

    debits = [debit() for _ in range(20)]
    others: list[Coroutine[Any, Any, object]] = [
        credits.grant(ALICE, 30, actor_id=MOD, reason=None) for _ in range(10)
    ]
    others += [credits.revoke(ALICE, 25, actor_id=MOD, reason=None) for _ in range(10)]
    accepted, _ = await asyncio.gather(asyncio.gather(*debits), asyncio.gather(*others))
    assert sum(accepted) >= 4
    async with sessions() as session:
        debit_entries = (await session.exec(select(LedgerEntry).where(LedgerEntry.kind == "debit"))).all()
    assert len(debit_entries) == sum(accepted)
    await consistent(sessions)


def request(user_id: int) -> JobRequest:
    return JobRequest(
        interaction_id=next(_ids),
        guild_id=GUILD,
        channel_id=2,
        user_id=user_id,
        video=VIDEO,
        upload_limit=10 << 20,
    )


async def test_server_daily_cap_refuses_past_the_cap_and_resets_next_day(
    sessions: SessionFactory, rulebook: Rulebook, clock: Clock
) -> None:
    await rulebook.update(GUILD, actor_id=MOD, starting_balance=1000, daily_credit_cap=100)
    jobs = Jobs(sessions, CATALOG, rulebook, clock=clock)
    results = await asyncio.gather(
        *(jobs.create(request(100 + i)) for i in range(10)), return_exceptions=True
    )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(accepted) == 2  # 2 × 40 ≤ 100 < 3 × 40
    assert all(isinstance(r, CapReached) for r in refused)
    cap = refused[0]
    assert isinstance(cap, CapReached)
    assert "This server has used 80 of its 100 credits for today" in str(cap)
    assert cap.resets_at == datetime(2026, 11, 3, tzinfo=UTC)
    clock.advance(1)
    await jobs.create(request(200))


async def test_bot_wide_daily_cap_spans_servers(
    sessions: SessionFactory, rulebook: Rulebook, clock: Clock
) -> None:
    await rulebook.update(GUILD, actor_id=MOD, starting_balance=1000)
    await rulebook.update(2, actor_id=MOD, starting_balance=1000)
    jobs = Jobs(sessions, CATALOG, rulebook, global_daily_cap=100, clock=clock)
    await jobs.create(request(1))
    other = JobRequest(
        interaction_id=next(_ids), guild_id=2, channel_id=3, user_id=1, video=VIDEO, upload_limit=1
    )
    await jobs.create(other)
    with pytest.raises(CapReached, match="reached its owner's budget for today"):
        await jobs.create(request(2))


async def test_the_owners_cap_counts_the_catalog_price_not_a_servers_own_price(
    sessions: SessionFactory, rulebook: Rulebook, clock: Clock
) -> None:
    await rulebook.update(GUILD, actor_id=MOD, starting_balance=1000)
    await rulebook.set_price(GUILD, "veo-3.1-fast", 1, actor_id=MOD)  # the server's own price
    jobs = Jobs(sessions, CATALOG, rulebook, global_daily_cap=100, clock=clock)
    rules = await rulebook.rules(GUILD)
    cheap = jobs.price(rules, VideoChoices(kind="text", prompt="a fox", duration=4))
    assert (cheap.cost, cheap.catalog_cost) == (1, 40)

    def at_server_price(user_id: int) -> JobRequest:
        return JobRequest(
            interaction_id=next(_ids),
            guild_id=GUILD,
            channel_id=2,
            user_id=user_id,
            video=cheap,
            upload_limit=1,
        )

    await jobs.create(at_server_price(1))
    await jobs.create(at_server_price(2))  # 80 of the owner's 100, though members paid 2
    with pytest.raises(CapReached):
        await jobs.create(at_server_price(3))


async def test_a_refund_after_midnight_counts_against_the_day_of_its_debit(
    sessions: SessionFactory, rulebook: Rulebook, clock: Clock
) -> None:
    await rulebook.update(GUILD, actor_id=MOD, starting_balance=1000, daily_credit_cap=100)
    jobs = Jobs(sessions, CATALOG, rulebook, clock=clock)
    clock.now = clock.now.replace(hour=23, minute=59)
    late = (await jobs.create(request(1))).job
    clock.now += timedelta(minutes=2)  # the next UTC day
    assert late.id is not None
    await jobs.cancel(late.id, guild_id=GUILD, user_id=1)
    await jobs.create(request(2))
    await jobs.create(request(3))  # 80 today
    with pytest.raises(CapReached, match="This server has used 80 of its 100"):
        await jobs.create(request(4))  # the refund of yesterday's job does not make room today


async def test_jobs_in_progress_per_member_are_limited(
    sessions: SessionFactory, rulebook: Rulebook, clock: Clock
) -> None:
    await rulebook.update(GUILD, actor_id=MOD, starting_balance=1000, max_jobs_per_member=2)
    jobs = Jobs(sessions, CATALOG, rulebook, clock=clock)
    for _ in range(2):
        await jobs.create(request(7))
    with pytest.raises(JobError, match="You have 2 videos in progress and this server allows 2"):
        await jobs.create(request(7))
    await jobs.create(request(8))  # another member is not affected


async def test_price_overrides_apply_to_new_jobs(rulebook: Rulebook, sessions: SessionFactory) -> None:
    await rulebook.set_price(GUILD, "veo-3.1-fast", 7, actor_id=MOD)
    jobs = Jobs(sessions, CATALOG, rulebook)
    rules = await rulebook.rules(GUILD)
    assert jobs.price(rules, VideoChoices(kind="text", prompt="x", duration=8)).cost == 7
    assert jobs.price(rules, VideoChoices(kind="text", prompt="x", model_id="veo-3.1")).cost == 200


async def test_balances_past_two_billion_and_the_maximum_named(
    credits: Credits, sessions: SessionFactory
) -> None:
    for _ in range(3):  # INTEGER on PostgreSQL would fail past 2^31
        await credits.grant(ALICE, 1_000_000_000, actor_id=MOD, reason=None)
    assert await credits.balance(ALICE) == 3_000_000_020
    with pytest.raises(CreditsError, match="at most 1,000,000,000 credits"):
        await credits.grant(ALICE, 1_000_000_001, actor_id=MOD, reason=None)
    await credits.set_balance(ALICE, 1_000_000_000, actor_id=MOD, reason=None)
    for _ in range(999):
        await credits.grant(ALICE, 1_000_000_000, actor_id=MOD, reason=None)
    with pytest.raises(CreditsError, match=r"over the most a balance may hold \(1,000,000,000,000\)"):
        await credits.grant(ALICE, 1, actor_id=MOD, reason=None)
    assert await credits.balance(ALICE) == 1_000_000_000_000
    await consistent(sessions)
