"""`RestPacer`: each bot-token request waits for its send time, and for its route's bucket.

Hooked into the aiohttp trace that discord.py's HTTP session already uses
(``Client(http_trace=...)``): aiohttp awaits ``on_request_start`` before it sends anything, and
``on_request_end`` sees every response's ``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import SimpleNamespace

import aiohttp
import yarl

from videobot.discord_pacing.buckets import RouteBuckets
from videobot.discord_pacing.budget import RestBudget

log = logging.getLogger(__name__)

# Discord's routes that carry an interaction's or a webhook's own token instead of the bot's.
_EXEMPT_PATH = re.compile(r"/interactions/\d+/[^/]+/callback$|/webhooks/\d+/[^/]+(?:/|$)")
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
        self.buckets = RouteBuckets()

    def install(self, trace: aiohttp.TraceConfig) -> None:
        """Pace every request of the sessions that use ``trace`` (discord.py's ``http_trace``)."""
        trace.on_request_start.append(self._on_request_start)
        trace.on_request_end.append(self._on_request_end)

    async def _on_request_start(
        self,
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if counts_globally(params.url, params.headers):
            await self.wait_turn(params.method, params.url.path)

    async def _on_request_end(
        self,
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if counts_globally(params.url, params.headers):
            self.buckets.answered(
                params.method, params.url.path, params.response.status, params.response.headers
            )

    async def wait_turn(self, method: str = "GET", path: str = "/") -> float:
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
        await self._clear_to_send(method, path)
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

    async def _clear_to_send(self, method: str, path: str) -> None:
        """Never more than ``rate`` sends from this process in any one second, nor into an empty bucket."""
        while True:
            now = time.monotonic()
            while self._sent and self._sent[0] <= now - 1.0:
                self._sent.popleft()
            if len(self._sent) >= self._window_limit:
                await asyncio.sleep(self._sent[0] + 1.0 - now)
                continue
            bucket_wait = self.buckets.wait_before(method, path)
            if bucket_wait > 0:
                await asyncio.sleep(bucket_wait)
                continue
            self._sent.append(now)
            self.buckets.sent(method, path)
            return
