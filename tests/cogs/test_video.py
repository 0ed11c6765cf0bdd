"""``/video`` flows through real discord.py against the loopback fakes."""

from __future__ import annotations

import asyncio

import pytest

from tests.cogs.conftest import START, Flow
from tests.fakes.discord_payloads import FakeFile
from tests.member import (
    CHANNEL,
    GUILD,
    MEMBER,
    MODERATOR,
    OTHER_MEMBER,
    PNG,
    eventually,
    job_number,
)

ATTACH_FILES = 1 << 15


async def test_autocomplete_offers_only_what_the_chosen_model_supports(flow: Flow) -> None:
    async def choices(command: str, focused: str, **options: object) -> list[object]:
        answer = await flow.discord.invoke_autocomplete(
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=MEMBER,
            command=command,
            options={**options, focused: ""},  # the member has typed nothing yet
            focused=focused,
        )
        return [c["value"] for c in answer]

    assert await choices("video text", "duration", prompt="x") == [4, 6, 8]
    assert await choices("video text", "duration", prompt="x", model="wan2.6-t2v") == [5, 10]
    assert await choices("video text", "aspect_ratio", prompt="x", model="veo-3.1") == ["16:9", "9:16"]
    assert await choices("video image", "resolution", prompt="x", model="wan2.6-i2v") == ["720p", "1080p"]
    models = await choices("video text", "model", prompt="x")
    assert "veo-3.1-fast" in models
    assert "wan2.6-i2v" not in models


async def test_a_model_option_the_model_does_not_take_is_refused_by_name(flow: Flow) -> None:
    answer = await flow.run("video text", prompt="a dog", model="wan2.6-t2v", aspect_ratio="16:9")
    assert "wan2.6-t2v" in answer
    assert "aspect ratio" in answer
    answer = await flow.run(
        "video text", prompt="a dog", model="veo-3.1-fast", audio=FakeFile("a.mp3", b"ID3" + bytes(50))
    )
    assert "does not take an audio track" in answer
    assert flow.modelslab.submits() == []
    assert await flow.balance() == START


async def test_not_enough_credits_is_refused_without_charge(flow: Flow) -> None:
    for _ in range(2):
        await flow.run("video text", prompt="a dog", model="veo-3.1")  # 200 credits each
    answer = await flow.run("video text", prompt="a dog", model="veo-3.1")
    assert "costs 200 credits and you have 100" in answer
    assert await flow.balance() == 100


async def test_missing_bot_permission_is_refused_before_charging(flow: Flow) -> None:
    # Everything a bot usually has but Attach Files (and Administrator, which implies it).
    everything_but_attach = 0x7FFFFFFFF & ~ATTACH_FILES & ~(1 << 3)
    flow.discord.add_member(GUILD, flow.discord.bot_user_id, "VideoBot", permissions=everything_but_attach)
    await asyncio.sleep(0.2)
    answer = await flow.run("video text", prompt="a dog")
    assert "Attach Files" in answer
    assert "Nothing was charged" in answer
    assert await flow.balance() == START


@pytest.mark.config(max_jobs_in_flight=1)
async def test_jobs_lists_and_cancel_refunds_a_waiting_job(flow: Flow) -> None:
    flow.modelslab.render_seconds = 5  # the first job holds the one provider slot
    first = job_number(await flow.run("video text", prompt="first", duration=4))
    await eventually(lambda: len(flow.modelslab.submits()) == 1, what="the first job at the provider")
    second = job_number(await flow.run("video text", prompt="second", duration=4))
    assert await flow.balance() == START - 80

    listing = await flow.run("video jobs")
    assert f"#{first}" in listing and f"#{second}" in listing

    answer = await flow.run("video cancel", job=second)
    assert f"Video #{second} cancelled" in answer
    assert await flow.balance() == START - 40
    answer = await flow.run("video cancel", job=first)
    assert "can no longer be cancelled" in answer
    answer = await flow.run("video cancel", job=first, user=OTHER_MEMBER)
    assert f"no job #{first}" in answer
    status = next(
        m for m in flow.discord.messages_in(CHANNEL, include_ephemeral=False) if f"Video #{second}" in m.text
    )
    await eventually(lambda: "Cancelled" in status.text, what="the cancelled status")


