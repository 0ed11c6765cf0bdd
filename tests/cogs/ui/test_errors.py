"""The one error path, through discord.py: every command and button answers the member, with the
refusal's own words, or for the unexpected with a reference that is also in the log line."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import text

from tests.cogs.conftest import Flow
from tests.fakes.discord_payloads import FakeFile
from tests.member import CHANNEL, GUILD, MEMBER, MEMBER_PERMISSIONS, MODERATOR, PNG, job_number

HELPER, HELPER_ROLE = 800_000_000_000_000_021, 800_000_000_000_000_022


def reference(answer: str) -> str:
    match = re.search(r"reference `([0-9a-f]{8})`", answer)
    assert match, f"no reference in {answer!r}"
    return match.group(1)


async def drop_table(flow: Flow, table: str) -> None:
    async with flow.sessions() as session, session.begin():
        connection = await session.connection()
        await connection.execute(text(f"DROP TABLE {table}"))


async def test_a_discord_failure_on_delete_is_answered_with_a_logged_reference(
    flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    job = job_number(await flow.run("video text", prompt="a fox", duration=4))
    video = await flow.video(job)
    # 503: discord.py raises at once (a 500 is retried for ~25 s first, then raises the same way).
    flow.discord.inject_failure(
        "DELETE", rf"/channels/{video.channel_id}/messages/{video.id}", status=503, body={"message": "down"}
    )
    with caplog.at_level(logging.ERROR, logger="cogs.ui.errors"):
        answer = await flow.click(video, f"video:delete:{job}")
    assert "Something went wrong on our side" in answer
    ref = reference(answer)
    assert any(f"[ref {ref}]" in r.getMessage() and r.exc_info for r in caplog.records)
    assert not flow.discord.messages[video.id].deleted


async def test_a_database_error_behind_a_button_is_answered(
    flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    for amount in range(1, 13):  # two pages of history
        await flow.run("credits grant", user=MODERATOR, member=MEMBER, amount=amount)
    inter = await flow.discord.invoke_slash(
        guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER, command="credits history"
    )
    page = await inter.wait_for_followup_or_edit(lambda m: "Page 1 of 2" in m.text)
    await drop_table(flow, "ledger_entry")
    with caplog.at_level(logging.WARNING, logger="cogs.ui.errors"):
        answer = await flow.click(page, page.custom_ids()[1])
    ref = reference(answer)
    assert "Nothing was changed" in answer
    assert any(f"[ref {ref}]" in r.getMessage() for r in caplog.records)


async def test_a_database_error_in_a_command_is_answered(
    flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    await drop_table(flow, "guild_settings")
    with caplog.at_level(logging.WARNING, logger="cogs.ui.errors"):
        answer = await flow.run("credits prices")
    ref = reference(answer)
    assert any(f"[ref {ref}]" in r.getMessage() for r in caplog.records)


async def test_a_refusal_behind_a_deferred_button_is_answered_in_its_own_words(flow: Flow) -> None:
    job = job_number(
        await flow.run("video image", prompt="it blinks", image=FakeFile("c.png", PNG, "image/png"))
    )
    video = await flow.video(job)
    await flow.run("credits set", user=MODERATOR, member=MEMBER, amount=0)
    answer = await flow.click(video, f"video:reroll:{job}")
    assert "This video costs 30 credits and you have 0" in answer
    assert await flow.balance(MEMBER) == 0


async def test_the_servers_moderator_role_may_delete_a_video_as_commands_allow(flow: Flow) -> None:
    flow.discord.add_role(GUILD, HELPER_ROLE, "helpers")
    flow.discord.add_member(GUILD, HELPER, "helper", roles=[HELPER_ROLE], permissions=MEMBER_PERMISSIONS)
    job = job_number(await flow.run("video text", prompt="a fox", duration=4))
    video = await flow.video(job)
    assert "Only the video's owner or a moderator" in await flow.click(
        video, f"video:delete:{job}", user=HELPER
    )
    await flow.run("videobot settings moderator_role", user=MODERATOR, role=HELPER_ROLE)
    assert "Deleted" in await flow.click(video, f"video:delete:{job}", user=HELPER)
    assert flow.discord.messages[video.id].deleted
