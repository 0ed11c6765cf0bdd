"""Members' credit balances as the rest of the bot sees them."""

from __future__ import annotations

from storage.engine import SessionFactory
from storage.ledger import ensure_account, move_credits  # noqa: F401  (move_credits: the one writer)
from storage.tables import Account


class Credits:
    """Reads and opens credit accounts; every balance change goes through `move_credits`."""

    def __init__(self, sessions: SessionFactory, *, starting_balance: int) -> None:
        self._sessions = sessions
        self._starting_balance = starting_balance

    async def balance(self, *, guild_id: int, user_id: int) -> int:
        """The member's balance, opening the account with the starting balance on first use."""
        async with self._sessions() as session, session.begin():
            account_id = await ensure_account(
                session, guild_id=guild_id, user_id=user_id, starting_balance=self._starting_balance
            )
            account = await session.get(Account, account_id)
            assert account is not None
            return account.balance
