"""Members' credits: opening accounts, the lazy daily allowance, moderators' grants, revokes and sets,
and the history. Every balance change goes through `storage.ledger.move_credits`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import campaigns as campaign_queries
from storage import ledger
from storage.engine import SessionFactory
from storage.ledger import Movement
from storage.states import AllowanceMode, EntryKind
from storage.tables import LedgerEntry
from storage.types import utcnow
from videobot.errors import Refused
from videobot.maxima import MAX_BALANCE, MAX_CREDITS, MAX_REASON
from videobot.rulebook import Rulebook, ServerRules

log = logging.getLogger(__name__)

HISTORY_PAGE_SIZE = 10


@dataclass(frozen=True)
class Member:
    """Who acts: a member of a server, with the roles they have (for role bonuses)."""

    guild_id: int
    user_id: int
    role_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ModeratorChange:
    """What a grant, revoke or set did."""

    requested: int
    changed_by: int  # signed: what the balance moved by
    balance_after: int


@dataclass(frozen=True)
class HistoryPage:
    """One page of a member's ledger, newest first."""

    entries: list[LedgerEntry]
    page: int  # 0-based
    pages: int
    total: int


class CreditsError(Refused):
    """A refused credit operation; ``str()`` is the message for the moderator."""


async def open_account(session: AsyncSession, member: Member, rules: ServerRules, now: datetime) -> int:
    """The member's own account id in the server, opened with the starting balance on first use."""
    return await ledger.ensure_account(
        session,
        guild_id=member.guild_id,
        user_id=member.user_id,
        starting_balance=rules.starting_balance,
        at=now,
    )


async def pay_allowance(
    session: AsyncSession, account_id: int, member: Member, rules: ServerRules, now: datetime
) -> None:
    """Give the member the daily allowance due, once per UTC day, in the caller's transaction.

    Called on every member action: the allowance is applied lazily, so no scheduler is needed, and
    a member away for a week gets what is due in one entry.
    """
    if rules.allowance_mode is AllowanceMode.OFF:
        return
    today = now.date()
    balance, last_day = await ledger.account_state(session, account_id=account_id)
    if last_day == today:
        return
    due = allowance_due(rules, balance=balance, last_day=last_day, today=today, role_ids=member.role_ids)
    due = min(due, max(0, MAX_BALANCE - balance))
    # Claim the day first: of two concurrent actions, only one gives the allowance.
    if not await ledger.claim_allowance_day(session, account_id=account_id, last=last_day, today=today):
        return
    if due > 0:
        days = "" if last_day is None else f" for {(today - last_day).days} day(s)"
        await ledger.move_credits(
            session,
            account_id=account_id,
            amount=due,
            kind=EntryKind.ALLOWANCE,
            reason=f"daily allowance{days}",
        )


def allowance_due(
    rules: ServerRules, *, balance: int, last_day: date | None, today: date, role_ids: Iterable[int]
) -> int:
    """Credits the daily allowance owes a member today (0 when already given or not needed)."""
    if last_day is not None and last_day >= today:
        return 0
    amount = rules.daily_allowance(role_ids)
    if rules.allowance_mode is AllowanceMode.FLOOR:
        return max(0, amount - balance)
    if rules.allowance_mode is AllowanceMode.ADD:
        days = 1 if last_day is None else (today - last_day).days
        due = amount * days
        if rules.allowance_cap is not None:
            due = min(due, max(0, rules.allowance_cap - balance))
        return due
    return 0


async def spendable(session: AsyncSession, member: Member, rules: ServerRules, now: datetime) -> int:
    """At most what the member could spend on a video now: own credits with any allowance due, and
    campaign credits of running campaigns they joined. Reads only; the charge checks again."""
    own = await ledger.own_account(session, guild_id=member.guild_id, user_id=member.user_id)
    balance, last_day = own if own is not None else (rules.starting_balance, None)
    due = 0
    if rules.allowance_mode is not AllowanceMode.OFF:
        due = allowance_due(
            rules, balance=balance, last_day=last_day, today=now.date(), role_ids=member.role_ids
        )
    wallets = await campaign_queries.running_wallets_total(
        session, guild_id=member.guild_id, user_id=member.user_id, now=now
    )
    return balance + due + wallets


