"""Campaigns on real databases with a settable clock: windows, wallets, entry rules, votes, closing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from storage.engine import SessionFactory
from storage.ledger import ledger_sum
from storage.tables import Account, LedgerEntry
from videobot.campaigns import (
    CampaignError,
    Campaigns,
    CampaignSpec,
    CampaignStatus,
    VoteResult,
    parse_when,
    status_of,
)
from videobot.catalog import VideoChoices, load_catalog, validate_choices
from videobot.jobs import JobError, JobRequest, Jobs, NotEnoughCredits
from videobot.server_settings import ServerSettings

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
def jobs(sessions: SessionFactory, campaigns: Campaigns, clock: Clock) -> Jobs:
    settings = ServerSettings(sessions, CATALOG, default_starting_balance=100)
    return Jobs(sessions, CATALOG, settings, campaigns=campaigns, clock=clock)


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW + timedelta(hours=2)),
        ("7d", NOW + timedelta(days=7)),
        ("1d12h", NOW + timedelta(days=1, hours=12)),
        ("90m", NOW + timedelta(minutes=90)),
        ("1w", NOW + timedelta(weeks=1)),
        ("now", NOW),
        ("2026-10-31 18:00", datetime(2026, 10, 31, 18, 0, tzinfo=UTC)),
        ("2026-10-31", datetime(2026, 10, 31, tzinfo=UTC)),
        ("2026-10-31T20:00+02:00", datetime(2026, 10, 31, 18, 0, tzinfo=UTC)),
    ],
)
def test_times_relative_and_absolute(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected


def test_unreadable_time_says_what_works() -> None:
    with pytest.raises(CampaignError, match="relative time like `2h`"):
        parse_when("next tuesday", NOW)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends": "2020-01-01"}, "already in the past|end after it starts"),
        ({"starts": "2d", "ends": "2026-10-26"}, "end after it starts"),
        ({"allowed_models": "wan9"}, "wan9"),
        ({"credits_per_member": -1}, "cannot be negative"),
        ({"budget": 0}, "budget must be at least 1"),
        ({"name": "  "}, "needs a name"),
    ],
)
async def test_create_refuses_bad_campaigns(
    campaigns: Campaigns, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(CampaignError, match=message):
        await halloween(campaigns, **overrides)


async def test_names_are_unique_per_server_ignoring_case(campaigns: Campaigns) -> None:
    await halloween(campaigns)
    with pytest.raises(CampaignError, match="already has a campaign"):
        await halloween(campaigns, name="HALLOWEEN")


async def test_join_gives_credits_once_and_only_while_running(campaigns: Campaigns, clock: Clock) -> None:
    await halloween(campaigns, starts="1h")
    with pytest.raises(CampaignError, match="has not started yet"):
        await campaigns.join(G, ANN, "Halloween")
    clock.now += timedelta(hours=2)
    first = await campaigns.join(G, ANN, None)  # the one running campaign
    again = await campaigns.join(G, ANN, "halloween")
    assert (first.credits, first.already_joined) == (60, False)
    assert (again.credits, again.already_joined) == (0, True)
    [view] = await campaigns.overview(G, ANN)
    assert (view.status, view.wallet, view.entries) == (CampaignStatus.RUNNING, 60, 0)


async def test_entries_spend_campaign_credits_first_then_own(
    campaigns: Campaigns, jobs: Jobs, sessions: SessionFactory
) -> None:
    await halloween(campaigns)
    await campaigns.join(G, ANN, None)
    first = await jobs.create(make(ANN))  # 30 from the wallet of 60
    second = await jobs.create(make(ANN))  # 30 more: wallet empty
    third = await jobs.create(make(ANN, campaign="Halloween"))  # own credits, still an entry
    assert (first.from_campaign, second.from_campaign, third.from_campaign) == (30, 30, 0)
    assert first.job.campaign_id == third.job.campaign_id is not None
    assert first.job.prompt == "spooky, a ghost at night"
    assert third.balance_after == 70
    plain = await jobs.create(make(ANN, video=VEO))  # veo is not allowed: an ordinary job
    assert plain.job.campaign_id is None
    assert plain.job.prompt == "a ghost"
    await books_balance(sessions)


async def test_a_split_payment_is_refunded_to_both_wallets(
    campaigns: Campaigns, jobs: Jobs, sessions: SessionFactory
) -> None:
    await halloween(campaigns, credits_per_member=10)
    await campaigns.join(G, ANN, None)
    created = await jobs.create(make(ANN))  # 10 campaign + 20 own
    assert created.from_campaign == 10
    assert created.job.id is not None
    await jobs.cancel(created.job.id, guild_id=G, user_id=ANN)
    [view] = await campaigns.overview(G, ANN)
    assert view.wallet == 10
    async with sessions() as session:
        refunds = (await session.exec(select(LedgerEntry).where(LedgerEntry.kind == "refund"))).all()
    assert sorted(e.amount for e in refunds) == [10, 20]


@pytest.mark.parametrize(
    ("setup", "request_video", "message"),
    [
        ({}, VEO, "takes videos from wan2.6-i2v, wan2.6-t2v only"),
        ({"max_entries_per_member": 1, "_entries": 1}, WAN, "all 1 entries"),
        ({"budget": 50, "_entries": 1}, WAN, "has 20 credits of its budget left"),
        ({"_not_joined": True}, WAN, "Join “Halloween” first"),
        ({"_after_end": True}, WAN, "has ended"),
    ],
)
async def test_each_rule_refuses_a_named_entry_without_charge(
    campaigns: Campaigns,
    jobs: Jobs,
    clock: Clock,
    sessions: SessionFactory,
    setup: dict[str, object],
    request_video: object,
    message: str,
) -> None:
    options = {k: v for k, v in setup.items() if not k.startswith("_")}
    await halloween(campaigns, **options)
    if not setup.get("_not_joined"):
        await campaigns.join(G, ANN, None)
    for _ in range(int(setup.get("_entries", 0))):  # type: ignore[call-overload]
        await jobs.create(make(ANN))
    if setup.get("_after_end"):
        clock.now += timedelta(days=8)
    async with sessions() as session:
        before = (await session.exec(select(LedgerEntry))).all()
    with pytest.raises(JobError, match=message):
        await jobs.create(make(ANN, video=request_video, campaign="Halloween"))
    async with sessions() as session:
        assert len((await session.exec(select(LedgerEntry))).all()) == len(before)


async def test_not_enough_credits_counts_both_wallets(campaigns: Campaigns, jobs: Jobs) -> None:
    await halloween(campaigns, credits_per_member=20, allowed_models=None)
    await campaigns.join(G, BEA, None)
    await jobs.create(make(BEA, video=VEO))  # 20 + 20: own 80 left
    await jobs.create(make(BEA, video=VEO))
    await jobs.create(make(BEA, video=VEO))  # own 0 left
    with pytest.raises(NotEnoughCredits, match="costs 40 credits and you have 0"):
        await jobs.create(make(BEA, video=VEO))


async def test_votes_toggle_once_per_member_and_never_for_oneself(campaigns: Campaigns, jobs: Jobs) -> None:
    await halloween(campaigns)
    await campaigns.join(G, ANN, None)
    entry = (await jobs.create(make(ANN))).job
    assert entry.id is not None
    with pytest.raises(CampaignError, match="your own entry"):
        await campaigns.vote(entry.id, ANN)
    assert await campaigns.vote(entry.id, BEA) == VoteResult(1, True)
    assert await campaigns.vote(entry.id, MOD) == VoteResult(2, True)
    assert await campaigns.vote(entry.id, BEA) == VoteResult(1, False)  # second press takes it back
    assert await campaigns.votes(entry.id) == 1


async def test_closing_voids_wallets_once_and_reports(
    campaigns: Campaigns, jobs: Jobs, clock: Clock, sessions: SessionFactory
) -> None:
    await halloween(campaigns)
    await campaigns.join(G, ANN, None)
    await campaigns.join(G, BEA, None)
    entry = (await jobs.create(make(ANN))).job
    assert entry.id is not None
    assert await campaigns.close_due() == []  # still running
    clock.now += timedelta(days=7)
    [(campaign, report)] = await campaigns.close_due()
    assert status_of(campaign, clock.now) is CampaignStatus.ENDED
    assert (report.participants, report.entries, report.credits_spent) == (2, 1, 30)
    assert campaign.id is not None
    [again] = await campaigns.close_due()  # summary not posted yet: offered again, wallets untouched
    assert again[0].id == campaign.id
    await campaigns.summary_posted(campaign.id, 4242)
    assert await campaigns.close_due() == []
    views = {v.campaign.id: v for v in await campaigns.overview(G, BEA)}
    assert views[campaign.id].wallet == 0
    async with sessions() as session:
        expired = (await session.exec(select(LedgerEntry).where(LedgerEntry.kind == "expire"))).all()
    assert sorted(e.amount for e in expired) == [-60, -30]
    with pytest.raises(CampaignError, match="Voting in “Halloween” has closed"):
        await campaigns.vote(entry.id, BEA)
    csv_text = await campaigns.entries_csv(campaign)
    assert csv_text.splitlines()[0].startswith("job,member,state")
    assert "spooky, a ghost at night" in csv_text
    await books_balance(sessions)


async def test_ending_early_closes_at_the_next_check(campaigns: Campaigns, clock: Clock) -> None:
    await halloween(campaigns)
    await campaigns.end_now(G, "Halloween", actor_id=MOD)
    [(campaign, _)] = await campaigns.close_due()
    assert campaign.closed_at == clock.now
    with pytest.raises(CampaignError, match="has already ended"):
        await campaigns.end_now(G, "Halloween", actor_id=MOD)
