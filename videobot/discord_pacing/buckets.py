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

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Sent a little after Discord's reset: the header is rounded to milliseconds.
RESET_MARGIN_SECONDS = 0.05
# A window opened by sends whose answers have not come yet: look again this soon.
UNKNOWN_RESET_RECHECK_SECONDS = 0.05
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
    resets_at: float | None  # monotonic; None: a window this process opened, no answer yet
    opened_at: float = -math.inf  # when this process opened the window (resets_at None)


class RouteBuckets:
    """What is left in each bucket, from the responses, less what was sent since."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
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
            bucket.remaining, bucket.resets_at, bucket.opened_at = bucket.limit, None, self._clock()
        bucket.remaining -= 1

    def answered(self, method: str, path: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a response's ``X-RateLimit-*`` headers (or a 429's ``Retry-After``)."""
        route, major = route_of(method, path)
        name = headers.get("X-RateLimit-Bucket")
        if name:
            self._bucket_of[route] = name
        key = (name or self._bucket_of.get(route, route), major)
        try:
            limit = int(headers["X-RateLimit-Limit"])
            remaining = int(headers["X-RateLimit-Remaining"])
            reset_after = float(headers["X-RateLimit-Reset-After"])
        except (KeyError, ValueError):
            if status == 429 and key in self._buckets and "X-RateLimit-Global" not in headers:
                retry = _number(headers.get("Retry-After"))
                self._buckets[key].remaining = 0
                self._buckets[key].resets_at = self._clock() + (retry or 1.0)
            return
        if not math.isfinite(reset_after):
            return
        resets_at = self._clock() + reset_after
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()  # forgetting only costs discord.py's own waiting
            # Sends of this window before the first answer are in flight: the answers will say.
            self._buckets[key] = _Bucket(limit, remaining, resets_at)
            return
        bucket.limit = limit
        if bucket.resets_at is None:
            if resets_at <= bucket.opened_at:
                return  # an answer from the window before the one this process opened
            # The first answer from the window this process opened: ours counts every send into it.
            bucket.remaining, bucket.resets_at = min(bucket.remaining, remaining), resets_at
        elif resets_at > bucket.resets_at + RESET_MARGIN_SECONDS:
            bucket.remaining, bucket.resets_at = remaining, resets_at  # a window opened unseen
        else:
            bucket.remaining = min(bucket.remaining, remaining)
        if status == 429:
            bucket.remaining = 0


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
