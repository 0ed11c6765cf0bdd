"""Delivery through discord.py when Discord refuses or fails: the thread gone or locked, a failed
upload, rate-limited status edits, and nowhere left to post."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.cogs.conftest import START, Flow
from tests.member import CHANNEL, MEMBER, eventually, job_number, with_thread


async def accepted_in_thread(flow: Flow, prompt: str) -> tuple[int, int]:
    """Start a slow video; its job number and thread id."""
    flow.modelslab.render_seconds = 1.5
    answer = await flow.run("video text", prompt=prompt, duration=4, until=with_thread)
    thread = re.search(r"<#(\d+)>", answer)
    assert thread, answer
    return job_number(answer), int(thread.group(1))


async def test_a_deleted_thread_sends_the_video_to_the_channel_with_the_mention(flow: Flow) -> None:
    job, thread = await accepted_in_thread(flow, "a fox")
    flow.discord.channels[thread].deleted = True
    video = await flow.video(job)
    assert video.channel_id == CHANNEL
    assert MEMBER in video.mentions


async def test_a_locked_archived_thread_sends_the_video_to_the_channel(flow: Flow) -> None:
    job, thread = await accepted_in_thread(flow, "a fox")
    flow.discord.archive_thread(thread, locked=True)  # the bot may not unarchive it
    video = await flow.video(job)
    assert video.channel_id == CHANNEL
    assert len(flow.videos(job)) == 1


async def test_a_failed_upload_is_retried_and_posted_once(flow: Flow) -> None:
    job, thread = await accepted_in_thread(flow, "a fox")
    flow.discord.inject_failure(
        "POST", rf"/channels/{thread}/messages", status=503, body={"message": "upstream"}, times=1
    )
    video = await flow.video(job)
    assert video.channel_id == thread
    await asyncio.sleep(0.5)
    assert len(flow.videos(job)) == 1


async def test_rate_limited_status_edits_never_hold_up_the_video_and_the_end_is_shown(flow: Flow) -> None:
    started = asyncio.get_running_loop().time()
    job, thread = await accepted_in_thread(flow, "a fox")  # renders for 1.5 s
    # discord.py waits out and retries five 429s per call: twelve make two edits fail after 2.5 s
    # each, so edits made in line with the job would hold the video back by at least 5 s.
    flow.discord.inject_rate_limit("PATCH", r"/channels/\d+/messages/\d+", retry_after=0.5, times=12)
    await flow.video(job)
    assert asyncio.get_running_loop().time() - started < 4.5
    status = flow.discord.messages[thread]  # the thread was opened from the status message
    await eventually(lambda: "Done" in status.text, timeout=20, what="the final state on the status message")


@pytest.mark.config(poll_max_seconds=0.2)
async def test_with_nowhere_to_post_the_job_is_refunded_and_the_owner_told_directly(flow: Flow) -> None:
    job, thread = await accepted_in_thread(flow, "a fox")
    flow.discord.channels[thread].deleted = True
    flow.discord.channels[CHANNEL].deleted = True
    await eventually(lambda: flow.discord.dm_channel_id(MEMBER) is not None, timeout=30, what="a DM")
    dm = flow.discord.dm_channel_id(MEMBER)
    assert dm is not None
    await eventually(lambda: bool(flow.discord.messages_in(dm)), what="the note in the DM")
    [note] = flow.discord.messages_in(dm)
    assert f"video #{job} did not work out" in note.content
    assert "credits are back" in note.content
    flow.discord.channels[CHANNEL].deleted = False  # so the member can ask for the balance
    assert await flow.balance() == START
