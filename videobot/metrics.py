"""The bot's metrics, for Prometheus: every metric is defined here, with where its number comes from.

Two kinds of numbers:

* **Read from the database at scrape time** (jobs by state, queue length, in flight, ledger totals):
  true for the whole deployment, the same in every process that shares the database, and right
  after a restart. `Metrics.refresh` reads them just before each exposition.
* **Counted in this process** (ModelsLab calls and errors, deliveries, refunds, durations, Discord
  REST calls and 429s, the wallet balance): from the observed ModelsLab client, the job presenter
  the runner reports state changes to, and an aiohttp trace on discord.py's HTTP session. They
  start at zero with the process, as Prometheus counters do.

Each `Metrics` owns a `CollectorRegistry` of its own instead of prometheus-client's global one, in
keeping with "nothing global" (bot.py builds one per bot): tests and several bots in one process
never see each other's counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import aiohttp
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from storage import stats
from storage.engine import SessionFactory
from storage.states import AT_PROVIDER, REFUNDED_STATES, EntryKind, JobState
from storage.tables import Campaign, Job
from storage.types import utcnow
from videobot.jobs.delivery import FoundDelivery, JobPresenter
from videobot.modelslab.errors import ModelsLabError

log = logging.getLogger(__name__)

# Seconds. Video renders take tens of seconds to many minutes; the last buckets catch the timeouts.
DURATION_BUCKETS = (
    5.0,
    10.0,
    20.0,
    30.0,
    45.0,
    60.0,
    90.0,
    120.0,
    180.0,
    300.0,
    600.0,
    900.0,
    1800.0,
    3600.0,
)
# Seconds a Discord REST request waited for its send time: nothing, a few slots, a backlog.
PACING_BUCKETS = (0.001, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# How many (job, state) changes are remembered so a state shown twice is counted once.
_SEEN_LIMIT = 10_000
_RATE_LIMIT_SCOPES = frozenset({"user", "global", "shared"})


@dataclass(frozen=True)
class DatabaseSnapshot:
    """The database-backed numbers of one scrape."""

    jobs: dict[JobState, int]
    ledger: dict[EntryKind, tuple[int, int]]


class _DatabaseCollector(Collector):
    """Yields the last `DatabaseSnapshot`'s numbers; without one, only ``videobot_database_up 0``."""

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.snapshot: DatabaseSnapshot | None = None

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "videobot_database_up", "1 when the database answered the last scrape's queries, else 0"
        )
        up.add_metric([], 1 if self.snapshot is not None else 0)
        yield up
        limit = GaugeMetricFamily("videobot_jobs_in_flight_limit", "MAX_JOBS_IN_FLIGHT")
        limit.add_metric([], self.max_in_flight)
        yield limit
        snapshot = self.snapshot
        if snapshot is None:
            # Stale numbers would look current: say nothing rather than something old.
            return
        jobs = GaugeMetricFamily("videobot_jobs", "Jobs in the database by state", labels=["state"])
        for state, count in snapshot.jobs.items():
            jobs.add_metric([state.value], count)
        yield jobs
        queue = GaugeMetricFamily("videobot_queue_length", "Jobs waiting for a ModelsLab slot")
        queue.add_metric([], snapshot.jobs.get(JobState.QUEUED, 0))
        yield queue
        flight = GaugeMetricFamily(
            "videobot_jobs_in_flight", "Jobs at ModelsLab (submitting or rendering), all processes"
        )
        flight.add_metric([], sum(snapshot.jobs.get(state, 0) for state in AT_PROVIDER))
        yield flight
        entries = CounterMetricFamily(
            "videobot_ledger_entries", "Ledger entries by kind (debit, refund, grant, ...)", labels=["kind"]
        )
        credits = CounterMetricFamily(
            "videobot_ledger_credits", "Credits moved by ledger entries of each kind", labels=["kind"]
        )
        for kind, (count, amount) in snapshot.ledger.items():
            entries.add_metric([kind.value], count)
            credits.add_metric([kind.value], amount)
        yield entries
        yield credits


