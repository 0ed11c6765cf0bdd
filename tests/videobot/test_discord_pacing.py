"""Client-side pacing of Discord REST calls: the budget's arithmetic, which requests it paces, and
bursts through a real aiohttp session against FakeDiscord (Discord's 50/s global limit, fixed 1 s
windows), in one process and in two processes' worth of budgets sharing PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import yarl

from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade_database
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.fakes.discord_payloads import TOKEN_BOT
from tests.fakes.discord_server import FakeDiscord
from videobot.discord_pacing import (
    BURST,
    LocalBudget,
    RestBudget,
    RestPacer,
    RouteBuckets,
    SharedBudget,
    budget_key,
    counts_globally,
    route_of,
)

TOKEN = "pacing-test-token"
AUTH = {"Authorization": f"Bot {TOKEN}"}
GUILD = 1_300_000_000_000_000_001
CHANNELS = [1_300_000_000_000_000_100 + i for i in range(4)]
RATE = 45.0
DISCORD_LIMIT = 50  # what FakeDiscord allows a bot token per second, as Discord does


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the budget's arithmetic ---------------------------------------------------------------------


async def test_a_busy_budget_hands_out_evenly_spaced_send_times() -> None:
    clock = FakeClock()
    budget = LocalBudget(50, clock=clock)
    first = await budget.reserve(1)
    second = await budget.reserve(3)
    third = await budget.reserve(1)
    assert second == pytest.approx(first + 0.02)
    assert third == pytest.approx(second + 3 * 0.02)


async def test_an_idle_budget_lets_only_a_short_burst_go_at_once() -> None:
    clock = FakeClock()
    budget = LocalBudget(10, clock=clock)
    await budget.reserve(1)
    clock.now += 3600  # an hour idle is not an hour of requests saved up
    times = [await budget.reserve(1) for _ in range(BURST + 2)]
    due_now = [t for t in times if t <= clock.now + 1e-9]
    assert len(due_now) == BURST
    assert times[-1] == pytest.approx(clock.now + 2 * 0.1)


def test_the_budget_key_hides_the_token() -> None:
    key = budget_key(TOKEN)
    assert TOKEN not in key
    assert key == budget_key(TOKEN) != budget_key(TOKEN + "x")


@pytest.mark.parametrize(
    ("path", "auth", "paced"),
    [
        ("/api/v10/channels/1/messages", True, True),
        ("/api/v10/channels/1/messages/2/threads", True, True),
        ("/api/v10/webhooks/5", True, True),  # a webhook looked up with the bot token counts
        ("/api/v10/interactions/9/aW50ZXJhY3Rpb24/callback", True, False),
        ("/api/v10/interactions/9/aW50ZXJhY3Rpb24/callback", False, False),
        ("/api/v10/webhooks/5/aW50ZXJhY3Rpb24", True, False),
        ("/api/v10/webhooks/5/aW50ZXJhY3Rpb24/messages/@original", True, False),
        ("/api/v10/channels/1/messages", False, False),
        ("/?encoding=json&v=10", False, False),  # the gateway
    ],
)
def test_only_bot_token_requests_outside_interaction_routes_are_paced(
    path: str, auth: bool, paced: bool
) -> None:
    url = yarl.URL(f"http://127.0.0.1:1{path}")
    assert counts_globally(url, AUTH if auth else {}) is paced


# -- bursts against FakeDiscord ------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """FakeDiscord with Discord's rate limits: 50/s global per bot token, fixed 1 s windows."""
    async with FakeDiscord(token=TOKEN) as server:
        server.add_guild(GUILD, "Pacing")
        for channel in CHANNELS:
            server.add_text_channel(GUILD, channel, f"c{channel % 100}")
        yield server


async def burst(fake: FakeDiscord, pacer: RestPacer | None, requests: int) -> float:
    """``requests`` GET /channels/{id} at once (over several channels, so only the global limit
    binds) through an aiohttp session paced by ``pacer``; the seconds they took."""
    trace = aiohttp.TraceConfig()
    if pacer is not None:
        pacer.install(trace)
    started = time.monotonic()
    async with aiohttp.ClientSession(trace_configs=[trace]) as http:

        async def get(i: int) -> None:
            url = f"{fake.api_base}/channels/{CHANNELS[i % len(CHANNELS)]}"
            async with http.get(url, headers=AUTH) as response:
                await response.read()

        await asyncio.gather(*(get(i) for i in range(requests)))
    return time.monotonic() - started


