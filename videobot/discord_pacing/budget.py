"""The bot token's budget of send times: `LocalBudget` in this process, `SharedBudget` in PostgreSQL.

A budget hands out ``rate`` evenly spaced send times per second, of which an idle budget lets
``BURST`` go at once (a generic cell rate algorithm: the budget is the next free send time, and each
request moves it on by ``1 / rate`` seconds).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from storage.engine import SessionFactory
from storage.rest_budget import reserve_send_times

log = logging.getLogger(__name__)

BURST = 3  # send times an idle budget lets go at once (always within ``rate`` per second)
# How long a reservation may take before the process uses its own budget for that one.
RESERVE_TIMEOUT_SECONDS = 2.0
FALLBACK_WARNING_SECONDS = 60.0


def budget_key(token: str) -> str:
    """The budget's name for a bot token: a hash of it, so the token is never stored."""
    return "bot-sha256:" + hashlib.sha256(token.encode()).hexdigest()[:32]


class RestBudget(Protocol):
    """Hands out send times, ``interval`` seconds apart, on its own clock."""

    interval: float

    def now(self) -> float:
        """The budget's clock, in seconds."""
        ...

    async def reserve(self, count: int) -> float:
        """Reserve ``count`` consecutive send times; return the first (the others follow at ``interval``)."""
        ...


class LocalBudget:
    """A budget kept in this process: enough when one process is all the bot runs as."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._tolerance = (BURST - 1) * self.interval
        self._clock = clock
        self._next_free = -math.inf

    def now(self) -> float:
        """This budget's clock."""
        return self._clock()

    async def reserve(self, count: int) -> float:
        """The next ``count`` send times (never an unused stretch of the past beyond the burst)."""
        first = max(self._next_free, self._clock() - self._tolerance)
        self._next_free = first + count * self.interval
        return first


class SharedBudget:
    """The bot token's budget in PostgreSQL, shared by every process; a local one while it is down.

    Send times are wall-clock (every process must read the same time; NTP keeps hosts within
    milliseconds, which only shifts a few send times by as much).
    """

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        key: str,
        rate: float,
        clock: Callable[[], float] = time.time,
        on_fallback: Callable[[], None] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._sessions = sessions
        self._key = key
        self._clock = clock
        self._interval_us = round(1_000_000 / rate)
        self._tolerance_us = (BURST - 1) * self._interval_us
        self._fallback = LocalBudget(rate, clock=clock)
        self._on_fallback = on_fallback
        self._warned_at = -math.inf

    def now(self) -> float:
        """Wall-clock seconds: the clock every process shares."""
        return self._clock()

    async def reserve(self, count: int) -> float:
        """Reserve ``count`` send times in the database (this process's own budget if it fails)."""
        now_us = round(self._clock() * 1_000_000)
        try:
            async with asyncio.timeout(RESERVE_TIMEOUT_SECONDS):
                first_us = await reserve_send_times(
                    self._sessions,
                    key=self._key,
                    count=count,
                    now_us=now_us,
                    interval_us=self._interval_us,
                    tolerance_us=self._tolerance_us,
                )
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            self._note_fallback(exc)
            return await self._fallback.reserve(count)
        return first_us / 1_000_000

    def _note_fallback(self, exc: BaseException) -> None:
        if self._on_fallback is not None:
            self._on_fallback()
        now = time.monotonic()
        if now - self._warned_at >= FALLBACK_WARNING_SECONDS:
            self._warned_at = now
            log.warning(
                "Discord REST budget: the database did not answer (%s); pacing this process on its own "
                "until it does",
                type(exc).__name__,
            )
