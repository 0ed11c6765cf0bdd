"""``/campaign`` flows through real discord.py: moderator refusals, ending early, info."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cogs.conftest import Flow
from tests.member import CHANNEL, GUILD, MEMBER, MODERATOR


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("campaign create", {"name": "X", "end": "1d", "credits": 5}),
        ("campaign end", {"name": "Fest"}),
        ("campaign report", {"name": "Fest"}),
    ],
)
async def test_members_cannot_run_moderator_campaign_commands(
    flow: Flow, command: str, options: dict[str, Any]
) -> None:
    await flow.run("campaign create", user=MODERATOR, name="Fest", end="1d", credits=5)
    answer = await flow.run(command, user=MEMBER, **options)
    assert "Only moderators" in answer
    [view] = await flow.bot.campaigns.overview(GUILD, MEMBER)
    assert view.status.value == "running"


async def test_ending_early_posts_the_summary_where_it_was_created(flow: Flow) -> None:
    created = await flow.run("campaign create", user=MODERATOR, name="Fest", end="2d", credits=5, start="now")
    assert "Campaign **Fest** created" in created
    assert "got 5 campaign credits" in await flow.run("campaign join", name="Fest")
    info = await flow.run("campaign info", name="fest")
    assert "5 campaign credits left, 0 entries" in info
    bad = await flow.run("campaign create", user=MODERATOR, name="Later", end="yesterday", credits=1)
    assert "can't read the time `yesterday`" in bad and "Nothing was created" in bad
    assert "ends now" in await flow.run("campaign end", user=MODERATOR, name="Fest")
    summary = await flow.discord.wait_for_message(lambda m: "**Fest** has ended" in m.content, timeout=20)
    assert summary.channel_id == CHANNEL
    assert "has already ended" in await flow.run("campaign end", user=MODERATOR, name="Fest")
