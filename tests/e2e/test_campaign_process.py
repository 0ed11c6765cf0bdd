"""A whole campaign end to end: ``python bot.py`` as a process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage.types import utcnow
from tests.e2e.conftest import World, make_world
from tests.fakes.discord_payloads import FakeMessage
from tests.member import CHANNEL, GUILD, MEMBER, MODERATOR, OTHER_MEMBER, eventually, job_number

pytestmark = pytest.mark.e2e

GALLERY = 800_000_000_000_000_070


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    async for w in make_world(tmp_path, db_url):
        w.discord.add_text_channel(GUILD, GALLERY, "gallery")
        yield w


def gallery_entry(world: World, job_id: int) -> FakeMessage | None:
    return next((m for m in world.discord.messages_in(GALLERY) if f"entry #{job_id} " in m.content), None)


def vote_label(message: FakeMessage) -> str:
    return str(message.components[0]["components"][0]["label"])


async def test_a_whole_campaign_with_several_members(world: World) -> None:
    await world.start_bot(STARTING_BALANCE="100", CAMPAIGN_CHECK_SECONDS="0.5")
    ends = (utcnow() + timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    created = await world.run(
        "campaign create",
        user=MODERATOR,
        name="Halloween",
        end=ends,
        credits=40,
        models="wan2.6-t2v",
        prefix="spooky",
        gallery=GALLERY,
        entries=3,
        budget=90,
    )
    assert "Campaign **Halloween** created" in created and "<t:" in created
    refused = await world.run("campaign create", user=OTHER_MEMBER, name="Mine", end="1d", credits=1000)
    assert "Only moderators" in refused

    # Rule: join before entering; joining gives the credits once.
    not_joined = await world.run("video text", prompt="a ghost", model="wan2.6-t2v", campaign="Halloween")
    assert "Join “Halloween” first" in not_joined
    assert "got 40 campaign credits" in await world.run("campaign join")
    assert "already joined" in await world.run("campaign join", name="halloween")
    assert "got 40 campaign credits" in await world.run("campaign join", user=OTHER_MEMBER)

    # Campaign credits first, then own credits.
    first = await world.run("video text", prompt="a ghost", model="wan2.6-t2v")
    assert "30 campaign credits and 0 of yours" in first
    second = await world.run("video text", prompt="a bat", model="wan2.6-t2v")
    assert "10 campaign credits and 20 of yours" in second
    third = await world.run("video text", prompt="a witch", model="wan2.6-t2v", campaign="Halloween")
    assert "0 campaign credits and 30 of yours" in third
    entries = [job_number(a) for a in (first, second, third)]

    # Rules: model not allowed, entries per member, budget (3 × 30 = 90 spent).
    wrong_model = await world.run("video text", prompt="a ghost", campaign="Halloween")
    assert "takes videos from wan2.6-t2v only" in wrong_model
    too_many = await world.run("video text", prompt="a fourth", model="wan2.6-t2v", campaign="Halloween")
    assert "all 3 entries" in too_many
    over_budget = await world.run(
        "video text", prompt="a cat", model="wan2.6-t2v", campaign="Halloween", user=OTHER_MEMBER
    )
    assert "0 credits of its budget left" in over_budget
    assert await world.balance() == 100 - 50
    assert await world.balance(OTHER_MEMBER) == 100
    assert "40 campaign credits left, 0 entries" in await world.run("campaign list", user=OTHER_MEMBER)

    # Entries reach the gallery with the theme; votes toggle, one per member, not one's own.
    for job_id in entries:
        await world.video(job_id)
    await eventually(lambda: all(gallery_entry(world, j) for j in entries), what="the gallery posts")
    post = gallery_entry(world, entries[0])
    assert post is not None and "spooky a ghost" in post.content
    assert "Your vote counts" in await world.click(post, f"campaign:vote:{entries[0]}", user=OTHER_MEMBER)
    assert "Your vote counts" in await world.click(post, f"campaign:vote:{entries[0]}", user=MODERATOR)
    assert "own entry" in await world.click(post, f"campaign:vote:{entries[0]}", user=MEMBER)
    assert vote_label(world.discord.messages[post.id]) == "Vote · 2"
    assert "taken back" in await world.click(post, f"campaign:vote:{entries[0]}", user=MODERATOR)
    assert vote_label(world.discord.messages[post.id]) == "Vote · 1"

    report = await world.run("campaign report", user=MODERATOR)
    assert "Participants\n2" in report and "Entries\n3" in report and "Credits spent\n90" in report

    # The automatic end: summary in the gallery, wallets void, no more entries.
    summary = await world.discord.wait_for_message(
        lambda m: m.channel_id == GALLERY and "**Halloween** has ended" in m.content, timeout=60
    )
    assert "Participants\n2" in summary.text and "Credits spent\n90" in summary.text
    assert f"1. #{entries[0]} by <@{MEMBER}> · 1 vote" in summary.text
    ended = await world.run("video text", prompt="late", model="wan2.6-t2v", campaign="Halloween")
    assert "has ended" in ended
    assert "0 campaign credits left" in await world.run("campaign list", user=OTHER_MEMBER)

    inter = await world.discord.invoke_slash(
        guild_id=GUILD, channel_id=CHANNEL, user_id=MODERATOR, command="campaign report", options={}
    )
    answer = await inter.wait_for_followup_or_edit(lambda m: bool(m.attachments), timeout=30)
    rows = list(csv.DictReader(io.StringIO(answer.attachments[0].data.decode())))
    assert [int(r["job"]) for r in rows] == entries
    assert [r["votes"] for r in rows] == ["1", "0", "0"]
    await asyncio.sleep(1)
    summaries = [m for m in world.discord.messages_in(GALLERY) if "has ended" in m.content]
    assert len(summaries) == 1
    world.assert_no_secrets_in_logs()


async def test_a_campaign_that_ends_while_the_bot_is_down_is_closed_at_restart(world: World) -> None:
    first = await world.start_bot(CAMPAIGN_CHECK_SECONDS="0.5")
    ends = (utcnow() + timedelta(seconds=6)).strftime("%Y-%m-%d %H:%M:%S")
    await world.run("campaign create", user=MODERATOR, name="Flash", end=ends, credits=10, gallery=GALLERY)
    assert "got 10 campaign credits" in await world.run("campaign join")
    first.kill()
    await asyncio.sleep(7)  # the end passes while no process runs
    await world.start_bot(CAMPAIGN_CHECK_SECONDS="0.5")
    summary = await world.discord.wait_for_message(lambda m: "**Flash** has ended" in m.content, timeout=30)
    assert summary.channel_id == GALLERY
    assert "Participants\n1" in summary.text
    assert "ended <t:" in await world.run("campaign list")
