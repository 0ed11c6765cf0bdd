"""Closing once (wallets voided), reports, the CSV, and ending early."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from storage.engine import SessionFactory
from storage.tables import LedgerEntry
from tests.videobot.campaigns.conftest import ANN, BEA, MOD, WAN, Clock, G, books_balance, halloween, make
from videobot.campaigns import (
    CampaignCloser,
    CampaignError,
    CampaignReports,
    Campaigns,
    CampaignStatus,
    status_of,
)
from videobot.campaigns.closing import spreadsheet_safe
from videobot.jobs import Jobs


async def test_closing_voids_wallets_once_and_reports(
    campaigns: Campaigns,
    jobs: Jobs,
    closer: CampaignCloser,
    reports: CampaignReports,
    clock: Clock,
    sessions: SessionFactory,
) -> None:
    await halloween(campaigns)
    await campaigns.join(G, ANN, None)
    await campaigns.join(G, BEA, None)
    entry = (await jobs.create(make(ANN))).job
    assert entry.id is not None
    assert await closer.close_due() == []  # still running
    clock.now += timedelta(days=7)
    [(campaign, report)] = await closer.close_due()
    assert status_of(campaign, clock.now) is CampaignStatus.ENDED
    assert (report.participants, report.entries, report.credits_spent) == (2, 1, 30)
    assert campaign.id is not None
    [again] = await closer.close_due()  # summary not posted yet: offered again, wallets untouched
    assert again[0].id == campaign.id
    await closer.summary_posted(campaign.id, 4242)
    assert await closer.close_due() == []
    views = {v.campaign.id: v for v in await campaigns.overview(G, BEA)}
    assert views[campaign.id].wallet == 0
    async with sessions() as session:
        expired = (await session.exec(select(LedgerEntry).where(LedgerEntry.kind == "expire"))).all()
    assert sorted(e.amount for e in expired) == [-60, -30]
    with pytest.raises(CampaignError, match="Voting in “Halloween” has closed"):
        await campaigns.vote(entry.id, BEA)
    csv_text = await reports.entries_csv(campaign)
    assert csv_text.splitlines()[0].startswith("job,member,state")
    assert "spooky, a ghost at night" in csv_text
    await books_balance(sessions)


async def test_ending_early_closes_at_the_next_check(
    campaigns: Campaigns, closer: CampaignCloser, clock: Clock
) -> None:
    await halloween(campaigns)
    await campaigns.end_now(G, "Halloween", actor_id=MOD)
    [(campaign, _)] = await closer.close_due()
    assert campaign.closed_at == clock.now
    with pytest.raises(CampaignError, match="has already ended"):
        await campaigns.end_now(G, "Halloween", actor_id=MOD)


@pytest.mark.parametrize(
    ("prompt", "cell"),
    [
        ('=HYPERLINK("https://phish","win")', '\'=HYPERLINK("https://phish","win")'),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("a fox = a dog", "a fox = a dog"),
    ],
)
def test_a_prompt_cannot_become_a_formula_in_the_report(prompt: str, cell: str) -> None:
    assert spreadsheet_safe(prompt) == cell


async def test_the_report_csv_escapes_formulas(
    campaigns: Campaigns, jobs: Jobs, reports: CampaignReports
) -> None:
    await halloween(campaigns, prompt_prefix=None, prompt_suffix=None)
    await campaigns.join(G, ANN, None)
    hostile = replace(WAN, prompt='=HYPERLINK("https://phish","win")')
    await jobs.create(make(ANN, video=hostile, campaign="Halloween"))
    [campaign] = await campaigns.overview(G, ANN)
    rows = list(csv.reader(io.StringIO(await reports.entries_csv(campaign.campaign))))
    assert rows[1][6] == '\'=HYPERLINK("https://phish","win")'
