"""Each server's own rules (starting balance, daily allowance, role bonuses, prices, moderators,
audit channel, where videos may be made, limits): `ServerRules` are the values with the bot-wide
defaults filled in, and the `Rulebook` reads and changes them (stored in ``guild_settings``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from storage import server_rules as rules_queries
from storage.engine import SessionFactory
from storage.states import AllowanceMode
from storage.tables import ServerRulesRow
from storage.types import utcnow
from videobot.catalog import Catalog, UnknownModel
from videobot.errors import Refused
from videobot.maxima import MAX_CREDITS, MAX_MEMBER_JOBS

log = logging.getLogger(__name__)


class SettingsError(Refused):
    """A setting value that cannot be used; ``str()`` says why and that nothing was changed."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem} Nothing was changed.")


@dataclass(frozen=True)
class ServerRules:
    """A server's settings with the bot-wide defaults filled in."""

    guild_id: int
    starting_balance: int
    allowance_mode: AllowanceMode = AllowanceMode.OFF
    allowance_amount: int = 0
    allowance_cap: int | None = None
    role_bonuses: Mapping[int, int] = field(default_factory=dict)
    price_overrides: Mapping[str, int] = field(default_factory=dict)
    moderator_role_id: int | None = None
    audit_channel_id: int | None = None
    allowed_channel_ids: frozenset[int] = frozenset()
    max_jobs_per_member: int | None = None  # videos in progress per member; None: no limit
    member_jobs_is_default: bool = True  # the limit is the bot-wide default, not this server's
    daily_credit_cap: int | None = None

    def daily_allowance(self, role_ids: Iterable[int]) -> int:
        """The member's allowance: the server's amount plus the bonuses of the roles they have."""
        return self.allowance_amount + sum(self.role_bonuses.get(role, 0) for role in set(role_ids))

    def allows_channel(self, channel_ids: Iterable[int]) -> bool:
        """Whether videos may be made here (a thread counts as its parent channel too)."""
        return not self.allowed_channel_ids or any(c in self.allowed_channel_ids for c in channel_ids)

    def is_moderator(self, *, manage_guild: bool, role_ids: Iterable[int]) -> bool:
        """Manage Server permission, or the server's moderator role."""
        return manage_guild or (
            self.moderator_role_id is not None and self.moderator_role_id in set(role_ids)
        )


