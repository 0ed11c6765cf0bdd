"""Moderation end to end: ``python bot.py`` as a process, SQLite, the loopback fakes."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import START_BALANCE, World
from tests.member import CHANNEL, GUILD, MEMBER, MODERATOR, OTHER_MEMBER, eventually, job_number

pytestmark = pytest.mark.e2e

AUDIT = 800_000_000_000_000_250


async def test_blocked_term_blocked_member_and_a_report_decided_after_a_restart(world: World) -> None:
    world.discord.add_text_channel(GUILD, AUDIT, "audit")
    bot = await world.start_bot(MAX_JOBS_IN_FLIGHT="1")
    await world.run("videobot settings audit_channel", user=MODERATOR, channel=AUDIT)
    assert "Blocked “cat”" in await world.run("videobot blocklist add", user=MODERATOR, term="cat")

    # A blocked term, hidden behind a zero-width space: refused, nothing charged, nothing sent.
    refused = await world.run("video text", prompt="a c\u200bat on a roof", duration=4)
    assert "contains a term this server does not allow" in refused
    assert await world.balance() == START_BALANCE
    assert world.modelslab.submits() == []
    line = await world.discord.wait_for_message(
        lambda m: m.channel_id == AUDIT and "was refused" in m.content
    )
    assert f"<@{MEMBER}>" in line.content and "/video text" in line.content and "“cat”" in line.content

    # A delivered video, reported by another member: the report reaches the audit channel.
    job = job_number(await world.run("video text", prompt="a red fox in snow", duration=4))
    video = await world.video(job)
    assert "the moderators have your report" in await world.click(
        video, f"video:report:{job}", user=OTHER_MEMBER
    )
    report = await world.discord.wait_for_message(lambda m: m.channel_id == AUDIT and "Report #" in m.content)
    assert f"video #{job} by <@{MEMBER}>, reported by <@{OTHER_MEMBER}>" in report.content
    assert "a red fox in snow" in report.content
    report_id = int(re.search(r"Report #(\d+)", report.content).group(1))  # type: ignore[union-attr]

    # A blocked member: refused with the end of the block; their waiting video is refunded.
    world.modelslab.render_seconds = 5  # their first video holds the one provider slot
    first = job_number(await world.run("video text", prompt="one", duration=4, user=OTHER_MEMBER))
    await eventually(lambda: len(world.modelslab.submits()) == 2, what="their first video at the provider")
    waiting = job_number(await world.run("video text", prompt="two", duration=4, user=OTHER_MEMBER))
    assert await world.balance(OTHER_MEMBER) == START_BALANCE - 80
    blocked = await world.run("videobot block", user=MODERATOR, member=OTHER_MEMBER, duration="1d")
    assert f"cancelled and refunded (#{waiting})" in blocked
    assert await world.balance(OTHER_MEMBER) == START_BALANCE - 40
    again = await world.run("video text", prompt="three", duration=4, user=OTHER_MEMBER)
    assert "blocked you from the video bot in this server until <t:" in again
    assert first != waiting

    # The decision buttons survive a restart: the moderator deletes from the audit channel.
    bot.stop()
    await world.start_bot(MAX_JOBS_IN_FLIGHT="1")
    deleted = await world.click(report, f"mod:report:{report_id}:delete", user=MODERATOR)
    assert f"Video #{job} deleted" in deleted
    assert world.discord.messages[video.id].deleted
    status = next(m for m in world.discord.messages_in(CHANNEL) if f"Video #{job} ·" in m.text)
    await eventually(lambda: "*deleted*" in status.text, what="the status message to say deleted")
    assert "red fox" not in status.text
    assert f"Video deleted by <@{MODERATOR}>" in world.discord.messages[report.id].content
    log = await world.run("videobot moderation log", user=MODERATOR)
    assert f"deleted video #{job} by <@{MEMBER}>" in log and f"blocked <@{OTHER_MEMBER}>" in log
    world.assert_no_secrets_in_logs()
