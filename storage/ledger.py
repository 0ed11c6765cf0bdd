"""The credit ledger: the only code that changes a balance.

Every change is one conditional ``UPDATE`` of the account plus one ledger entry, in the caller's
transaction. The condition (``balance + amount >= 0``) is evaluated by the database on the row it
locks, so concurrent debits can never overspend, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.states import EntryKind
from storage.tables import OWN_WALLET, Account, LedgerEntry
from storage.types import utcnow


class InsufficientCredits(Exception):
    """The account cannot pay; nothing was changed."""

    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(f"balance {balance} cannot pay {needed}")
        self.balance = balance
        self.needed = needed


@dataclass(frozen=True)
class Movement:
    """The result of one ledger change."""

    entry_id: int
    amount: int
    balance_after: int


async def ensure_account(
    session: AsyncSession,
    *,
    guild_id: int,
    user_id: int,
    starting_balance: int,
    at: datetime | None = None,
    wallet: int = OWN_WALLET,
) -> int:
    """Return the member's account id (own credits, or a campaign wallet), opening it on first use.

    Safe under concurrency: the insert is ``ON CONFLICT DO NOTHING``, and only the transaction that
    really inserted the row writes the starting-balance entry.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = at or utcnow()
    stmt = (
        insert(Account)
        .values(guild_id=guild_id, user_id=user_id, wallet=wallet, balance=0, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["guild_id", "user_id", "wallet"])
        .returning(col(Account.id))
    )
    new_id = (await session.exec(stmt)).scalar_one_or_none()
    if new_id is not None:
        if starting_balance:
            await move_credits(
                session, account_id=new_id, amount=starting_balance, kind=EntryKind.START, at=now
            )
        return int(new_id)
    existing = await session.exec(
        select(Account.id).where(
            Account.guild_id == guild_id, Account.user_id == user_id, Account.wallet == wallet
        )
    )
    account_id = existing.one()
    assert account_id is not None
    return int(account_id)


async def move_credits(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    kind: EntryKind,
    job_id: int | None = None,
    actor_id: int | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> Movement:
    """Add ``amount`` (negative to take) to an account and record why; the one way balances change.

    Raises `InsufficientCredits` when the balance would go below zero; the caller's transaction is
    then unchanged. A second entry of the same kind for the same job violates a unique constraint,
    so a job is never debited or refunded twice. ``at`` is the entry's time (default: now).
    """
    at = at or utcnow()
    stmt = (
        update(Account)
        .where(col(Account.id) == account_id, col(Account.balance) + amount >= 0)
        .values(balance=col(Account.balance) + amount, updated_at=at)
        .returning(col(Account.balance))
    )
    balance_after = (await session.exec(stmt)).scalar_one_or_none()
    if balance_after is None:
        current = (await session.exec(select(Account.balance).where(Account.id == account_id))).one()
        raise InsufficientCredits(balance=current, needed=-amount)
    entry = LedgerEntry(
        account_id=account_id,
        amount=amount,
        balance_after=balance_after,
        kind=kind,
        job_id=job_id,
        actor_id=actor_id,
        reason=reason,
        created_at=at,
    )
    session.add(entry)
    await session.flush()
    assert entry.id is not None
    return Movement(entry_id=entry.id, amount=amount, balance_after=balance_after)


async def balance_of(session: AsyncSession, *, guild_id: int, user_id: int) -> int | None:
    """The member's own balance, or None when they have no account yet."""
    result = await session.exec(
        select(Account.balance).where(
            Account.guild_id == guild_id, Account.user_id == user_id, Account.wallet == OWN_WALLET
        )
    )
    return result.one_or_none()


async def ledger_sum(session: AsyncSession, *, account_id: int) -> int:
    """The sum of an account's entries (equal to its balance; used by integrity checks)."""
    total = await session.exec(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.account_id == account_id)
    )
    return int(total.one())


async def refund_job(
    session: AsyncSession, *, job_id: int, reason: str, at: datetime | None = None
) -> list[int]:
    """Give back every debit of a job to the account it came from; the ids of the accounts refunded.

    A campaign entry can be paid partly from a campaign wallet and partly from own credits; each
    part goes back where it came from. A second refund violates the ledger's unique constraint.
    """
    debits = await session.exec(
        select(LedgerEntry).where(LedgerEntry.job_id == job_id, LedgerEntry.kind == EntryKind.DEBIT)
    )
    refunded = []
    for debit in debits.all():
        await move_credits(
            session,
            account_id=debit.account_id,
            amount=-debit.amount,
            kind=EntryKind.REFUND,
            job_id=job_id,
            reason=reason,
            at=at,
        )
        refunded.append(debit.account_id)
    return refunded


async def own_account(
    session: AsyncSession, *, guild_id: int, user_id: int
) -> tuple[int, date | None] | None:
    """The member's own balance and last allowance day, without locking (None: no account yet)."""
    result = await session.exec(
        select(Account.balance, col(Account.allowance_date)).where(
            Account.guild_id == guild_id, Account.user_id == user_id, Account.wallet == OWN_WALLET
        )
    )
    row = result.first()
    return None if row is None else (int(row[0]), row[1])


async def account_state(session: AsyncSession, *, account_id: int) -> tuple[int, date | None]:
    """The account's balance and last allowance day, locking the row until the transaction ends
    (PostgreSQL; SQLite's write lock already serialises the transaction)."""
    result = await session.exec(
        select(Account.balance, col(Account.allowance_date)).where(Account.id == account_id).with_for_update()
    )
    balance, allowance_date = result.one()
    return balance, allowance_date


async def claim_allowance_day(
    session: AsyncSession, *, account_id: int, last: date | None, today: date
) -> bool:
    """Mark today's allowance as given, if nobody else did since ``last`` was read (compare-and-set)."""
    seen = col(Account.allowance_date).is_(None) if last is None else col(Account.allowance_date) == last
    stmt = (
        update(Account)
        .where(col(Account.id) == account_id, seen)
        .values(allowance_date=today)
        .returning(col(Account.id))
    )
    return (await session.exec(stmt)).first() is not None


async def history(
    session: AsyncSession, *, guild_id: int, user_id: int, offset: int, limit: int
) -> tuple[list[LedgerEntry], int]:
    """A member's ledger entries (own credits), newest first, and how many there are in all."""
    account_id = (
        await session.exec(
            select(Account.id).where(
                Account.guild_id == guild_id, Account.user_id == user_id, Account.wallet == OWN_WALLET
            )
        )
    ).one_or_none()
    if account_id is None:
        return [], 0
    total = (
        await session.exec(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.account_id == account_id)
        )
    ).one()
    rows = await session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.account_id == account_id)
        .order_by(col(LedgerEntry.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), int(total)