class Rulebook:
    """Reads and changes servers' rules, checking every value."""

    def __init__(
        self,
        sessions: SessionFactory,
        catalog: Catalog,
        *,
        default_starting_balance: int,
        default_member_jobs: int = 0,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._default_starting_balance = default_starting_balance
        self._default_member_jobs = default_member_jobs  # 0: no limit

    async def rules(self, guild_id: int) -> ServerRules:
        """The server's rules (all defaults when it never changed a setting)."""
        async with self._sessions() as session:
            row = await rules_queries.load(session, guild_id=guild_id)
        return self._rules(guild_id, row)

    async def update(self, guild_id: int, *, actor_id: int, **changes: Any) -> ServerRules:
        """Change some settings; every value is checked first, and nothing changes on an error."""
        checked = self._check(changes)
        async with self._sessions() as session, session.begin():
            row = await rules_queries.load(session, guild_id=guild_id) or ServerRulesRow(guild_id=guild_id)
            for name, value in checked.items():
                setattr(row, name, value)
            self._check_allowance(row)
            row.updated_at = utcnow()
            session.add(row)
        log.info("guild %s settings changed by %s: %s", guild_id, actor_id, sorted(checked))
        return self._rules(guild_id, row)

    async def set_role_bonus(self, guild_id: int, role_id: int, amount: int, *, actor_id: int) -> ServerRules:
        """Give a role extra daily credits (0 removes the bonus)."""
        _check_amount("role bonus", amount)
        current = dict((await self.rules(guild_id)).role_bonuses)
        if amount:
            current[role_id] = amount
        else:
            current.pop(role_id, None)
        return await self.update(
            guild_id, actor_id=actor_id, role_bonuses={str(k): v for k, v in current.items()}
        )

    async def set_price(
        self, guild_id: int, model_id: str, price: int | None, *, actor_id: int
    ) -> ServerRules:
        """Set this server's price for a model (None: back to the catalog's prices)."""
        try:
            model = self._catalog.get(model_id)
        except UnknownModel as exc:
            raise SettingsError(str(exc)) from None
        if price is not None and price < 1:
            raise SettingsError(
                "A price must be at least 1 credit; remove the override to use the catalog's."
            )
        current = dict((await self.rules(guild_id)).price_overrides)
        if price is None:
            current.pop(model.id, None)
        else:
            _check_amount("price", price)
            current[model.id] = price
        return await self.update(guild_id, actor_id=actor_id, price_overrides=current)

    async def set_channel(
        self, guild_id: int, channel_id: int | None, *, allowed: bool, actor_id: int
    ) -> ServerRules:
        """Add or remove a channel where videos may be made; None with allowed=False clears the list."""
        current = set((await self.rules(guild_id)).allowed_channel_ids)
        if channel_id is None:
            if allowed:
                raise SettingsError("Name the channel to allow.")
            current.clear()
        elif allowed:
            current.add(channel_id)
        else:
            current.discard(channel_id)
        return await self.update(
            guild_id, actor_id=actor_id, allowed_channel_ids=sorted(str(c) for c in current)
        )

    # -- checks -------------------------------------------------------------------------------------

    def _check(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        known = set(ServerRulesRow.model_fields) - {"guild_id", "updated_at"}
        unknown = set(changes) - known
        if unknown:
            raise SettingsError(f"Unknown settings: {', '.join(sorted(unknown))}")
        checked = dict(changes)
        for name in (
            "starting_balance",
            "allowance_amount",
            "allowance_cap",
            "max_jobs_per_member",
            "daily_credit_cap",
        ):
            value = checked.get(name)
            if value is not None:
                _check_amount(name.replace("_", " "), value)
        member_jobs = checked.get("max_jobs_per_member")
        if member_jobs is not None and member_jobs > MAX_MEMBER_JOBS:
            raise SettingsError(f"The videos in progress per member can be at most {MAX_MEMBER_JOBS}.")
        if "allowance_mode" in checked:
            try:
                checked["allowance_mode"] = AllowanceMode(checked["allowance_mode"])
            except ValueError:
                raise SettingsError("The allowance mode is off, floor or add.") from None
        return checked

    @staticmethod
    def _check_allowance(row: ServerRulesRow) -> None:
        mode = AllowanceMode(row.allowance_mode)
        if mode is not AllowanceMode.OFF and row.allowance_amount < 1:
            raise SettingsError("A daily allowance needs an amount of at least 1 credit.")
        if (
            mode is AllowanceMode.ADD
            and row.allowance_cap is not None
            and row.allowance_cap < row.allowance_amount
        ):
            raise SettingsError("The allowance cap must be at least the daily amount.")

    def _rules(self, guild_id: int, row: ServerRulesRow | None) -> ServerRules:
        member_jobs = row.max_jobs_per_member if row is not None else None
        limit = self._default_member_jobs if member_jobs is None else member_jobs
        if row is None:
            return ServerRules(
                guild_id=guild_id,
                starting_balance=self._default_starting_balance,
                max_jobs_per_member=limit or None,
            )
        return ServerRules(
            guild_id=guild_id,
            starting_balance=(
                self._default_starting_balance if row.starting_balance is None else row.starting_balance
            ),
            allowance_mode=row.allowance_mode,
            allowance_amount=row.allowance_amount,
            allowance_cap=row.allowance_cap,
            role_bonuses={int(k): int(v) for k, v in row.role_bonuses.items()},
            price_overrides={str(k): int(v) for k, v in row.price_overrides.items()},
            moderator_role_id=row.moderator_role_id,
            audit_channel_id=row.audit_channel_id,
            allowed_channel_ids=frozenset(int(c) for c in row.allowed_channel_ids),
            max_jobs_per_member=limit or None,
            member_jobs_is_default=member_jobs is None,
            daily_credit_cap=row.daily_credit_cap,
        )


def _check_amount(what: str, value: int) -> None:
    if value < 0:
        raise SettingsError(f"The {what} cannot be negative.")
    if value > MAX_CREDITS:
        raise SettingsError(f"The {what} is too large (at most {MAX_CREDITS:,}).")
