"""Entries: wallet first, split refunds, and every rule refusing a named entry without charge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from storage.engine import SessionFactory
from storage.tables import LedgerEntry
from tests.videobot.campaigns.conftest import ANN, BEA, VEO, WAN, Clock, G, books_balance, halloween, make
from videobot.campaigns import (
    CampaignError,
    Campaigns,
)
from videobot.jobs import Jobs, NotEnoughCredits


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
    with pytest.raises(CampaignError, match=message):
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
