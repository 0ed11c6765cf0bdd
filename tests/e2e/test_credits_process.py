"""Credits end to end: ``python bot.py`` as a process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from storage.engine import create_engine, create_session_factory
from storage.ledger import ledger_sum
from storage.tables import Account, LedgerEntry
from storage.types import utcnow
from tests.e2e.conftest import World, make_world
from tests.member import CHANNEL, GUILD, MEMBER, MODERATOR, OTHER_MEMBER, eventually
from videobot.config import normalise_database_url

pytestmark = pytest.mark.e2e


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    async for w in make_world(tmp_path, db_url):
        yield w


async def books(world: World) -> dict[int, tuple[int, int, int]]:
    """Per member: (balance, sum of entries, number of debits), read straight from the database."""
    engine = create_engine(normalise_database_url(world.database_url))
    try:
        async with create_session_factory(engine)() as session:
            result = {}
            for account in (await session.exec(select(Account))).all():
                assert account.id is not None
                debits = await session.exec(
                    select(LedgerEntry).where(
                        LedgerEntry.account_id == account.id, LedgerEntry.kind == "debit"
                    )
                )
                result[account.user_id] = (
                    account.balance,
                    await ledger_sum(session, account_id=account.id),
                    len(debits.all()),
                )
            return result
    finally:
        await engine.dispose()


async def test_fifty_concurrent_video_commands_against_a_balance_for_five(world: World) -> None:
    await world.start_bot(STARTING_BALANCE="200")  # five 40-credit videos

    async def command(i: int) -> str:
        inter = await world.discord.invoke_slash(
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=MEMBER,
            command="video text",
            options={"prompt": f"scene {i}", "duration": 4},
        )
        message = await inter.wait_for_followup_or_edit(lambda m: not m.loading and bool(m.text), timeout=60)
        return message.text

    answers = await asyncio.gather(*(command(i) for i in range(50)))
    accepted = [a for a in answers if "accepted" in a]
    refused = [a for a in answers if "costs 40 credits and you have 0" in a]
    assert (len(accepted), len(refused)) == (5, 45), answers
    await eventually(lambda: len(world.modelslab.submits()) == 5, timeout=60, what="five submits")
    balance, entries_sum, debits = (await books(world))[MEMBER]
    assert (balance, entries_sum, debits) == (0, 0, 5)
    world.assert_no_secrets_in_logs()


async def test_moderator_tools_allowance_over_simulated_days_and_caps(world: World) -> None:
    await world.start_bot(STARTING_BALANCE="100")
    assert "Granted 25 credits" in await world.run("credits grant", user=MODERATOR, member=MEMBER, amount=25)
    assert "Took 125 credits" in await world.run("credits revoke", user=MODERATOR, member=MEMBER, amount=500)
    assert await world.balance() == 0
    assert "Set" in await world.run("credits set", user=MODERATOR, member=MEMBER, amount=30, reason="prize")
    refused = await world.run("credits grant", user=OTHER_MEMBER, member=OTHER_MEMBER, amount=1000)
    assert "Only moderators" in refused
    assert await world.balance(OTHER_MEMBER) == 100

    # Allowance: +10 a day up to 80. Today's comes on the next action; then a member is away for
    # three days (simulated by moving the day it was last given), and gets 30 on return, once.
    await world.run("videobot settings allowance", user=MODERATOR, mode="add", amount=10, cap=80)
    assert await world.balance() == 40
    await _days_pass(world, MEMBER, 3)
    assert await world.balance() == 70
    assert await world.balance() == 70
    await _days_pass(world, MEMBER, 5)
    assert await world.balance() == 80  # the cap

    await world.run("videobot settings daily_cap", user=MODERATOR, credits=50)
    assert "accepted" in await world.run("video text", prompt="first", duration=4)
    capped = await world.run("video text", prompt="second", duration=4, user=OTHER_MEMBER)
    assert "This server has used 40 of its 50 credits" in capped
    assert await world.balance(OTHER_MEMBER) == 100  # nothing charged (and above the allowance cap)

    history = await world.run("credits history")
    assert "daily allowance" in history and "“prize”" in history
    for balance, entries_sum, _ in (await books(world)).values():
        assert balance == entries_sum >= 0


async def _days_pass(world: World, user_id: int, days: int) -> None:
    engine = create_engine(normalise_database_url(world.database_url))
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await session.exec(
                update(Account)
                .where(col(Account.user_id) == user_id)
                .values(allowance_date=(utcnow() - timedelta(days=days)).date())
            )
    finally:
        await engine.dispose()