async def test_an_unpaced_burst_is_rate_limited(fake: FakeDiscord) -> None:
    """The control: without pacing, the fake answers a burst with 429s (so the tests below can fail)."""
    await burst(fake, None, 120)
    assert fake.traffic.rate_limited[TOKEN_BOT] > 0


async def test_a_paced_burst_gets_no_429_and_takes_requests_over_rate_seconds(fake: FakeDiscord) -> None:
    waits: list[float] = []
    pacer = RestPacer(LocalBudget(RATE), rate=RATE, on_wait=waits.append)
    requests = 120
    seconds = await burst(fake, pacer, requests)
    await pacer.close()
    assert fake.traffic.rate_limited[TOKEN_BOT] == 0
    assert fake.traffic.served[TOKEN_BOT] == requests
    # Sent at most RATE a second; arrival jitter (connections opening) may bunch a few together.
    assert fake.traffic.peak_bot_requests(1.0) <= DISCORD_LIMIT
    expected = (requests - BURST) / RATE
    assert expected - 0.05 <= seconds <= expected + 1.0
    assert len(waits) == requests and max(waits) >= expected - 0.1


async def test_interaction_routes_are_not_paced(fake: FakeDiscord) -> None:
    """A budget of one request a second: bot-token requests queue, interaction callbacks and
    webhook-token calls go at once (Discord does not count them against the global limit)."""
    waits: list[float] = []
    pacer = RestPacer(LocalBudget(1), rate=1, on_wait=waits.append)
    trace = aiohttp.TraceConfig()
    pacer.install(trace)
    started = time.monotonic()
    async with aiohttp.ClientSession(trace_configs=[trace]) as http:
        for i in range(20):
            # Unknown interactions: the fake answers 404, which is all this needs.
            urls = (
                f"{fake.api_base}/interactions/{i + 1}/aW50ZXJhY3Rpb24/callback",
                f"{fake.api_base}/webhooks/{i + 1}/aW50ZXJhY3Rpb24",
            )
            for url in urls:
                async with http.post(url, headers=AUTH, json={"type": 5}) as response:
                    await response.read()
    assert time.monotonic() - started < 1.0
    assert waits == []
    await pacer.close()


