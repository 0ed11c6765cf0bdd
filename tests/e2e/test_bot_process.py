"""``python bot.py`` as a real process, against loopback fakes of Discord and ModelsLab."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import START_BALANCE, World, make_world
from tests.fakes.discord_payloads import FakeFile
from tests.member import CHANNEL, MEMBER, MP3, PNG, eventually, job_number

pytestmark = pytest.mark.e2e


async def test_text_and_image_videos_arrive_in_threads_and_are_charged(world: World) -> None:
    await world.start_bot()

    text_answer = await world.run("video text", prompt="a red fox running through snow", duration=4)
    text_job = job_number(text_answer)
    assert "40 credits charged" in text_answer  # veo-3.1-fast, 4 s

    image_answer = await world.run(
        "video image",
        prompt="the cat starts dancing",
        image=FakeFile("cat.png", PNG, "image/png"),
        audio=FakeFile("beat.mp3", MP3, "audio/mpeg"),
    )
    image_job = job_number(image_answer)
    assert "30 credits charged" in image_answer  # wan2.6-i2v, 5 s at 720p

    for job_id in (text_job, image_job):
        video = await world.video(job_id)
        thread = world.discord.threads[video.channel_id]
        assert thread.parent_id == CHANNEL
        assert video.content.startswith(f"<@{MEMBER}>")
        assert MEMBER in video.mentions
        [attachment] = video.attachments
        assert attachment.filename.endswith(".mp4")
        assert attachment.data == world.modelslab.video_bytes
        assert video.custom_ids() == [
            f"video:reroll:{job_id}",
            f"video:delete:{job_id}",
            f"video:report:{job_id}",
        ]
        status = world.discord.messages[thread.id]  # the thread was opened from the status message
        assert f"Video #{job_id}" in status.text
        await eventually(lambda s=status: "Done" in s.text, what="the status message to say Done")  # type: ignore[misc]
        # A job that starts at once is posted as rendering, with the time it is expected, and edited
        # once more, when it is done: only what a member can see (the thread stamps a version too).
        states = [v.embeds[0]["title"].split(" · ")[1] for v in status.history if v.embeds]
        assert set(states) == {"Rendering"}
        first = status.history[0].embeds[0]
        assert [f["name"] for f in first["fields"]][-2:] == ["Started", "Expected to be ready"]
        edits = world.discord.requests_to("PATCH", rf"/channels/\d+/messages/{status.id}")
        assert len(edits) == 1, [e.path for e in edits]

    image_submit = next(s for s in world.modelslab.submits() if s.path.endswith("image-to-video"))
    assert {f.field for f in world.modelslab.input_fetches if f.ok} == {"init_image", "init_audio"}
    assert (image_submit.json or {})["init_image"].startswith(world.modelslab.server_url)
    assert await world.balance() == START_BALANCE - 40 - 30
    world.assert_no_secrets_in_logs()


async def test_provider_failure_refunds_and_says_why_in_the_thread(world: World) -> None:
    await world.start_bot()
    world.modelslab.fail_next_fetch("failed", message="Processing failed: upstream model crashed")

    job_id = job_number(await world.run("video text", prompt="a storm over the sea", duration=4))
    note = await world.discord.wait_for_message(
        lambda m: f"video #{job_id} did not work out" in m.content, 60
    )
    assert "credits are back" in note.content
    assert note.channel_id in world.discord.threads
    assert world.videos(job_id) == []
    assert await world.balance() == START_BALANCE
    world.assert_no_secrets_in_logs()


async def test_bad_input_is_refused_without_charge_or_provider_call(world: World) -> None:
    await world.start_bot()
    answer = await world.run("video text", prompt="a dog", duration=5)
    assert "4, 6 or 8" in answer
    answer = await world.run(
        "video image", prompt="dance", image=FakeFile("notes.txt", b"hello", "image/png")
    )
    assert "PNG, JPEG or WebP" in answer or "WebP" in answer
    assert world.modelslab.submits() == []
    assert await world.balance() == START_BALANCE


@pytest.fixture
async def any_db_world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    """Like `world`, on SQLite and on PostgreSQL (an empty database the bot migrates itself)."""
    async for w in make_world(tmp_path, db_url):
        yield w


async def test_sigkill_while_rendering_then_restart_delivers_exactly_once(any_db_world: World) -> None:
    world = any_db_world
    world.modelslab.render_seconds = 4
    first = await world.start_bot()
    job_id = job_number(await world.run("video text", prompt="a paper boat in the rain", duration=4))
    await eventually(lambda: len(world.modelslab.submits()) == 1, what="the submit")
    await eventually(lambda: len(world.modelslab.fetches()) >= 1, what="the first poll")

    first.kill()
    await world.start_bot()

    video = await world.video(job_id, timeout=60)
    assert video.attachments[0].data == world.modelslab.video_bytes
    await eventually(lambda: not world.modelslab.active_jobs(), what="the provider to be idle")
    assert len(world.modelslab.submits()) == 1, "the paid submit was sent again"
    assert len(world.videos(job_id)) == 1
    assert await world.balance() == START_BALANCE - 40
    world.assert_no_secrets_in_logs()


async def test_two_processes_share_the_queue_and_never_run_a_job_twice(any_db_world: World) -> None:
    """Two bot processes on one database: the provider limit holds across them, every job is
    delivered once, and when one dies the other finishes its jobs."""
    world = any_db_world
    world.modelslab.render_seconds = 2
    limit = {"MAX_JOBS_IN_FLIGHT": "2"}
    first = await world.start_bot(**limit)
    await world.start_bot(**limit)  # interactions now reach the second; both runners claim
    jobs = [job_number(await world.run("video text", prompt=f"scene {i}", duration=4)) for i in range(6)]

    peak = 0

    def provider_idle() -> bool:
        nonlocal peak
        peak = max(peak, len(world.modelslab.active_jobs()))
        return len(world.modelslab.submits()) == 6 and not world.modelslab.active_jobs()

    await eventually(lambda: len(world.modelslab.submits()) >= 3, timeout=60, what="three submits")
    first.kill()
    await eventually(provider_idle, timeout=90, what="all six jobs to render")
    for job_id in jobs:
        await world.video(job_id, timeout=60)
    await eventually(lambda: all(len(world.videos(j)) == 1 for j in jobs), what="one video per job")
    assert peak <= 2
    assert len(world.modelslab.submits()) == 6
    assert await world.balance() == START_BALANCE - 6 * 40
