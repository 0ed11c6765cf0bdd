"""Client-side pacing of the bot's Discord REST calls, so that Discord never has to answer 429.

Discord lets one bot token make 50 REST requests per second, whatever the route (interaction
callbacks and interaction webhooks, which carry their own token in the URL, do not count). Past it
comes a 429, and every 429 counts toward the invalid-request limit: 10,000 in 10 minutes and the
IP is banned for a while. discord.py waits a 429 out and retries; this module keeps the bot from
getting there at all.

Every bot-token request waits, before it is sent, for a **send time** from the bot token's
**budget**: ``rate`` evenly spaced send times per second (``DISCORD_REST_PER_SECOND``), of which an
idle budget lets ``BURST`` go at once (a generic cell rate algorithm: the budget is the next free
send time, and each request moves it on by ``1 / rate`` seconds). On top of that, this process never
sends more than ``rate`` such requests within any one second, so a process that fell behind its send
times (a busy event loop) catches up no faster than the limit either. Requests wait in the order
they came.

The budget is per bot token, not per process:

* `LocalBudget` keeps it in this process (SQLite: the bot runs as one process);
* `SharedBudget` keeps it in one PostgreSQL row per bot token (keyed by a hash of the token, never the
  token), so every process of the bot draws from the same budget (`storage.rest_budget`). The requests
  waiting in a process are reserved together in one statement. If the database does not answer, the
  process falls back to a budget of its own until it does, with a warning.

`RestPacer.install` hooks the pacer into the aiohttp trace that discord.py's HTTP session already
uses (``Client(http_trace=...)``): aiohttp awaits ``on_request_start`` before it sends anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Protocol

import aiohttp
import yarl
from sqlalchemy.exc import SQLAlchemyError

from storage.engine import SessionFactory
from storage.rest_budget import reserve_send_times

log = logging.getLogger(__name__)

DEFAULT_RATE = 45.0  # Discord's global limit is 50/s per bot token: the rest is headroom
BURST = 3  # send times an idle budget lets go at once (always within ``rate`` per second)
# Discord's routes that carry an interaction's or a webhook's own token instead of the bot's.
_EXEMPT_PATH = re.compile(r"/interactions/\d+/[^/]+/callback$|/webhooks/\d+/[^/]+(?:/|$)")
# How long a reservation may take before the process uses its own budget for that one.
RESERVE_TIMEOUT_SECONDS = 2.0
FALLBACK_WARNING_SECONDS = 60.0
MAX_BATCH = 16


def counts_globally(url: yarl.URL, headers: Mapping[str, str]) -> bool:
    """Whether Discord counts this request against the bot token's global limit.

    Requests with the bot's ``Authorization`` count, except interaction callbacks and webhook routes
    that name their own token (discord.py sends the bot's header with some followups too). The
    gateway's websocket, attachments from the CDN and other hosts carry no bot header.
    """
    if not headers.get("Authorization", "").startswith("Bot "):
        return False
    return _EXEMPT_PATH.search(url.path) is None


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


class RestPacer:
    """Makes each bot-token REST request wait for its send time from a `RestBudget`.

    ``on_wait`` hears how long each paced request waited (seconds), for the metrics.
    """

    def __init__(
        self,
        budget: RestBudget,
        *,
        rate: float,
        on_wait: Callable[[float], None] | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._budget = budget
        self._window_limit = max(1, math.floor(rate))
        self._sent: deque[float] = deque()  # monotonic send times within the last second
        self._waiting: deque[asyncio.Future[float]] = deque()
        self._reserver: asyncio.Task[None] | None = None
        self._on_wait = on_wait
        self._max_batch = max_batch

    def install(self, trace: aiohttp.TraceConfig) -> None:
        """Pace every request of the sessions that use ``trace`` (discord.py's ``http_trace``)."""
        trace.on_request_start.append(self._on_request_start)

    async def _on_request_start(
        self,
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if counts_globally(params.url, params.headers):
            await self.wait_turn()

    async def wait_turn(self) -> float:
        """Wait until this request may be sent; return the seconds waited."""
        started = time.monotonic()
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        if self._reserver is None:
            self._reserver = asyncio.create_task(self._reserve_for_waiting(), name="discord-rest-budget")
        send_at = await future
        delay = send_at - self._budget.now()
        if delay > 0:
            await asyncio.sleep(delay)
        await self._within_one_second()
        waited = time.monotonic() - started
        if self._on_wait is not None:
            self._on_wait(waited)
        return waited

    async def close(self) -> None:
        """Stop reserving (at shutdown); requests still waiting are cancelled."""
        task, self._reserver = self._reserver, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._waiting:
            self._waiting.popleft().cancel()

    async def _reserve_for_waiting(self) -> None:
        # One reservation at a time per process, for everything waiting when it starts.
        try:
            while self._waiting:
                batch: list[asyncio.Future[float]] = []
                while self._waiting and len(batch) < self._max_batch:
                    future = self._waiting.popleft()
                    if not future.done():
                        batch.append(future)
                if not batch:
                    continue
                try:
                    first = await self._budget.reserve(len(batch))
                except Exception:
                    # A bug, not an outage (budgets fall back on their own): let the requests go.
                    log.exception("Discord REST budget: reservation failed; sending unpaced")
                    for future in batch:
                        if not future.done():
                            future.set_result(-math.inf)
                    continue
                for index, future in enumerate(batch):
                    if not future.done():
                        future.set_result(first + index * self._budget.interval)
        finally:
            if self._reserver is asyncio.current_task():
                self._reserver = None

    async def _within_one_second(self) -> None:
        """Never more than ``rate`` sends from this process in any one second."""
        while True:
            now = time.monotonic()
            while self._sent and self._sent[0] <= now - 1.0:
                self._sent.popleft()
            if len(self._sent) < self._window_limit:
                self._sent.append(now)
                return
            await asyncio.sleep(self._sent[0] + 1.0 - now)
