"""Fair use through discord.py: the cooldown says when, and nothing is downloaded for a video the
member cannot pay for."""

from __future__ import annotations

import re

import pytest

from tests.cogs.conftest import START, Flow
from tests.fakes.discord_payloads import FakeFile
from tests.member import MEMBER, MODERATOR, PNG, job_number


@pytest.mark.config(video_cooldown_seconds=30)
async def test_a_video_right_after_another_is_refused_with_the_time_it_may_start(flow: Flow) -> None:
    job_number(await flow.run("video text", prompt="a fox", duration=4))
    refused = await flow.run("video text", prompt="another fox", duration=4)
    assert re.search(r"you can make the next one <t:\d+:R>\.$", refused), refused
    assert await flow.balance() == START - 40


async def test_nothing_is_downloaded_for_a_video_the_member_cannot_pay_for(flow: Flow) -> None:
    await flow.run("credits set", user=MODERATOR, member=MEMBER, amount=0)
    refused = await flow.run("video image", prompt="it blinks", image=FakeFile("c.png", PNG, "image/png"))
    assert "costs 30 credits and you have 0" in refused
    assert flow.discord.requests_to("GET", r".*/attachments/.*") == []
    assert flow.modelslab.submits() == []
