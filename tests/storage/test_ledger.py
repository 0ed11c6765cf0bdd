"""The ledger on real databases: atomic debits, one entry per change, balance == sum of entries."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage.engine import SessionFactory
from storage.ledger import (
    InsufficientCredits,
    balance_of,
    ensure_account,
    ledger_sum,
    move_credits,
)
from storage.states import EntryKind
from storage.tables import Account, LedgerEntry
from tests.storage.factories import insert_job


async def test_first_use_opens_account_with_starting_balance_once(sessions: SessionFactory) -> None:
    for _ in range(3):
        async with sessions() as session, session.begin():
            account_id = await ensure_account(session, guild_id=1, user_id=2, starting_balance=20)
    async with sessions() as session:
        entries = (await session.exec(select(LedgerEntry).where(LedgerEntry.account_id == account_id))).all()
        assert [(e.kind, e.amount, e.balance_after) for e in entries] == [("start", 20, 20)]
        assert await balance_of(session, guild_id=1, user_id=2) == 20


async def test_debit_beyond_balance_changes_nothing(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        account_id = await ensure_account(session, guild_id=1, user_id=2, starting_balance=5)
    with pytest.raises(InsufficientCredits) as caught:
        async with sessions() as session, session.begin():
            await move_credits(session, account_id=account_id, amount=-6, kind=EntryKind.DEBIT)
    assert (caught.value.balance, caught.value.needed) == (5, 6)
    async with sessions() as session:
        assert await balance_of(session, guild_id=1, user_id=2) == 5
        assert await ledger_sum(session, account_id=account_id) == 5


async def test_database_refuses_a_negative_balance_even_outside_the_ledger(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        account_id = await ensure_account(session, guild_id=1, user_id=2, starting_balance=1)
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            account = await session.get(Account, account_id)
            assert account is not None
            account.balance = -1
            await session.flush()


async def test_a_job_is_refunded_at_most_once(sessions: SessionFactory) -> None:
    job = await insert_job(sessions, cost=4)
    async with sessions() as session, session.begin():
        account_id = await ensure_account(
            session, guild_id=job.guild_id, user_id=job.user_id, starting_balance=0
        )
        await move_credits(session, account_id=account_id, amount=4, kind=EntryKind.REFUND, job_id=job.id)
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await move_credits(session, account_id=account_id, amount=4, kind=EntryKind.REFUND, job_id=job.id)
    async with sessions() as session:
        assert await balance_of(session, guild_id=job.guild_id, user_id=job.user_id) == 4


async def test_concurrent_debits_never_overspend(sessions: SessionFactory) -> None:
    """50 concurrent debits of 4 against a balance of 20: exactly 5 succeed, and the books balance."""
    async with sessions() as session, session.begin():
        account_id = await ensure_account(session, guild_id=1, user_id=2, starting_balance=20)

    async def debit() -> bool:
        try:
            async with sessions() as session, session.begin():
                await move_credits(session, account_id=account_id, amount=-4, kind=EntryKind.DEBIT)
        except InsufficientCredits:
            return False
        return True

    results = await asyncio.gather(*(debit() for _ in range(50)))
    assert results.count(True) == 5
    async with sessions() as session:
        assert await balance_of(session, guild_id=1, user_id=2) == 0
        assert await ledger_sum(session, account_id=account_id) == 0


async def test_concurrent_first_use_opens_one_account(sessions: SessionFactory) -> None:
    async def open_account() -> int:
        async with sessions() as session, session.begin():
            return await ensure_account(session, guild_id=9, user_id=9, starting_balance=7)

    ids = await asyncio.gather(*(open_account() for _ in range(20)))
    assert len(set(ids)) == 1
    async with sessions() as session:
        assert await ledger_sum(session, account_id=ids[0]) == 7
        assert await balance_of(session, guild_id=9, user_id=9) == 7


async def test_mixed_concurrent_changes_keep_balance_equal_to_entries(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        account_id = await ensure_account(session, guild_id=1, user_id=3, starting_balance=10)

    async def change(amount: int) -> None:
        try:
            async with sessions() as session, session.begin():
                kind = EntryKind.GRANT if amount > 0 else EntryKind.DEBIT
                await move_credits(session, account_id=account_id, amount=amount, kind=kind)
        except InsufficientCredits:
            pass

    amounts = [-3, 5, -7, -2, 4, -9, 1, -1] * 6
    await asyncio.gather(*(change(a) for a in amounts))
    async with sessions() as session:
        balance = await balance_of(session, guild_id=1, user_id=3)
        assert balance is not None and balance >= 0
        assert await ledger_sum(session, account_id=account_id) == balance
