"""The rulebook (each server's rules): defaults, checks, and nothing changed on a bad value."""

from __future__ import annotations

import pytest

from storage.engine import SessionFactory
from storage.states import AllowanceMode
from videobot.catalog import load_catalog
from videobot.rulebook import Rulebook, SettingsError

G = 5


@pytest.fixture
def rulebook(sessions: SessionFactory) -> Rulebook:
    return Rulebook(sessions, load_catalog(), default_starting_balance=20)


async def test_a_new_server_has_the_defaults(rulebook: Rulebook) -> None:
    rules = await rulebook.rules(G)
    assert rules.starting_balance == 20
    assert rules.allowance_mode is AllowanceMode.OFF
    assert rules.allows_channel([1])
    assert not rules.is_moderator(manage_guild=False, role_ids=[1])
    assert rules.is_moderator(manage_guild=True, role_ids=[])


async def test_changes_are_kept(rulebook: Rulebook) -> None:
    await rulebook.update(G, actor_id=1, moderator_role_id=77, audit_channel_id=88, daily_credit_cap=500)
    await rulebook.set_channel(G, 10, allowed=True, actor_id=1)
    await rulebook.set_channel(G, 11, allowed=True, actor_id=1)
    rules = await rulebook.set_channel(G, 10, allowed=False, actor_id=1)
    assert rules.allowed_channel_ids == frozenset({11})
    assert rules.allows_channel([12, 11])  # a thread of an allowed channel
    assert not rules.allows_channel([12])
    assert rules.is_moderator(manage_guild=False, role_ids=[77])
    reloaded = await rulebook.rules(G)
    assert (reloaded.audit_channel_id, reloaded.daily_credit_cap) == (88, 500)
    cleared = await rulebook.set_channel(G, None, allowed=False, actor_id=1)
    assert cleared.allowed_channel_ids == frozenset()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starting_balance": -1}, "cannot be negative"),
        ({"allowance_mode": "weekly"}, "off, floor or add"),
        ({"allowance_mode": "floor", "allowance_amount": 0}, "needs an amount of at least 1"),
        ({"allowance_mode": "add", "allowance_amount": 10, "allowance_cap": 5}, "cap must be at least"),
        ({"max_jobs_per_member": -1}, "cannot be negative"),
        ({"max_jobs_per_member": 101}, "at most 100"),
        ({"colour": "blue"}, "Unknown settings: colour"),
    ],
)
async def test_bad_values_are_refused_and_change_nothing(
    rulebook: Rulebook, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        await rulebook.update(G, actor_id=1, **changes)
    assert await rulebook.rules(G) == await Rulebook(
        rulebook._sessions, load_catalog(), default_starting_balance=20
    ).rules(G)
    assert (await rulebook.rules(G)).allowance_mode is AllowanceMode.OFF


async def test_price_override_needs_a_known_model(rulebook: Rulebook) -> None:
    with pytest.raises(SettingsError, match="veo-9"):
        await rulebook.set_price(G, "veo-9", 5, actor_id=1)
    rules = await rulebook.set_price(G, "wan2.6-i2v", 12, actor_id=1)
    assert rules.price_overrides == {"wan2.6-i2v": 12}
    rules = await rulebook.set_price(G, "wan2.6-i2v", None, actor_id=1)
    assert rules.price_overrides == {}
