"""The end of a campaign: closing it once (voiding the wallets), its report, the CSV of its entries,
and the watcher that closes campaigns as they end and posts their summaries."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from storage import campaigns as queries
from storage import ledger
from storage.engine import SessionFactory
from storage.states import EntryKind, JobState
from storage.tables import Campaign, Job
from storage.types import utcnow
from videobot.campaigns.entries import counts_as_entry

log = logging.getLogger(__name__)

TOP_ENTRIES = 5
# A chart of more days than this has bars too thin to read; the CSV has everything.
MAX_ACTIVITY_DAYS = 90


@dataclass(frozen=True)
class RankedEntry:
    """An entry and its votes."""

    job: Job
    votes: int


@dataclass(frozen=True)
class CampaignReport:
    """Participants, entries, credits spent and the top entries by votes."""

    campaign: Campaign
    participants: int
    entries: int
    credits_spent: int
    top: list[RankedEntry]


@dataclass(frozen=True)
class CampaignDay:
    """One UTC day of a campaign: entries made and votes cast."""

    day: date
    entries: int
    votes: int


@dataclass(frozen=True)
class CampaignActivity:
    """Entries and votes per day, from the campaign's start to its end (or today, if sooner)."""

    campaign: Campaign
    days: list[CampaignDay]


class CampaignPresenter(Protocol):
    """What the campaign side needs from the chat side."""

    async def announce_campaign_end(self, campaign: Campaign, report: CampaignReport) -> int:
        """Post the end-of-campaign summary; return the message id. Idempotent per campaign."""


class CampaignReports:
    """Reports on a campaign: participants, entries, credits spent, top entries, activity per day, CSV."""

    def __init__(self, sessions: SessionFactory, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def activity(self, campaign: Campaign) -> CampaignActivity:
        """Entries and votes per UTC day, at most the last `MAX_ACTIVITY_DAYS` days; none before it starts."""
        assert campaign.id is not None
        async with self._sessions() as session:
            jobs = await queries.entries(session, campaign_id=campaign.id)
            votes = await queries.vote_times(session, campaign_id=campaign.id)
        last = min(campaign.ends_at, self._clock()).date()
        first = max(campaign.starts_at.date(), last - timedelta(days=MAX_ACTIVITY_DAYS - 1))
        entries_by_day = Counter(j.created_at.date() for j in jobs if counts_as_entry(j))
        votes_by_day = Counter(v.date() for v in votes)
        days = [
            CampaignDay(day, entries_by_day[day], votes_by_day[day])
            for day in (first + timedelta(days=i) for i in range((last - first).days + 1))
        ]
        return CampaignActivity(campaign, days)

    async def report(self, campaign: Campaign) -> CampaignReport:
        """Participants, entries, credits spent and the top entries by votes."""
        assert campaign.id is not None
        async with self._sessions() as session:
            entries = await queries.entries(session, campaign_id=campaign.id)
            votes = await queries.votes_by_entry(session, campaign_id=campaign.id)
            participants = await queries.participants(session, campaign_id=campaign.id)
        counted = [j for j in entries if counts_as_entry(j)]
        ranked = sorted(
            (RankedEntry(j, votes.get(j.id or 0, 0)) for j in counted if j.state is JobState.DELIVERED),
            key=lambda r: (-r.votes, r.job.id or 0),
        )
        return CampaignReport(
            campaign=campaign,
            participants=participants,
            entries=len(counted),
            credits_spent=sum(j.cost for j in counted),
            top=ranked[:TOP_ENTRIES],
        )

    async def entries_csv(self, campaign: Campaign) -> str:
        """Every entry as CSV: id, member, state, model, cost, votes, prompt, time, message link (a
        deleted video's prompt and link are not given)."""
        assert campaign.id is not None
        async with self._sessions() as session:
            entries = await queries.entries(session, campaign_id=campaign.id)
            votes = await queries.votes_by_entry(session, campaign_id=campaign.id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["job", "member", "state", "model", "cost", "votes", "prompt", "created_at", "message"]
        )
        for job in entries:
            where = job.thread_id or job.channel_id
            link = (
                f"https://discord.com/channels/{job.guild_id}/{where}/{job.result_message_id}"
                if job.result_message_id and job.deleted_at is None
                else ""
            )
            writer.writerow(
                [
                    job.id,
                    job.user_id,
                    job.state,
                    job.model_id,
                    job.cost,
                    votes.get(job.id or 0, 0),
                    "(deleted)" if job.deleted_at is not None else spreadsheet_safe(job.prompt),
                    job.created_at.isoformat(),
                    link,
                ]
            )
        return out.getvalue()


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: one starting with ``= + - @``, a tab or a carriage return
    would be read as a formula (``=HYPERLINK(...)`` under a member's prompt), so it gets a ``'``."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CampaignCloser:
    """Closes campaigns past their end, once, and posts their summaries; `watch` runs it forever."""

    def __init__(
        self,
        sessions: SessionFactory,
        reports: CampaignReports,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._reports = reports
        self._clock = clock
        self._wake = asyncio.Event()

    async def close_due(self) -> list[tuple[Campaign, CampaignReport]]:
        """Close every campaign past its end: void the wallets once and build the summaries still
        to be posted (also those closed by a process that stopped before posting)."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            for campaign in await queries.due_to_close(session, now=now):
                assert campaign.id is not None
                if await queries.mark_closed(session, campaign_id=campaign.id, at=now):
                    for account_id, balance in await queries.wallets(session, campaign_id=campaign.id):
                        if balance > 0:
                            await ledger.move_credits(
                                session,
                                account_id=account_id,
                                amount=-balance,
                                kind=EntryKind.EXPIRE,
                                reason=f"{campaign.name} ended",
                                at=now,
                            )
                    log.info("campaign %s closed", campaign.id)
            pending = await queries.closed_without_summary(session)
        return [(c, await self._reports.report(c)) for c in pending]

    async def summary_posted(self, campaign_id: int, message_id: int) -> None:
        """Remember the summary message, so it is posted once."""
        async with self._sessions() as session, session.begin():
            await queries.set_summary(session, campaign_id=campaign_id, message_id=message_id)

    def wake(self) -> None:
        """Check for campaigns to close now (one was created or ended early)."""
        self._wake.set()

    async def watch(self, presenter: CampaignPresenter, *, interval: float) -> None:
        """Close campaigns as they end and post their summaries; runs until cancelled.

        Also closes, at start, campaigns that ended while no process was running.
        """
        while True:
            try:
                due = await self.close_due()
            except (SQLAlchemyError, OSError):
                log.warning("could not close campaigns; retrying", exc_info=True)
                due = []
            except Exception:
                log.exception("unexpected error while closing campaigns; retrying")
                due = []
            for campaign, report in due:
                # One campaign whose summary cannot be posted (a gallery gone, a 403) must not hold
                # back every other server's summaries: each is tried on its own, and again next time.
                try:
                    assert campaign.id is not None
                    message_id = await presenter.announce_campaign_end(campaign, report)
                    await self.summary_posted(campaign.id, message_id)
                except Exception:
                    log.warning(
                        "campaign %s: could not post its summary; will retry", campaign.id, exc_info=True
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
