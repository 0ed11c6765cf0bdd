"""``/credits`` and ``/videobot`` flows through real discord.py: members, moderators, settings, usage."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cogs.conftest import START, Flow
from tests.member import CHANNEL, GUILD, MEMBER, MODERATOR, OTHER_MEMBER, eventually, job_number
from videobot.credits import Member

AUDIT = 800_000_000_000_000_050
OTHER_CHANNEL = 800_000_000_000_000_051
HELPER_ROLE = 800_000_000_000_000_060
HELPER = 800_000_000_000_000_061

MODERATOR_COMMANDS = [
    ("credits grant", {"member": MEMBER, "amount": 5}),
    ("credits revoke", {"member": MEMBER, "amount": 5}),
    ("credits set", {"member": MEMBER, "amount": 5}),
    ("credits balance", {"member": MODERATOR}),
    ("credits history", {"member": MODERATOR}),
    ("videobot usage", {}),
    ("videobot settings show", {}),
    ("videobot settings daily_cap", {"credits": 10}),
    ("videobot settings starting_balance", {"amount": 1}),
]


@pytest.mark.parametrize(("command", "options"), MODERATOR_COMMANDS)
async def test_members_are_refused_every_moderator_command_and_nothing_changes(
    flow: Flow, command: str, options: dict[str, Any]
) -> None:
    answer = await flow.run(command, user=OTHER_MEMBER, **options)
    assert ("Only" in answer and "moderator" in answer.lower()) or "Manage Server" in answer
    assert await flow.balance(MEMBER) == START
    rules = await flow.bot.rulebook.rules(GUILD)
    assert rules.daily_credit_cap is None
    assert rules.starting_balance == START


async def test_grant_revoke_set_answer_write_history_and_post_to_the_audit_channel(flow: Flow) -> None:
    flow.discord.add_text_channel(GUILD, AUDIT, "audit")
    await flow.run("videobot settings audit_channel", user=MODERATOR, channel=AUDIT)

    assert "Granted 50 credits" in await flow.run(
        "credits grant", user=MODERATOR, member=MEMBER, amount=50, reason="contest winner"
    )
    revoked = await flow.run("credits revoke", user=MODERATOR, member=MEMBER, amount=1000)
    assert "Took 550 credits" in revoked
    assert "asked for 1000" in revoked
    assert "Set" in await flow.run(
        "credits set", user=MODERATOR, member=MEMBER, amount=42, reason="fresh start"
    )
    assert await flow.balance() == 42

    history = await flow.run("credits history")
    lines = [line for line in history.splitlines() if line.startswith("**")]
    assert lines[0].startswith("**+42** · set by a moderator")
    assert f"by <@{MODERATOR}>" in lines[0]
    assert "“fresh start”" in lines[0]
    assert lines[1].startswith("**-550** · revoked")
    assert lines[2].startswith("**+50** · granted") and "contest winner" in lines[2]
    assert lines[3].startswith(f"**+{START}** · starting balance")

    await eventually(lambda: len(flow.discord.messages_in(AUDIT)) >= 4, what="audit posts")
    audit = [m.content for m in flow.discord.messages_in(AUDIT)]
    assert any("Granted 50 credits" in a and "contest winner" in a for a in audit)
    assert any("Took 550 credits" in a for a in audit)


async def test_moderator_role_counts_as_moderator(flow: Flow) -> None:
    flow.discord.add_role(GUILD, HELPER_ROLE, "helpers")
    flow.discord.add_member(
        GUILD, HELPER, "helper", roles=[HELPER_ROLE], permissions=1 << 31 | 1 << 11 | 1 << 10
    )
    assert "Only" in await flow.run("credits grant", user=HELPER, member=MEMBER, amount=5)
    await flow.run("videobot settings moderator_role", user=MODERATOR, role=HELPER_ROLE)
    assert "Granted 5 credits" in await flow.run("credits grant", user=HELPER, member=MEMBER, amount=5)
    # The moderator role does not reach the settings (Manage Server only).
    assert "Manage Server" in await flow.run("videobot settings daily_cap", user=HELPER, credits=1)


async def test_history_pages(flow: Flow) -> None:
    for i in range(12):
        await flow.bot.credits.grant(Member(GUILD, MEMBER), i + 1, actor_id=MODERATOR, reason=None)
    inter = await flow.discord.invoke_slash(
        guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER, command="credits history"
    )
    first = await inter.wait_for_followup_or_edit(lambda m: "Page 1 of 2" in m.text)
    assert "**+12**" in first.text
    page_two = await flow.discord.click_button(
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=MEMBER,
        message_id=first.id,
        custom_id=first.custom_ids()[1],
    )
    await page_two.wait_for_response()
    await eventually(lambda: "Page 2 of 2" in flow.discord.messages[first.id].text, what="page two")
    assert "starting balance" in flow.discord.messages[first.id].text


async def test_prices_show_the_catalog_with_this_servers_overrides(flow: Flow) -> None:
    before = await flow.run("credits prices")
    assert "veo-3.1-fast" in before and "8 s: **80**" in before
    answer = await flow.run("videobot settings price", user=MODERATOR, model="veo-3.1-fast", credits=9)
    assert "Done" in answer
    after = await flow.run("credits prices")
    assert "this server's price" in after and "8 s: **9**" in after
    assert "9 credits charged" in await flow.run("video text", prompt="a cheap fox")


async def test_allowed_channels_refuse_elsewhere_without_charge(flow: Flow) -> None:
    flow.discord.add_text_channel(GUILD, OTHER_CHANNEL, "memes")
    await flow.run("videobot settings channels", user=MODERATOR, action="allow", channel=OTHER_CHANNEL)
    answer = await flow.run("video text", prompt="a fox")
    assert f"Videos can't be made here. Try <#{OTHER_CHANNEL}>" in answer
    assert flow.modelslab.submits() == []
    assert await flow.balance() == START
    assert "accepted" in await flow.run("video text", prompt="a fox", where=OTHER_CHANNEL)


async def test_daily_cap_refuses_with_the_reset_time(flow: Flow) -> None:
    await flow.run("videobot settings daily_cap", user=MODERATOR, credits=100)
    assert "accepted" in await flow.run("video text", prompt="one", duration=4)
    assert "accepted" in await flow.run("video text", prompt="two", duration=4)
    refused = await flow.run("video text", prompt="three", duration=4)
    assert "This server has used 80 of its 100 credits" in refused
    assert "<t:" in refused
    assert await flow.balance() == START - 80


async def test_settings_show_and_bad_values(flow: Flow) -> None:
    shown = await flow.run("videobot settings show", user=MODERATOR)
    assert "Starting balance" in shown and "500 credits (bot default)" in shown
    refused = await flow.run("videobot settings allowance", user=MODERATOR, mode="add", amount=10, cap=5)
    assert "cap must be at least" in refused and "Nothing was changed" in refused
    done = await flow.run("videobot settings allowance", user=MODERATOR, mode="floor", amount=600)
    assert "tops balances up to 600" in done
    assert await flow.balance(OTHER_MEMBER) == 600  # applied on the member's next action


async def test_usage_report_for_moderators(flow: Flow) -> None:
    flow.modelslab.fail_next_fetch("failed")
    failed = job_number(await flow.run("video text", prompt="doomed", duration=4))
    await flow.discord.wait_for_message(lambda m: f"video #{failed} did not work out" in m.content, 30)
    ok = job_number(await flow.run("video text", prompt="fine", duration=4, user=OTHER_MEMBER))
    await flow.video(ok)
    report = await flow.run("videobot usage", user=MODERATOR, days=3)
    assert "2 videos, 40 credits spent" in report
    assert f"<@{OTHER_MEMBER}>: 40 credits, 1 videos" in report
    assert "1 delivered, 1 failed" in report
    assert "40 credits refunded" in report
