"""Campaign fixtures: real databases, a settable clock, a themed campaign and entries."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from storage.engine import SessionFactory
from storage.ledger import ledger_sum
from storage.tables import Account
from videobot.campaigns import (
    CampaignCloser,
    CampaignReports,
    Campaigns,
    CampaignSpec,
)
from videobot.catalog import VideoChoices, load_catalog, validate_choices
from videobot.jobs import JobRequest, Jobs
from videobot.rulebook import Rulebook

CATALOG = load_catalog()
G = 1
MOD, ANN, BEA = 9, 10, 11
NOW = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
WAN = validate_choices(CATALOG, VideoChoices(kind="text", prompt="a ghost", model_id="wan2.6-t2v"))  # 30
VEO = validate_choices(CATALOG, VideoChoices(kind="text", prompt="a ghost", duration=4))  # 40
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
def campaigns(sessions: SessionFactory, clock: Clock) -> Campaigns:
    return Campaigns(sessions, CATALOG, clock=clock)


@pytest.fixture
def jobs(sessions: SessionFactory, clock: Clock) -> Jobs:
    rulebook = Rulebook(sessions, CATALOG, default_starting_balance=100)
    return Jobs(sessions, CATALOG, rulebook, clock=clock)


@pytest.fixture
def reports(sessions: SessionFactory) -> CampaignReports:
    return CampaignReports(sessions)


@pytest.fixture
def closer(sessions: SessionFactory, reports: CampaignReports, clock: Clock) -> CampaignCloser:
    return CampaignCloser(sessions, reports, clock=clock)


async def halloween(campaigns: Campaigns, **overrides: object) -> None:
    spec = {
        "name": "Halloween",
        "ends": "7d",
        "credits_per_member": 60,
        "allowed_models": "wan2.6-t2v, wan2.6-i2v",
        "prompt_prefix": "spooky,",
        "prompt_suffix": "at night",
    }
    spec.update(overrides)
    await campaigns.create(G, actor_id=MOD, announce_channel_id=5, spec=CampaignSpec(**spec))  # type: ignore[arg-type]


def make(user: int, video: object = WAN, campaign: str | None = None) -> JobRequest:
    return JobRequest(
        interaction_id=next(_ids),
        guild_id=G,
        channel_id=2,
        user_id=user,
        video=video,  # type: ignore[arg-type]
        upload_limit=10 << 20,
        campaign=campaign,
    )


async def books_balance(sessions: SessionFactory) -> None:
    async with sessions() as session:
        for account in (await session.exec(select(Account))).all():
            assert account.id is not None
            assert account.balance == await ledger_sum(session, account_id=account.id) >= 0
