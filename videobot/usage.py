"""What a server's members made and spent: the moderators' usage report."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from storage import usage as usage_queries
from storage.engine import SessionFactory
from storage.states import REFUNDED_STATES, JobState
from storage.tables import Job
from storage.types import utcnow
from videobot.maxima import MAX_USAGE_DAYS

TOP_MEMBERS = 5


@dataclass(frozen=True)
class DayUsage:
    """One UTC day: jobs started and credits kept (refunds excluded)."""

    day: date
    jobs: int
    credits: int


@dataclass(frozen=True)
class MemberUsage:
    """One member's share of the period."""

    user_id: int
    jobs: int
    credits: int


@dataclass(frozen=True)
class UsageReport:
    """Jobs and credits per day, top members, failures and refunds, and what is running now."""

    days: list[DayUsage]
    top_members: list[MemberUsage]
    outcomes: dict[JobState, int]
    refunded_credits: int
    running: list[Job]

    @property
    def total_jobs(self) -> int:
        """Jobs started in the period."""
        return sum(d.jobs for d in self.days)

    @property
    def total_credits(self) -> int:
        """Credits spent in the period, refunds excluded."""
        return sum(d.credits for d in self.days)


class UsageReports:
    """Builds usage reports from the job book."""

    def __init__(self, sessions: SessionFactory, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def report(self, guild_id: int, *, days: int) -> UsageReport:
        """The server's usage over the last ``days`` UTC days (today included)."""
        return await usage_report(self._sessions, guild_id=guild_id, days=days, now=self._clock())


async def usage_report(sessions: SessionFactory, *, guild_id: int, days: int, now: datetime) -> UsageReport:
    """The server's usage over the last ``days`` UTC days (today included)."""
    days = max(1, min(days, MAX_USAGE_DAYS))
    first_day = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=UTC)
    async with sessions() as session:
        jobs = await usage_queries.jobs_since(session, guild_id=guild_id, since=since)
        running = await usage_queries.unfinished_jobs(session, guild_id=guild_id)

    per_day: dict[date, list[Job]] = defaultdict(list)
    per_member: dict[int, list[Job]] = defaultdict(list)
    for job in jobs:
        per_day[job.created_at.date()].append(job)
        per_member[job.user_id].append(job)
    day_rows = [
        DayUsage(day, len(per_day[day]), sum(_kept(j) for j in per_day[day]))
        for day in (first_day + timedelta(days=i) for i in range(days))
    ]
    members = sorted(
        (MemberUsage(user, len(js), sum(_kept(j) for j in js)) for user, js in per_member.items()),
        key=lambda m: (-m.credits, -m.jobs, m.user_id),
    )
    outcomes = Counter(j.state for j in jobs)
    refunded = sum(j.cost for j in jobs if j.state in REFUNDED_STATES)
    return UsageReport(day_rows, members[:TOP_MEMBERS], dict(outcomes), refunded, running)


def _kept(job: Job) -> int:
    return 0 if job.state in REFUNDED_STATES else job.cost
