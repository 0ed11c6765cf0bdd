"""Fair use, on both databases: videos in progress per member (a bot-wide default a server can
change), a cooldown between accepted videos, and the early check before any download."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from storage.engine import SessionFactory
from storage.states import AllowanceMode
from videobot.catalog import VideoChoices, load_catalog, validate_choices
from videobot.credits import Credits, Member
from videobot.jobs import CooldownActive, JobError, JobRequest, Jobs, NotEnoughCredits
from videobot.rulebook import Rulebook

CATALOG = load_catalog()
VIDEO = validate_choices(CATALOG, VideoChoices(kind="text", prompt="a fox", duration=4))  # 40 credits
_ids = itertools.count(1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def request(user_id: int = 5) -> JobRequest:
    return JobRequest(
        interaction_id=next(_ids), guild_id=1, channel_id=2, user_id=user_id, video=VIDEO, upload_limit=1
    )


async def test_a_second_video_within_the_cooldown_says_when(sessions: SessionFactory) -> None:
    clock = Clock()
    rulebook = Rulebook(sessions, CATALOG, default_starting_balance=1000)
    jobs = Jobs(sessions, CATALOG, rulebook, cooldown=timedelta(seconds=10), clock=clock)
    await jobs.create(request())
    clock.now += timedelta(seconds=4)
    with pytest.raises(CooldownActive) as refused:
        await jobs.create(request())
    assert refused.value.ready_at == datetime(2026, 11, 2, 12, 0, 10, tzinfo=UTC)
    await jobs.create(request(user_id=6))  # others are not held back
    clock.now += timedelta(seconds=6)
    await jobs.create(request())


async def test_a_refused_command_starts_no_cooldown(sessions: SessionFactory) -> None:
    clock = Clock()
    rulebook = Rulebook(sessions, CATALOG, default_starting_balance=10)
    jobs = Jobs(sessions, CATALOG, rulebook, cooldown=timedelta(seconds=10), clock=clock)
    with pytest.raises(NotEnoughCredits):
        await jobs.create(request())
    await Credits(sessions, rulebook, clock=clock).grant(Member(1, 5), 100, actor_id=9, reason=None)
    await jobs.create(request())  # at once: the refusal did not count


@pytest.mark.parametrize(("server", "allowed"), [(None, 3), (0, 6), (5, 5)])
async def test_the_bots_default_limit_unless_the_server_sets_one(
    sessions: SessionFactory, server: int | None, allowed: int
) -> None:
    rulebook = Rulebook(sessions, CATALOG, default_starting_balance=1000, default_member_jobs=3)
    if server is not None:
        await rulebook.update(1, actor_id=9, max_jobs_per_member=server)
    jobs = Jobs(sessions, CATALOG, rulebook)
    for _ in range(allowed):
        await jobs.create(request())
    if server != 0:
        with pytest.raises(JobError, match=f"allows {allowed} at a time"):
            await jobs.create(request())


async def test_the_early_check_refuses_what_the_charge_would_and_counts_allowance_and_campaigns(
    sessions: SessionFactory,
) -> None:
    clock = Clock()
    rulebook = Rulebook(sessions, CATALOG, default_starting_balance=10)
    jobs = Jobs(sessions, CATALOG, rulebook, cooldown=timedelta(seconds=10), clock=clock)
    with pytest.raises(NotEnoughCredits, match="costs 40 credits and you have 10"):
        await jobs.precheck(request())
    await rulebook.update(1, actor_id=9, allowance_mode=AllowanceMode.FLOOR, allowance_amount=50)
    await jobs.precheck(request())  # the allowance due today will pay for it
    await jobs.create(request())
    with pytest.raises(CooldownActive):
        await jobs.precheck(request())