# -- two processes sharing PostgreSQL ------------------------------------------------------------


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A migrated PostgreSQL database (skipped with the reason when TEST_POSTGRES_URL is unset)."""
    url = await create_postgres_database()
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.mark.postgres
async def test_two_processes_share_one_budget_through_postgres(fake: FakeDiscord, postgres_url: str) -> None:
    """Two pacers on two engines (as two processes would be) with one bot token: together they stay
    under the one budget, with no 429, in about the time one budget takes for all their requests."""
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    fallbacks: list[None] = []
    try:
        budgets: list[RestBudget] = [
            SharedBudget(
                create_session_factory(engine),
                key=budget_key(TOKEN),
                rate=RATE,
                on_fallback=lambda: fallbacks.append(None),
            )
            for engine in engines
        ]
        pacers = [RestPacer(budget, rate=RATE) for budget in budgets]
        per_process = 60
        started = time.monotonic()
        await asyncio.gather(*(burst(fake, pacer, per_process) for pacer in pacers))
        seconds = time.monotonic() - started
        for pacer in pacers:
            await pacer.close()
    finally:
        for engine in engines:
            await engine.dispose()
    assert fallbacks == []
    assert fake.traffic.rate_limited[TOKEN_BOT] == 0
    assert fake.traffic.served[TOKEN_BOT] == 2 * per_process
    # Sent at most RATE a second; arrival jitter (connections opening) may bunch a few together.
    assert fake.traffic.peak_bot_requests(1.0) <= DISCORD_LIMIT
    expected = (2 * per_process - BURST) / RATE
    assert expected - 0.05 <= seconds <= expected + 1.5


async def test_a_shared_budget_without_its_database_paces_on_its_own() -> None:
    """No database answering: the process keeps pacing with a budget of its own, and says so."""
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    fallbacks: list[None] = []
    try:
        budget = SharedBudget(
            create_session_factory(engine),
            key=budget_key(TOKEN),
            rate=10,
            on_fallback=lambda: fallbacks.append(None),
        )
        times = [await budget.reserve(1) for _ in range(BURST + 1)]
    finally:
        await engine.dispose()
    assert len(fallbacks) == BURST + 1
    assert times[-1] - times[0] == pytest.approx(BURST * 0.1)


# -- route buckets -------------------------------------------------------------------------------

MESSAGES = "/api/v10/channels/1300000000000000100/messages"
OTHER_MESSAGES = "/api/v10/channels/1300000000000000101/messages"


def bucket_headers(clock: FakeClock, remaining: int, reset_after: float, *, limit: int = 5) -> dict[str, str]:
    """A bucket's headers as Discord sends them; the fake clock doubles as Discord's."""
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{clock.now + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": "abc",
    }


def test_routes_are_named_by_template_and_major_id() -> None:
    assert route_of("POST", "/api/v10/channels/123/messages/456/threads") == (
        "POST /api/v10/channels/{id}/messages/{id}/threads",
        "123",
    )
    assert route_of("GET", "/api/v10/users/@me") == ("GET /api/v10/users/@me", "")


def test_an_empty_bucket_waits_for_its_reset_and_counts_every_send_once() -> None:
    clock = FakeClock()
    buckets = RouteBuckets(clock, clock)
    assert buckets.wait_before("POST", MESSAGES) == 0  # unknown: discord.py sends one to learn it
    buckets.sent("POST", MESSAGES)
    buckets.answered("POST", MESSAGES, 200, bucket_headers(clock, 4, 5.0))
    for _ in range(4):  # what discord.py lets through, however many counts of the bucket it holds
        assert buckets.wait_before("POST", MESSAGES) == 0
        buckets.sent("POST", MESSAGES)
    assert buckets.wait_before("POST", MESSAGES) == pytest.approx(5.05)
    assert buckets.wait_before("POST", OTHER_MESSAGES) == 0  # another channel, another bucket
    clock.now += 2
    buckets.answered("POST", MESSAGES, 200, bucket_headers(clock, 3, 3.0))  # a slow answer: still empty
    assert buckets.wait_before("POST", MESSAGES) == pytest.approx(3.05)
    clock.now += 3.05
    assert buckets.wait_before("POST", MESSAGES) == 0
    buckets.sent("POST", MESSAGES)  # opens the next window
    # Late answers from the window before (decided just before its end) change nothing.
    stale = bucket_headers(clock, 0, 0.001)
    stale["X-RateLimit-Reset"] = f"{clock.now - 0.05:.3f}"
    buckets.answered("POST", MESSAGES, 200, stale)
    for _ in range(4):
        assert buckets.wait_before("POST", MESSAGES) == 0
        buckets.sent("POST", MESSAGES)
    assert buckets.wait_before("POST", MESSAGES) > 0  # five sent into this window already


def test_a_429_empties_the_bucket_until_its_retry() -> None:
    clock = FakeClock()
    buckets = RouteBuckets(clock, clock)
    buckets.answered("PATCH", MESSAGES + "/9", 200, bucket_headers(clock, 4, 5.0))
    buckets.answered("PATCH", MESSAGES + "/10", 429, bucket_headers(clock, 0, 4.0))
    assert buckets.wait_before("PATCH", MESSAGES + "/11") == pytest.approx(4.05)
    # A global 429 says nothing about the route's bucket.
    buckets.answered("GET", "/api/v10/channels/1", 429, {"Retry-After": "1", "X-RateLimit-Global": "true"})
    assert buckets.wait_before("GET", "/api/v10/channels/1") == 0


async def test_bursts_into_small_buckets_get_no_429(fake: FakeDiscord) -> None:
    """Messages into two channels (5 per 5 s each, scaled to 5 per 0.5 s): every one is posted,
    none answered 429, though the requests all start at once (discord.py is not in the way here)."""
    fake.rate_limiter.time_scale = 0.1
    pacer = RestPacer(LocalBudget(RATE), rate=RATE)
    trace = aiohttp.TraceConfig()
    pacer.install(trace)
    async with aiohttp.ClientSession(trace_configs=[trace]) as http:

        async def post(i: int) -> int:
            url = f"{fake.api_base}/channels/{CHANNELS[i % 2]}/messages"
            async with http.post(url, headers=AUTH, json={"content": f"#{i}"}) as response:
                return response.status

        first = await post(0)  # learn the bucket, as discord.py does before sending more
        statuses = await asyncio.gather(*(post(i) for i in range(1, 20)))
    await pacer.close()
    assert [first, *statuses] == [200] * 20
    assert fake.traffic.rate_limited[TOKEN_BOT] == 0
