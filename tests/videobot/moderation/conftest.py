"""Moderation fixtures: real databases, a settable clock, the services and a job book that uses them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from storage.engine import SessionFactory
from storage.ledger import balance_of
from storage.tables import ModerationAction
from videobot.catalog import VideoChoices, load_catalog, validate_choices
from videobot.jobs import JobRequest, Jobs
from videobot.moderation import Moderation, Reports
from videobot.rulebook import Rulebook

CATALOG = load_catalog()
G = 1
MOD, ANN, BEA = 9, 10, 11
NOW = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
START = 100
_ids = itertools.count(1)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def moderation(sessions: SessionFactory, clock: Clock) -> Moderation:
    return Moderation(sessions, clock=clock)


@pytest.fixture
def reports(sessions: SessionFactory, clock: Clock) -> Reports:
    return Reports(sessions, clock=clock)


@pytest.fixture
def jobs(sessions: SessionFactory, clock: Clock) -> Jobs:
    rulebook = Rulebook(sessions, CATALOG, default_starting_balance=START)
    return Jobs(sessions, CATALOG, rulebook, clock=clock)


def make(user: int, prompt: str = "a fox", **choices: object) -> JobRequest:
    video = validate_choices(CATALOG, VideoChoices(kind="text", prompt=prompt, duration=4, **choices))  # type: ignore[arg-type]
    return JobRequest(
        interaction_id=next(_ids), guild_id=G, channel_id=2, user_id=user, video=video, upload_limit=10 << 20
    )


async def balance(sessions: SessionFactory, user: int) -> int | None:
    async with sessions() as session:
        return await balance_of(session, guild_id=G, user_id=user)


async def logged(sessions: SessionFactory) -> list[ModerationAction]:
    async with sessions() as session:
        return list((await session.exec(select(ModerationAction).order_by(ModerationAction.id))).all())  # type: ignore[arg-type]
