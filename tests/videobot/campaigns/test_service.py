"""Creating, joining and voting, on both databases with a settable clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.videobot.campaigns.conftest import ANN, BEA, MOD, Clock, G, halloween, make
from videobot.campaigns import (
    CampaignError,
    Campaigns,
    CampaignStatus,
    VoteResult,
)
from videobot.jobs import Jobs


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends": "2020-01-01"}, "already in the past|end after it starts"),
        ({"starts": "2d", "ends": "2026-10-26"}, "end after it starts"),
        ({"allowed_models": "wan9"}, "wan9"),
        ({"credits_per_member": -1}, "between 0 and 1,000,000,000"),
        ({"credits_per_member": 1_000_000_001}, "between 0 and 1,000,000,000"),
        ({"budget": 0}, "budget must be between 1 and 1,000,000,000"),
        ({"max_entries_per_member": 1001}, "entries per member must be between 1 and 1,000"),
        ({"name": "  "}, "needs a name"),
    ],
)
async def test_create_refuses_bad_campaigns(
    campaigns: Campaigns, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(CampaignError, match=message) as refused:
        await halloween(campaigns, **overrides)
    assert str(refused.value).endswith("Nothing was created.")


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