class Metrics:
    """One bot's metrics: the registry, the counters, and the hooks that feed them."""

    def __init__(
        self,
        *,
        sessions: SessionFactory | None = None,
        max_in_flight: int = 0,
        clock: Callable[[], datetime] = utcnow,
        process_metrics: bool = True,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.registry = CollectorRegistry()
        r = self.registry
        self.modelslab_requests = Counter(
            "videobot_modelslab_requests", "ModelsLab API calls by call", ["call"], registry=r
        )
        self.submits = Counter(
            "videobot_submits",
            "Generation submits to ModelsLab by outcome: accepted, or the error type",
            ["outcome"],
            registry=r,
        )
        self.provider_errors = Counter(
            "videobot_provider_errors",
            "ModelsLab errors by call and error type",
            ["call", "error"],
            registry=r,
        )
        self.webhooks = Counter(
            "videobot_webhooks",
            "ModelsLab webhooks received, by what they did: woke, adopted, unknown, mismatch, junk, "
            "too_large, error",
            ["outcome"],
            registry=r,
        )
        self.deliveries = Counter(
            "videobot_deliveries", "Videos posted in Discord, as a file or as a link", ["how"], registry=r
        )
        self.refunds = Counter(
            "videobot_job_refunds", "Jobs ended refunded, by final state", ["state"], registry=r
        )
        self.render_seconds = Histogram(
            "videobot_job_render_seconds",
            "From submit to rendered at ModelsLab",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.end_to_end_seconds = Histogram(
            "videobot_job_end_to_end_seconds",
            "From the member's command to the video posted",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.discord_requests = Counter(
            "videobot_discord_requests",
            "Discord REST requests by method and HTTP status ('error': no answer)",
            ["method", "status"],
            registry=r,
        )
        self.discord_rate_limits = Counter(
            "videobot_discord_rate_limits",
            "Discord 429 answers by X-RateLimit-Scope (user, global, shared, unknown)",
            ["scope"],
            registry=r,
        )
        self.discord_pacing_wait = Histogram(
            "videobot_discord_pacing_wait_seconds",
            "How long bot-token REST requests waited for a send time (DISCORD_REST_PER_SECOND)",
            buckets=PACING_BUCKETS,
            registry=r,
        )
        self.discord_budget_fallbacks = Counter(
            "videobot_discord_budget_fallbacks",
            "Reservations from the shared Discord REST budget that fell back to this process's own "
            "(the database did not answer)",
            registry=r,
        )
        self.wallet_usd = Gauge(
            "videobot_modelslab_wallet_usd", "ModelsLab wallet balance at the last check (USD)", registry=r
        )
        self._database = _DatabaseCollector(max_in_flight)
        r.register(self._database)
        if process_metrics:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
        self._seen: OrderedDict[tuple[int, JobState], None] = OrderedDict()

    # -- exposition -----------------------------------------------------------------------------

    async def refresh(self, *, within_seconds: float = 5.0) -> None:
        """Read the database-backed numbers for the next exposition (none when the database fails)."""
        if self._sessions is None:
            return
        try:
            async with asyncio.timeout(within_seconds), self._sessions() as session:
                jobs = await stats.job_counts(session)
                ledger = await stats.ledger_totals(session)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            self._database.snapshot = None
            return
        self._database.snapshot = DatabaseSnapshot(jobs=jobs, ledger=ledger)

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    # -- ModelsLab calls (videobot.modelslab.ModelsLabObserver) ---------------------------

    def modelslab_answered(self, call: str) -> None:
        """Count a successful ModelsLab call."""
        self.modelslab_requests.labels(call).inc()
        if call == "submit":
            self.submits.labels("accepted").inc()

    def modelslab_failed(self, call: str, error: ModelsLabError) -> None:
        """Count a failed ModelsLab call by its error type."""
        kind = type(error).__name__
        self.modelslab_requests.labels(call).inc()
        self.provider_errors.labels(call, kind).inc()
        if call == "submit":
            self.submits.labels(kind).inc()

    # -- jobs -------------------------------------------------------------------------------------

    def job_changed(self, job: Job) -> None:
        """Observe a job's new state: refunds, and durations when it renders and when it is delivered.

        Each (job, state) is counted once, however often the state is shown.
        """
        if job.id is None:
            return
        state = JobState(job.state)
        key = (job.id, state)
        if key in self._seen:
            return
        self._seen[key] = None
        if len(self._seen) > _SEEN_LIMIT:
            self._seen.popitem(last=False)
        if state is JobState.DELIVERING and job.submitted_at is not None:
            # Rendered: the runner shows DELIVERING as soon as ModelsLab reports success.
            _observe(self.render_seconds, (self._clock() - job.submitted_at).total_seconds())
        elif state is JobState.DELIVERED:
            finished = job.finished_at or self._clock()
            _observe(self.end_to_end_seconds, (finished - job.created_at).total_seconds())
        elif state in REFUNDED_STATES:
            self.refunds.labels(state.value).inc()

    def observe_jobs(self, presenter: JobPresenter) -> JobPresenter:
        """``presenter``, with every state change and delivery it is given counted here first."""
        return MeteredPresenter(presenter, self)

    def wallet_read(self, balance: float) -> None:
        """Record the ModelsLab wallet balance."""
        self.wallet_usd.set(balance)

    # -- Discord REST -----------------------------------------------------------------------------

    def discord_trace(self) -> aiohttp.TraceConfig:
        """An aiohttp trace for discord.py's HTTP session (``Client(http_trace=...)``).

        discord.py offers this hook publicly, so nothing of its internals is patched. Every attempt
        is counted, so a request retried after a 429 counts twice, as Discord counts it.
        """
        trace = aiohttp.TraceConfig()

        async def on_end(
            _session: aiohttp.ClientSession, _context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
        ) -> None:
            status = params.response.status
            if status == 101:
                return  # the gateway's websocket upgrade, not a REST call
            self.discord_requests.labels(params.method, str(status)).inc()
            if status == 429:
                scope = params.response.headers.get("X-RateLimit-Scope", "").lower()
                self.discord_rate_limits.labels(scope if scope in _RATE_LIMIT_SCOPES else "unknown").inc()

        async def on_exception(
            _session: aiohttp.ClientSession,
            _context: SimpleNamespace,
            params: aiohttp.TraceRequestExceptionParams,
        ) -> None:
            self.discord_requests.labels(params.method, "error").inc()

        trace.on_request_end.append(on_end)
        trace.on_request_exception.append(on_exception)
        return trace


class MeteredPresenter:
    """A `JobPresenter` that counts what passes through it, then hands it to the real one."""

    def __init__(self, inner: JobPresenter, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def show_state(self, job: Job) -> None:
        """Count the state change, then show it."""
        self._metrics.job_changed(job)
        await self._inner.show_state(job)

    async def deliver_file(self, job: Job, video: Path) -> int:
        """Post the file; count it once posted."""
        message_id = await self._inner.deliver_file(job, video)
        self._metrics.deliveries.labels("file").inc()
        return message_id

    async def deliver_link(self, job: Job, url: str, expires_at: datetime) -> int:
        """Post the link; count it once posted."""
        message_id = await self._inner.deliver_link(job, url, expires_at)
        self._metrics.deliveries.labels("link").inc()
        return message_id

    async def announce_failure(self, job: Job) -> None:
        """Count the refunded end (if not seen yet), then tell the owner."""
        self._metrics.job_changed(job)
        await self._inner.announce_failure(job)

    async def post_gallery_entry(self, job: Job, campaign: Campaign, *, video: Path | None, url: str) -> int:
        """Passed through: a gallery post is not a delivery of its own."""
        return await self._inner.post_gallery_entry(job, campaign, video=video, url=url)

    async def find_delivery(self, job: Job, gallery_channel_id: int | None) -> FoundDelivery:
        """Passed through: looking for an earlier post counts nothing."""
        return await self._inner.find_delivery(job, gallery_channel_id)


def _observe(histogram: Histogram, seconds: float) -> None:
    # A clock step or a row written by a skewed host must not put a negative duration in a histogram.
    if seconds >= 0:
        histogram.observe(seconds)
