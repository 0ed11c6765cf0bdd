"""Discord's per-route buckets as this process has seen them, so a request waits for an empty bucket
to refill instead of being answered 429.

discord.py waits on buckets itself once it knows them, but during a burst it can hold two counts
of one bucket (the one it started with under the route's name, and the one it keys by
``X-RateLimit-Bucket`` once a response named it), and both let requests through: those come back 429.
Here every bucket is counted once, keyed by ``X-RateLimit-Bucket`` (or the route until a response
names the bucket) and the route's major parameter (the channel, guild or webhook id), and each send
takes one of the requests the last response said were left.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Sent a little after Discord's reset: the header is rounded to milliseconds.
RESET_MARGIN_SECONDS = 0.05
# A window opened by sends whose answers have not come yet: look again this soon.
UNKNOWN_RESET_RECHECK_SECONDS = 0.05
# Answers of one window name its end alike, give or take the header's millisecond rounding.
WINDOW_TOLERANCE_SECONDS = 0.01
_MAJOR = re.compile(r"/(?:channels|guilds|webhooks)/(\d+)")
_ID = re.compile(r"/\d+(?=/|$)")
MAX_BUCKETS = 10_000


def route_of(method: str, path: str) -> tuple[str, str]:
    """``(route, major)``: the path with ids as ``{id}`` after the method, and the major id."""
    major = _MAJOR.search(path)
    return f"{method} {_ID.sub('/{id}', path)}", major.group(1) if major else ""


@dataclass
class _Bucket:
    limit: int
    remaining: int
    resets_at: float | None  # on our clock; None: a window this process opened, no answer yet
    window: float  # the window's end on Discord's clock (X-RateLimit-Reset): which window it is


class RouteBuckets:
    """What is left in each bucket, from the responses, less what was sent since.

    Waits are timed by ``X-RateLimit-Reset-After`` on this process's clock (immune to clock skew);
    windows are told apart by ``X-RateLimit-Reset`` (Discord's clock, the same for every answer of a
    window), so a late answer from a window that has ended is recognised as such.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._bucket_of: dict[str, str] = {}  # route → X-RateLimit-Bucket
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _key(self, method: str, path: str) -> tuple[str, str]:
        route, major = route_of(method, path)
        return self._bucket_of.get(route, route), major

    def wait_before(self, method: str, path: str) -> float:
        """Seconds to wait before this request may go (0: now)."""
        bucket = self._buckets.get(self._key(method, path))
        if bucket is None or bucket.remaining > 0:
            return 0.0
        if bucket.resets_at is None:
            return UNKNOWN_RESET_RECHECK_SECONDS
        return max(0.0, bucket.resets_at + RESET_MARGIN_SECONDS - self._clock())

    def sent(self, method: str, path: str) -> None:
        """Count a request that is going now (after `wait_before` said 0)."""
        bucket = self._buckets.get(self._key(method, path))
        if bucket is None:
            return
        if bucket.resets_at is not None and self._clock() >= bucket.resets_at + RESET_MARGIN_SECONDS:
            bucket.remaining, bucket.resets_at = bucket.limit, None  # this send opens a new window
        bucket.remaining -= 1

    def answered(self, method: str, path: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a response's ``X-RateLimit-*`` headers (or a 429's ``Retry-After``)."""
        route, major = route_of(method, path)
        name = headers.get("X-RateLimit-Bucket")
        if name:
            self._bucket_of[route] = name
        key = (name or self._bucket_of.get(route, route), major)
        bucket = self._buckets.get(key)
        limit = _number(headers.get("X-RateLimit-Limit"))
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        reset_after = _number(headers.get("X-RateLimit-Reset-After"))
        if limit is None or remaining is None or reset_after is None:
            if status == 429 and bucket is not None and "X-RateLimit-Global" not in headers:
                bucket.remaining = 0
                bucket.resets_at = self._clock() + (_number(headers.get("Retry-After")) or 1.0)
            return
        resets_at = self._clock() + reset_after
        window = _number(headers.get("X-RateLimit-Reset")) or self._wall_clock() + reset_after
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()  # forgetting only costs discord.py's own waiting
            self._buckets[key] = _Bucket(int(limit), int(remaining), resets_at, window)
            return
        bucket.limit = int(limit)
        if status == 429:
            # Discord's word on when the bucket refills, whatever this process thought.
            bucket.remaining, bucket.resets_at, bucket.window = 0, resets_at, window
            return
        opened_here = bucket.resets_at is None  # this process opened a window after ``bucket.window``
        if window < bucket.window - WINDOW_TOLERANCE_SECONDS or (
            opened_here and window <= bucket.window + WINDOW_TOLERANCE_SECONDS
        ):
            return  # a late answer from a window that has ended
        if window > bucket.window + WINDOW_TOLERANCE_SECONDS:
            # A later window. If this process opened it, its own count holds every send into it.
            bucket.remaining = min(bucket.remaining, int(remaining)) if opened_here else int(remaining)
            bucket.resets_at, bucket.window = resets_at, window
            return
        bucket.remaining = min(bucket.remaining, int(remaining))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
