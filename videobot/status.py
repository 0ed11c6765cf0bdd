"""The bot's state at a glance, for the owner and moderators (``/videobot status``): the queue, the
jobs at ModelsLab against the limit, the last day's jobs and failures, and the ModelsLab wallet."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import stats
from storage.engine import SessionFactory
from storage.states import AT_PROVIDER, JobState
from storage.types import utcnow
from videobot.alerts import ProviderAlerts, ProviderProblem, WalletReading

# The wallet is read fresh for the status, but a slow ModelsLab must not hold the answer up long.
WALLET_READ_TIMEOUT = 8.0
# Failed and timed out count as failures; a cancelled job is a member's choice, not a failure.
FAILURE_STATES = (JobState.FAILED, JobState.TIMED_OUT)


@dataclass(frozen=True)
class StatusReport:
    """Queue and in-flight for all servers, the last 24 hours for this one and for all, the wallet."""

    queued: int
    queued_here: int
    in_flight: int
    max_in_flight: int
    day_jobs_here: int
    day_failures_here: int
    day_jobs_all: int
    day_failures_all: int
    wallet: WalletReading
    wallet_threshold: float | None
    problems: dict[ProviderProblem, datetime]


class StatusReports:
    """Builds `StatusReport`s from the job table and a fresh wallet reading."""

    def __init__(
        self,
        sessions: SessionFactory,
        alerts: ProviderAlerts,
        *,
        max_in_flight: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._alerts = alerts
        self._max_in_flight = max_in_flight
        self._clock = clock

    async def report(self, guild_id: int) -> StatusReport:
        """The status as seen from one server."""
        since = self._clock() - timedelta(hours=24)
        async with self._sessions() as session:
            everywhere = await stats.job_counts(session)
            here = await stats.job_counts(session, guild_id=guild_id)
            day_here = await stats.job_counts(session, guild_id=guild_id, since=since)
            day_all = await stats.job_counts(session, since=since)
        try:
            wallet = await asyncio.wait_for(self._alerts.check_wallet(), WALLET_READ_TIMEOUT)
        except TimeoutError:
            wallet = WalletReading(
                balance=self._alerts.last_reading.balance,
                checked_at=self._alerts.last_reading.checked_at,
                error=f"ModelsLab did not answer within {WALLET_READ_TIMEOUT:g} s",
            )
        return StatusReport(
            queued=everywhere[JobState.QUEUED],
            queued_here=here[JobState.QUEUED],
            in_flight=sum(everywhere[state] for state in AT_PROVIDER),
            max_in_flight=self._max_in_flight,
            day_jobs_here=sum(day_here.values()),
            day_failures_here=sum(day_here[state] for state in FAILURE_STATES),
            day_jobs_all=sum(day_all.values()),
            day_failures_all=sum(day_all[state] for state in FAILURE_STATES),
            wallet=wallet,
            wallet_threshold=self._alerts.threshold_usd,
            problems=self._alerts.problems,
        )