class Credits:
    """Balances, moderator changes and histories, with each server's rules applied."""

    def __init__(
        self, sessions: SessionFactory, rulebook: Rulebook, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._rulebook = rulebook
        self._clock = clock

    async def balance(self, member: Member) -> int:
        """The member's balance (opening the account, and applying any allowance due)."""
        rules = await self._rulebook.rules(member.guild_id)
        async with self._sessions() as session, session.begin():
            now = self._clock()
            account_id = await open_account(session, member, rules, now)
            await pay_allowance(session, account_id, member, rules, now)
            balance, _ = await ledger.account_state(session, account_id=account_id)
            return balance

    async def grant(
        self, member: Member, amount: int, *, actor_id: int, reason: str | None
    ) -> ModeratorChange:
        """Add credits to a member's balance."""
        _check_positive(amount)
        movement = await self._moderate(member, lambda balance: amount, EntryKind.GRANT, actor_id, reason)
        return ModeratorChange(amount, movement.amount, movement.balance_after)

    async def revoke(
        self, member: Member, amount: int, *, actor_id: int, reason: str | None
    ) -> ModeratorChange:
        """Take credits, never below zero: takes what there is when the balance is smaller."""
        _check_positive(amount)
        movement = await self._moderate(
            member, lambda balance: -min(amount, balance), EntryKind.REVOKE, actor_id, reason
        )
        return ModeratorChange(amount, movement.amount, movement.balance_after)

    async def set_balance(
        self, member: Member, amount: int, *, actor_id: int, reason: str | None
    ) -> ModeratorChange:
        """Set a member's balance to an exact amount."""
        if amount < 0:
            raise CreditsError("A balance cannot be negative. Nothing was changed.")
        _check_at_most(amount)
        movement = await self._moderate(
            member, lambda balance: amount - balance, EntryKind.SET, actor_id, reason
        )
        return ModeratorChange(amount, movement.amount, movement.balance_after)

    async def history(self, member: Member, *, page: int) -> HistoryPage:
        """One page of the member's ledger, newest first."""
        page = max(page, 0)
        async with self._sessions() as session:
            entries, total = await self._history_page(session, member, page)
            pages = max(1, -(-total // HISTORY_PAGE_SIZE))
            if page >= pages:  # past the end (entries were fewer than the pager thought)
                page = pages - 1
                entries, total = await self._history_page(session, member, page)
        return HistoryPage(entries=entries, page=page, pages=pages, total=total)

    @staticmethod
    async def _history_page(
        session: AsyncSession, member: Member, page: int
    ) -> tuple[list[LedgerEntry], int]:
        return await ledger.history(
            session,
            guild_id=member.guild_id,
            user_id=member.user_id,
            offset=page * HISTORY_PAGE_SIZE,
            limit=HISTORY_PAGE_SIZE,
        )

    async def _moderate(
        self,
        member: Member,
        delta_for: Callable[[int], int],
        kind: EntryKind,
        actor_id: int,
        reason: str | None,
    ) -> Movement:
        reason = (reason or "").strip()[:MAX_REASON] or None
        rules = await self._rulebook.rules(member.guild_id)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            account_id = await open_account(session, member, rules, now)
            await pay_allowance(session, account_id, member, rules, now)
            # The row is locked by account_state until commit, so the delta fits the balance it saw.
            balance, _ = await ledger.account_state(session, account_id=account_id)
            delta = delta_for(balance)
            if balance + delta > MAX_BALANCE:
                raise CreditsError(
                    f"That would make the balance {balance + delta:,}, over the most a balance may hold "
                    f"({MAX_BALANCE:,}). Nothing was changed."
                )
            movement = await ledger.move_credits(
                session,
                account_id=account_id,
                amount=delta,
                kind=kind,
                actor_id=actor_id,
                reason=reason,
            )
        log.info(
            "%s of %s credits for %s in guild %s by %s",
            kind.value,
            movement.amount,
            member.user_id,
            member.guild_id,
            actor_id,
        )
        return movement


def _check_positive(amount: int) -> None:
    if amount < 1:
        raise CreditsError("The amount must be at least 1 credit. Nothing was changed.")
    _check_at_most(amount)


def _check_at_most(amount: int) -> None:
    if amount > MAX_CREDITS:
        raise CreditsError(f"The amount can be at most {MAX_CREDITS:,} credits. Nothing was changed.")
