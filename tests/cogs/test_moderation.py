"""Moderation through real discord.py: blocked terms, blocks, reports, deleting, the moderation log,
and the refusals members get for every moderator command and button."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlmodel import select

from storage.states import JobState
from storage.tables import Job, JobInput
from tests.cogs.conftest import START, Flow
from tests.fakes.discord_payloads import FakeFile, FakeMessage
from tests.member import CHANNEL, GUILD, MEMBER, MODERATOR, OTHER_MEMBER, PNG, eventually, job_number
from videobot.moderation import ModerationActionKind

AUDIT = 800_000_000_000_000_150
GALLERY = 800_000_000_000_000_151
HELPER_ROLE = 800_000_000_000_000_160
HELPER = 800_000_000_000_000_161

MODERATION_COMMANDS = [
    ("videobot blocklist add", {"term": "cat"}),
    ("videobot blocklist remove", {"term": "dog"}),
    ("videobot blocklist show", {}),
    ("videobot block", {"member": OTHER_MEMBER}),
    ("videobot unblock", {"member": MODERATOR}),
    ("videobot moderation log", {}),
]


async def with_audit_channel(flow: Flow) -> None:
    flow.discord.add_text_channel(GUILD, AUDIT, "audit")
    await flow.run("videobot settings audit_channel", user=MODERATOR, channel=AUDIT)


def audit_lines(flow: Flow, needle: str) -> list[str]:
    return [m.content for m in flow.discord.messages_in(AUDIT) if needle in m.content]


def status_message(flow: Flow, job_id: int) -> FakeMessage:
    return next(
        m
        for m in flow.discord.messages_in(CHANNEL, include_ephemeral=False)
        if f"Video #{job_id} ·" in m.text
    )


async def job_row(flow: Flow, job_id: int) -> Job:
    async with flow.sessions() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


async def input_count(flow: Flow, job_id: int) -> int:
    async with flow.sessions() as session:
        return len((await session.exec(select(JobInput).where(JobInput.job_id == job_id))).all())


@pytest.mark.parametrize(("command", "options"), MODERATION_COMMANDS)
async def test_members_are_refused_every_moderation_command_and_nothing_changes(
    flow: Flow, command: str, options: dict[str, Any]
) -> None:
    await flow.bot.moderation.add_term(GUILD, "dog", actor_id=MODERATOR)
    await flow.bot.moderation.block(GUILD, MODERATOR, actor_id=HELPER)
    answer = await flow.run(command, user=MEMBER, **options)
    assert "Only moderators" in answer
    assert [t.term for t in await flow.bot.moderation.terms(GUILD)] == ["dog"]
    assert [b.user_id for b in await flow.bot.moderation.blocks(GUILD)] == [MODERATOR]
    assert (await flow.bot.moderation.log(GUILD)).total == 2


async def test_a_blocked_term_is_refused_without_charge_and_audited_once_a_minute(flow: Flow) -> None:
    await with_audit_channel(flow)
    added = await flow.run("videobot blocklist add", user=MODERATOR, term="Cat", reason="no cats")
    assert "Blocked “Cat”" in added
    assert "already blocked" in await flow.run("videobot blocklist add", user=MODERATOR, term="CÀT")
    shown = await flow.run("videobot blocklist show", user=MODERATOR)
    assert "**Cat**" in shown and "“no cats”" in shown and f"<@{MODERATOR}>" in shown

    refused = await flow.run("video text", prompt="a c\u200bat on a roof")
    assert "The prompt contains a term this server does not allow" in refused
    assert not re.search(r"\bcat\b", refused, re.IGNORECASE)  # the member is not told which
    negative = await flow.run("video text", prompt="a dog", negative_prompt="no ｃａｔｓ and no CAT")
    assert "The negative prompt contains a term" in negative
    assert await flow.balance() == START
    assert flow.modelslab.submits() == []

    await eventually(lambda: audit_lines(flow, "was refused"), what="the audit line")
    await asyncio.sleep(0.3)
    [line] = audit_lines(flow, "was refused")  # the second refusal within a minute adds none
    assert f"<@{MEMBER}>" in line and "`/video text`" in line and "“Cat”" in line and "prompt" in line

    # Another member's refusal has its own line; a re-roll applies today's list.
    job = job_number(await flow.run("video text", prompt="a dog on a roof", duration=4, user=OTHER_MEMBER))
    video = await flow.video(job)
    await flow.run("videobot blocklist add", user=MODERATOR, term="dog on a")
    rerolled = await flow.click(video, f"video:reroll:{job}", user=OTHER_MEMBER)
    assert "The prompt contains a term this server does not allow" in rerolled
    assert await flow.balance(OTHER_MEMBER) == START - 40
    await eventually(lambda: len(audit_lines(flow, "was refused")) == 2, what="the re-roll's audit line")
    assert f"the Re-roll button of video #{job}" in audit_lines(flow, "was refused")[1]

    assert "allowed again" in await flow.run("videobot blocklist remove", user=MODERATOR, term="cat")
    assert "is not a blocked term here" in await flow.run(
        "videobot blocklist remove", user=MODERATOR, term="cat"
    )
    assert "accepted" in await flow.run("video text", prompt="a cat", duration=4)
    assert audit_lines(flow, "blocked the term “Cat” (“no cats”)")
    assert audit_lines(flow, "allowed the term “Cat” again")


async def test_the_autocomplete_of_blocked_terms_is_for_moderators_only(flow: Flow) -> None:
    await flow.bot.moderation.add_term(GUILD, "secret word", actor_id=MODERATOR)

    async def offered(user: int) -> list[object]:
        answer = await flow.discord.invoke_autocomplete(
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=user,
            command="videobot blocklist remove",
            options={"term": "sec"},
            focused="term",
        )
        return [c["value"] for c in answer]

    assert await offered(MODERATOR) == ["secret word"]
    assert await offered(MEMBER) == []


@pytest.mark.config(max_jobs_in_flight=1)
async def test_a_blocked_member_is_refused_and_their_waiting_video_refunded(flow: Flow) -> None:
    await with_audit_channel(flow)
    flow.discord.add_text_channel(GUILD, GALLERY, "gallery")
    await flow.run("campaign create", user=MODERATOR, name="Fest", end="1d", credits=40, gallery=GALLERY)
    await flow.run("campaign join", user=OTHER_MEMBER)
    entry = job_number(await flow.run("video text", prompt="a kite", duration=4, user=OTHER_MEMBER))
    entry_video = await flow.video(entry)
    gallery_post = await flow.discord.wait_for_message(
        lambda m: m.channel_id == GALLERY and bool(m.attachments)
    )

    flow.modelslab.render_seconds = 4  # the member's first video holds the one provider slot
    first = job_number(await flow.run("video text", prompt="first", duration=4))
    await eventually(lambda: len(flow.modelslab.submits()) == 2, what="the first video at the provider")
    waiting = job_number(await flow.run("video text", prompt="second", duration=4))
    assert await flow.balance() == START - 80

    answer = await flow.run("videobot block", user=MODERATOR, member=MEMBER, reason="spam", duration="2h")
    assert f"blocked <@{MEMBER}> from the video bot until <t:" in answer
    assert f"1 waiting video cancelled and refunded (#{waiting})" in answer
    assert await flow.balance() == START - 40
    await eventually(lambda: "Cancelled" in status_message(flow, waiting).text, what="the cancelled status")
    assert (await job_row(flow, first)).state is not JobState.CANCELLED  # already at the provider

    for refused in (
        await flow.run("video text", prompt="a fox"),
        await flow.run("campaign join"),
        await flow.click(entry_video, f"video:reroll:{entry}"),
        await flow.click(gallery_post, f"campaign:vote:{entry}"),
    ):
        assert "A moderator has blocked you from the video bot in this server until <t:" in refused
    assert await flow.balance() == START - 40

    settings = await flow.run("videobot settings show", user=MODERATOR)
    assert f"Blocked members (1)\n<@{MEMBER}> until <t:" in settings
    assert audit_lines(flow, f"blocked <@{MEMBER}> from the video bot until <t:")

    again = await flow.run("videobot block", user=MODERATOR, member=MEMBER)
    assert "until unblocked (this replaces their block until <t:" in again
    assert "can use the video bot again" in await flow.run("videobot unblock", user=MODERATOR, member=MEMBER)
    assert "not blocked" in await flow.run("videobot unblock", user=MODERATOR, member=MEMBER)
    assert "Blocked members (0)\nnone" in await flow.run("videobot settings show", user=MODERATOR)
    assert "Your vote counts" in await flow.click(gallery_post, f"campaign:vote:{entry}")
    assert "can't read the duration" in await flow.run(
        "videobot block", user=MODERATOR, member=MEMBER, duration="forever"
    )
    assert "can't block yourself" in await flow.run("videobot block", user=MODERATOR, member=MODERATOR)
    assert await flow.bot.moderation.blocks(GUILD) == []


async def test_a_report_reaches_the_moderators_who_decide_with_buttons(flow: Flow) -> None:
    flow.discord.add_text_channel(GUILD, GALLERY, "gallery")
    await flow.run("campaign create", user=MODERATOR, name="Fest", end="1d", credits=40, gallery=GALLERY)
    await flow.run("campaign join")
    job = job_number(
        await flow.run("video image", prompt="it *blinks*", image=FakeFile("c.png", PNG, "image/png"))
    )
    video = await flow.video(job)
    post = await flow.discord.wait_for_message(
        lambda m: m.channel_id == GALLERY and f"entry #{job} " in m.content
    )
    assert video.custom_ids() == [f"video:reroll:{job}", f"video:delete:{job}", f"video:report:{job}"]
    assert post.custom_ids() == [f"campaign:vote:{job}", f"video:report:{job}"]

    assert "no audit channel" in await flow.click(post, f"video:report:{job}", user=OTHER_MEMBER)
    await with_audit_channel(flow)
    assert "your own video" in await flow.click(video, f"video:report:{job}")
    thanks = await flow.click(post, f"video:report:{job}", user=OTHER_MEMBER)
    assert "the moderators have your report" in thanks
    assert "already reported" in await flow.click(post, f"video:report:{job}", user=OTHER_MEMBER)
    report = await flow.discord.wait_for_message(lambda m: m.channel_id == AUDIT and "Report #" in m.content)
    assert f"video #{job} by <@{MEMBER}>, reported by <@{OTHER_MEMBER}>" in report.content
    assert "it \\*blinks\\*" in report.content  # the prompt, escaped
    assert f"/{video.channel_id}/{video.id})" in report.content and f"/{GALLERY}/{post.id})" in report.content
    report_id = int(re.search(r"Report #(\d+)", report.content).group(1))  # type: ignore[union-attr]
    decisions = [f"mod:report:{report_id}:{d}" for d in ("delete", "block", "dismiss")]
    assert report.custom_ids() == decisions
    # The owner is never told who reported: nothing outside the audit channel names the reporter.
    assert not [
        m
        for m in flow.discord.messages.values()
        if m.channel_id != AUDIT and not m.ephemeral and str(OTHER_MEMBER) in m.text
    ]

    # A second report, dismissed; members can't decide.
    await flow.click(video, f"video:report:{job}", user=MODERATOR)
    second = await flow.discord.wait_for_message(
        lambda m: m.channel_id == AUDIT and f"reported by <@{MODERATOR}>" in m.content
    )
    second_id = report_id + 1
    assert "Only moderators" in await flow.click(second, f"mod:report:{second_id}:dismiss", user=OTHER_MEMBER)
    assert "dismissed" in await flow.click(second, f"mod:report:{second_id}:dismiss", user=MODERATOR)
    dismissed = flow.discord.messages[second.id]
    assert f"Dismissed by <@{MODERATOR}>" in dismissed.content and dismissed.custom_ids() == []

    # Block the owner: the report stays open with Delete and Dismiss.
    assert "Only moderators" in await flow.click(report, decisions[1], user=MEMBER)
    blocked = await flow.click(report, decisions[1], user=MODERATOR)
    assert f"<@{MEMBER}> is blocked from the bot until you unblock them" in blocked
    report = flow.discord.messages[report.id]
    assert f"<@{MEMBER}> blocked by <@{MODERATOR}>" in report.content
    assert report.custom_ids() == [decisions[0], decisions[2]]
    assert "blocked you" in await flow.run("video text", prompt="a fox")

    # Delete: the video, the gallery post and the prompt go; the stored image is purged.
    assert await input_count(flow, job) == 1
    assert f"Video #{job} deleted" in await flow.click(report, decisions[0], user=MODERATOR)
    assert flow.discord.messages[video.id].deleted
    assert flow.discord.messages[post.id].deleted
    report = flow.discord.messages[report.id]
    assert f"Video deleted by <@{MODERATOR}>" in report.content and report.custom_ids() == []
    status = status_message(flow, job)
    await eventually(lambda: "*deleted*" in status.text, what="the status message to say deleted")
    assert "blinks" not in status.text
    assert flow.discord.threads[video.channel_id].name == f"Video #{job} · deleted"
    assert await input_count(flow, job) == 0
    assert (await job_row(flow, job)).deleted_by == MODERATOR
    assert "deleted" in await flow.run("video jobs")

    log = (await flow.bot.moderation.log(GUILD)).actions
    assert [a.action for a in log] == [
        ModerationActionKind.DELETE_VIDEO,
        ModerationActionKind.BLOCK,
        ModerationActionKind.DISMISS_REPORT,
    ]


async def test_a_report_that_cannot_reach_the_audit_channel_is_not_recorded(flow: Flow) -> None:
    await with_audit_channel(flow)
    job = job_number(await flow.run("video text", prompt="a fox", duration=4))
    video = await flow.video(job)
    flow.discord.inject_failure(
        "POST", rf"/channels/{AUDIT}/messages", status=403, body={"message": "Missing Access", "code": 50001}
    )
    refused = await flow.click(video, f"video:report:{job}", user=OTHER_MEMBER)
    assert "couldn't post your report" in refused and "not recorded" in refused
    assert "the moderators have your report" in await flow.click(
        video, f"video:report:{job}", user=OTHER_MEMBER
    )


async def test_the_owner_deletes_their_video_and_the_moderator_role_counts(flow: Flow) -> None:
    await with_audit_channel(flow)
    flow.discord.add_role(GUILD, HELPER_ROLE, "helpers")
    flow.discord.add_member(
        GUILD, HELPER, "helper", roles=[HELPER_ROLE], permissions=1 << 31 | 1 << 11 | 1 << 10
    )
    await flow.run("videobot settings moderator_role", user=MODERATOR, role=HELPER_ROLE)
    own = job_number(
        await flow.run("video image", prompt="my cat", image=FakeFile("c.png", PNG, "image/png"))
    )
    theirs = job_number(await flow.run("video text", prompt="their dog", duration=4, user=OTHER_MEMBER))
    own_video, their_video = await flow.video(own), await flow.video(theirs)

    assert "Only the video's owner or a moderator" in await flow.click(
        own_video, f"video:delete:{own}", user=OTHER_MEMBER
    )
    assert not flow.discord.messages[own_video.id].deleted
    assert "Deleted" in await flow.click(own_video, f"video:delete:{own}")
    assert flow.discord.messages[own_video.id].deleted
    await eventually(lambda: "*deleted*" in status_message(flow, own).text, what="deleted status")
    assert await input_count(flow, own) == 0
    assert f"**#{own}** · wan2.6-i2v · Done" in (listing := await flow.run("video jobs"))
    assert "· deleted" in listing

    assert "Deleted" in await flow.click(their_video, f"video:delete:{theirs}", user=HELPER)
    assert flow.discord.messages[their_video.id].deleted
    [action] = (await flow.bot.moderation.log(GUILD)).actions  # the owner's own deletion is not logged
    assert (action.action, action.actor_id, action.target_user_id, action.job_id) == (
        ModerationActionKind.DELETE_VIDEO,
        HELPER,
        OTHER_MEMBER,
        theirs,
    )
    await eventually(lambda: audit_lines(flow, f"deleted video #{theirs}"), what="the audit line")
    assert (
        f"<@{HELPER}> deleted video #{theirs} by <@{OTHER_MEMBER}>" in audit_lines(flow, "deleted video")[0]
    )


async def test_the_moderation_log_pages_newest_first_and_filters_by_member(flow: Flow) -> None:
    for i in range(11):
        await flow.bot.moderation.add_term(GUILD, f"word{i}", actor_id=MODERATOR)
    await flow.run("videobot block", user=MODERATOR, member=MEMBER, reason="spam", duration="1d")
    inter = await flow.discord.invoke_slash(
        guild_id=GUILD, channel_id=CHANNEL, user_id=MODERATOR, command="videobot moderation log"
    )
    first = await inter.wait_for_followup_or_edit(lambda m: "Page 1 of 2" in m.text)
    lines = first.text.splitlines()
    assert f"<@{MODERATOR}> blocked <@{MEMBER}> until <t:" in lines[1] and "“spam”" in lines[1]
    assert "blocked the term “word10”" in lines[2]
    older = await flow.discord.click_button(
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=MODERATOR,
        message_id=first.id,
        custom_id=first.custom_ids()[1],
    )
    await older.wait_for_response()
    await eventually(lambda: "Page 2 of 2" in flow.discord.messages[first.id].text, what="page two")
    assert "“word0”" in flow.discord.messages[first.id].text

    about = await flow.run("videobot moderation log", user=MODERATOR, member=MEMBER)
    assert f"<@{MEMBER}>: actions by or about them" in about
    assert "Page 1 of 1 · 1 actions" in about and "word" not in about


async def test_a_long_blocklist_is_clipped_and_attached_whole(flow: Flow) -> None:
    for i in range(120):
        await flow.bot.moderation.add_term(GUILD, f"a rather long blocked phrase {i:03}", actor_id=MODERATOR)
    inter = await flow.discord.invoke_slash(
        guild_id=GUILD, channel_id=CHANNEL, user_id=MODERATOR, command="videobot blocklist show"
    )
    answer = await inter.wait_for_followup_or_edit(lambda m: bool(m.embeds))
    assert "Blocked terms (120)" in answer.text
    more = re.search(r"… and (\d+) more", answer.text)
    assert more is not None
    assert answer.text.count("a rather long blocked phrase") + int(more.group(1)) == 120
    [listing] = answer.attachments
    assert listing.filename == "blocked-terms.txt"
    assert len(listing.data.decode().splitlines()) == 120
