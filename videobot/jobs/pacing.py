"""How the job runner paces itself: its limits, timeouts and poll intervals, and the backoff."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from storage.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerConfig:
    """How the runner paces itself (built from the bot's `Config`)."""

    max_at_provider: int = 5
    job_timeout: float = 30 * 60
    poll_min: float = 5.0
    poll_max: float = 30.0
    lease_seconds: float = 60.0
    download_dir: Path = Path("data/downloads")
    idle_check_seconds: float = 2.0
    # ModelsLab keeps outputs for a limited time; 24 hours is what its docs state for comparable endpoints.
    output_lifetime: timedelta = timedelta(hours=24)
    # An input hosted through ModelsLab must stay fetchable at least this long after submit.
    hosted_url_margin: timedelta = timedelta(hours=1)
    max_requeues: int = 20
    delivery_attempts: int = 6
    # A delivered job's files are kept this long for re-rolls, then deleted.
    input_retention: timedelta = timedelta(days=7)
    # How often files no job can use any more are looked for and deleted.
    tidy_seconds: float = 3600.0
    # The longest the runner waits on the provider's word (an ETA, a queue-full retry_after): longer
    # values, or absurd ones, are cut to this; shorter than poll_min is raised to poll_min.
    max_provider_wait: float = 300.0
    # A fetch that answers 404 this soon after the submit is the provider catching up, not a lost job.
    not_found_grace: float = 60.0
    # While the ModelsLab account is out of funds (HTTP 402), one waiting job is tried this often to
    # see whether it was topped up (a wallet check that sees the top-up resumes at once).
    funds_probe_seconds: float = 60.0
    # With webhooks on: how long a job whose submit reply was lost waits, from its submit, for a
    # webhook naming its provider id before it is refunded; and how often meanwhile the database
    # is looked at (a webhook may reach another process sharing it).
    webhook_wait: float = 120.0
    webhook_recheck: float = 5.0

    def provider_wait(self, seconds: float | None) -> float:
        """A wait the provider asked for, within [poll_min, max_provider_wait]; poll_min for none."""
        if seconds is None or seconds != seconds:  # absent or NaN (the client passes neither; be sure)
            return self.poll_min
        return min(max(seconds, self.poll_min), max(self.max_provider_wait, self.poll_min))


class ProviderLimit:
    """How many jobs may be at ModelsLab at once: MAX_JOBS_IN_FLIGHT, or less once ModelsLab said
    that the account's queue is smaller ("Maximum 3 queued requests allowed")."""

    def __init__(self, configured: int) -> None:
        self.configured = configured
        self.value = configured

    def learn(self, real: int | None) -> bool:
        """Take the account's real queue size into account; True when that lowered the limit."""
        if real is None or real < 1 or real >= self.value:
            return False
        self.value = real
        return True


class SubmitPause:
    """Submitting paused while the ModelsLab account has no funds (HTTP 402).

    Jobs are not failed: they wait in line, and members are told why. Every ``probe_seconds`` one
    job is let through as a probe; the first accepted submit, or a wallet reading that shows the
    top-up, ends the pause (`videobot.alerts` decides both, and calls `set`).
    """

    def __init__(
        self,
        probe_seconds: float,
        *,
        on_resume: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._probe = timedelta(seconds=probe_seconds)
        self._on_resume = on_resume
        self._clock = clock
        self._next_probe: datetime | None = None

    @property
    def paused(self) -> bool:
        return self._next_probe is not None

    @property
    def probe_seconds(self) -> float:
        return self._probe.total_seconds()

    def set(self, paused: bool) -> None:
        """Pause (the next probe one interval from now) or resume (and wake whoever waits)."""
        if paused and self._next_probe is None:
            log.warning(
                "the ModelsLab account is out of funds: jobs wait in line; trying one every %.0f s",
                self.probe_seconds,
            )
            self._next_probe = self._clock() + self._probe
        elif not paused and self._next_probe is not None:
            log.info("the ModelsLab account has funds again: submitting resumes")
            self._next_probe = None
            self._on_resume()

    def may_submit(self) -> bool:
        """Whether a waiting job may go to the provider now: always unless paused, then one per
        probe interval."""
        if self._next_probe is None:
            return True
        now = self._clock()
        if now < self._next_probe:
            return False
        self._next_probe = now + self._probe
        return True


@dataclass
class Backoff:
    """Exponential delays with ±20% jitter, so many jobs started together do not poll in lockstep."""

    base: float
    cap: float
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """The wait before try number ``attempt`` (0-based)."""
        raw = min(self.cap, self.base * (1.5**attempt))
        return max(self.base / 2, raw * self.rng.uniform(0.8, 1.2))
