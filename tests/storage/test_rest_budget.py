"""The shared REST budget's one statement, on both databases."""

from __future__ import annotations

import asyncio

from storage.engine import SessionFactory
from storage.rest_budget import reserve_send_times

SECOND = 1_000_000
INTERVAL = 20_000


async def reserve(
    sessions: SessionFactory, count: int, now: int, *, key: str = "bot-sha256:test", tolerance: int = 40_000
) -> int:
    return await reserve_send_times(
        sessions, key=key, count=count, now_us=now * SECOND, interval_us=INTERVAL, tolerance_us=tolerance
    )


async def test_reservations_follow_each_other_and_an_idle_budget_starts_from_now(
    sessions: SessionFactory,
) -> None:
    first, second, third = [await reserve(sessions, count, 100) for count in (1, 3, 1)]
    assert (first, second, third) == (100 * SECOND, 100 * SECOND + INTERVAL, 100 * SECOND + 4 * INTERVAL)
    # An hour later: from now less the burst tolerance, not from where the budget was.
    assert await reserve(sessions, 1, 3700) == 3700 * SECOND - 40_000
    assert await reserve(sessions, 1, 100, key="another token") == 100 * SECOND


async def test_concurrent_reservations_never_share_a_send_time(sessions: SessionFactory) -> None:
    firsts = await asyncio.gather(*(reserve(sessions, 2, 100, tolerance=0) for _ in range(10)))
    times = sorted(t for first in firsts for t in (first, first + INTERVAL))
    assert times == [100 * SECOND + i * INTERVAL for i in range(20)]