async def test_a_job_cancelled_before_its_status_message_exists_still_shows_cancelled(flow: Flow) -> None:
    # The answer goes first; Discord is slow to post the status message, and the member cancels
    # meanwhile: the status message, once there, must not be left saying the video is coming.
    flow.discord.delay_next("POST", rf"/channels/{CHANNEL}/messages", 1.0)
    job = job_number(await flow.run("video text", prompt="a fox", duration=4))
    assert f"Video #{job} cancelled" in await flow.run("video cancel", job=job)

    await eventually(lambda: "Cancelled" in flow.status_text(job), what="the cancelled status")
    assert await flow.balance() == START
    assert flow.modelslab.submits() == []


async def test_reroll_and_delete_are_for_the_owner_or_a_moderator(flow: Flow) -> None:
    job = job_number(
        await flow.run("video image", prompt="it blinks", image=FakeFile("c.png", PNG, "image/png"))
    )
    video = await flow.video(job)

    # Someone else's uploads are not theirs to render again (or to enter in their campaign).
    refused = await flow.click(video, f"video:reroll:{job}", user=OTHER_MEMBER)
    assert "Only the video's owner (or a moderator) can re-roll it" in refused
    assert await flow.balance(OTHER_MEMBER) == START
    answer = await flow.click(video, f"video:reroll:{job}", user=MEMBER)
    reroll = job_number(answer)
    rerolled = await flow.video(reroll)
    assert rerolled.channel_id == video.channel_id  # in the same thread
    assert await flow.balance(MEMBER) == START - 60
    by_moderator = job_number(await flow.click(video, f"video:reroll:{job}", user=MODERATOR))
    await flow.video(by_moderator)
    assert await flow.balance(MODERATOR) == START - 30  # charged to whoever clicked
    image_submits = [s for s in flow.modelslab.submits() if s.path.endswith("image-to-video")]
    assert len(image_submits) == 3  # the same image went again

    refused = await flow.click(video, f"video:delete:{job}", user=OTHER_MEMBER)
    assert "Only the video's owner or a moderator" in refused
    assert not flow.discord.messages[video.id].deleted
    assert "Deleted" in await flow.click(rerolled, f"video:delete:{reroll}", user=MODERATOR)
    assert flow.discord.messages[rerolled.id].deleted
    assert "Deleted" in await flow.click(video, f"video:delete:{job}", user=MEMBER)


async def test_delivery_uses_the_bot_token_after_the_interaction_token_expired(flow: Flow) -> None:
    flow.discord.token_lifetime = 1.0
    flow.modelslab.render_seconds = 2.5
    job = job_number(await flow.run("video text", prompt="slow clouds", duration=4))
    video = await flow.video(job, timeout=30)
    assert video.attachments
    assert video.webhook_id is None  # posted as the bot, not through the interaction webhook


async def test_video_over_the_upload_limit_is_posted_as_an_expiring_link(flow: Flow) -> None:
    flow.modelslab.use_large_video(11 * 1024 * 1024)  # over the 10 MiB of an unboosted server
    job = job_number(await flow.run("video text", prompt="a big wave", duration=4))
    link = await flow.discord.wait_for_message(lambda m: f"video #{job} is ready" in m.content, 30)
    assert not link.attachments
    assert flow.modelslab.server_url in link.content
    assert "stops working <t:" in link.content


async def test_in_a_thread_the_job_stays_in_that_thread(flow: Flow) -> None:
    thread = 800_000_000_000_000_077
    flow.discord.add_thread(CHANNEL, thread, "my thread")
    await asyncio.sleep(0.2)
    job = job_number(await flow.run("video text", prompt="a lamp", duration=4, where=thread))
    video = await flow.video(job)
    assert video.channel_id == thread
    assert thread not in [t.parent_id for t in flow.discord.threads.values()]


async def test_archived_thread_is_reopened_for_delivery(flow: Flow) -> None:
    flow.modelslab.render_seconds = 1.5
    job = job_number(await flow.run("video text", prompt="a quiet lake", duration=4))
    await eventually(lambda: bool(flow.discord.threads), what="the job's thread")
    [thread_id] = list(flow.discord.threads)
    flow.discord.archive_thread(thread_id, locked=False)
    video = await flow.video(job)
    assert video.channel_id == thread_id


async def test_moderator_can_see_another_members_balance_and_members_cannot(flow: Flow) -> None:
    assert "has **500** credits" in await flow.run("credits balance", user=MODERATOR, member=MEMBER)
    refused = await flow.run("credits balance", user=OTHER_MEMBER, member=MEMBER)
    assert "Only moderators" in refused
