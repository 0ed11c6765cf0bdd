"""What must hold after any fault: nothing lost, nothing twice, nothing stuck, ledger = balance."""

from __future__ import annotations

from sqlmodel import col, func, select

from storage.engine import create_engine, create_session_factory
from storage.ledger import ledger_sum
from storage.tables import Account, Job, LedgerEntry
from videobot.config import normalise_database_url


async def jobs_in(database_url: str) -> list[Job]:
    """Every job, as the database has it."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        async with create_session_factory(engine)() as session:
            return list((await session.exec(select(Job).order_by(Job.id))).all())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def assert_books_balance(database_url: str) -> None:
    """Every account's balance is the sum of its ledger entries, and never negative."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        async with create_session_factory(engine)() as session:
            for account in (await session.exec(select(Account))).all():
                assert account.id is not None
                assert account.balance >= 0
                assert await ledger_sum(session, account_id=account.id) == account.balance, account
    finally:
        await engine.dispose()


async def ledger_by_job(database_url: str) -> dict[int, int]:
    """The sum of the ledger entries of each job that has any (a debit and its refund sum to 0)."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.exec(
                select(LedgerEntry.job_id, func.sum(LedgerEntry.amount))
                .where(col(LedgerEntry.job_id).is_not(None))
                .group_by(col(LedgerEntry.job_id))
            )
            return {int(job_id): int(total) for job_id, total in rows.all() if job_id is not None}
    finally:
        await engine.dispose()
