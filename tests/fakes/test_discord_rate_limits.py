"""Self-tests of FakeDiscord's rate limits: the wire format of its 429s and bucket headers, read by
raw HTTP, and what real discord.py does with them (waits out 429s, waits before a bucket runs dry).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest
import yarl

from tests.fakes.discord_payloads import (
    DEFAULT_ROUTE_LIMITS,
    TOKEN_BOT,
    TOKEN_INTERACTION,
    TOKEN_OTHER,
    RateLimiter,
    RouteLimit,
    TrafficCounters,
    bucket_hash,
)
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.test_discord_server import (
    CHANNEL,
    GUILD,
    TOKEN,
    USER,
    RecordingBot,
    start_bot,
    stop_bot,
)

OTHER_CHANNEL = 1_190_000_000_000_000_012
AUTH = {"Authorization": f"Bot {TOKEN}"}
POST_MESSAGE = "POST /channels/{channel_id}/messages"
BUCKET_HEADERS = {
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-After",
    "X-RateLimit-Bucket",
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A fake with its default (Discord's) rate limits, one guild, two text channels, one member."""
    async with FakeDiscord(token=TOKEN) as server:
        server.add_guild(GUILD, "Video Lab")
        server.add_text_channel(GUILD, CHANNEL, "general")
        server.add_text_channel(GUILD, OTHER_CHANNEL, "other")
        server.add_member(GUILD, USER, "alice")
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def bot(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RecordingBot]:
    """A connected discord.py bot (the one of test_discord_server) pointed at the fake."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    running, task = await start_bot(fake)
    fake.reset_counters()
    fake.rate_limiter.reset()  # the start-up requests (command sync...) do not eat a test's budget
    yield running
    fake.rate_limiter.reset()  # closing must not wait on a bucket a test emptied
    await stop_bot(running, task)


async def test_route_bucket_headers_and_429(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    url = f"{fake.api_base}/channels/{CHANNEL}/messages"
    hashes = set()
    before = time.time()
    for i in range(5):
        async with http.post(url, json={"content": f"m{i}"}, headers=AUTH) as resp:
            assert resp.status == 200
            assert resp.headers.keys() >= BUCKET_HEADERS
            assert resp.headers["X-RateLimit-Limit"] == "5"
            assert resp.headers["X-RateLimit-Remaining"] == str(4 - i)
            assert 0 < float(resp.headers["X-RateLimit-Reset-After"]) <= 5
            # Discord sends the reset as epoch seconds with milliseconds: allow the rounding.
            assert before < float(resp.headers["X-RateLimit-Reset"]) <= time.time() + 5.001
            hashes.add(resp.headers["X-RateLimit-Bucket"])
    async with http.post(url, json={"content": "one too many"}, headers=AUTH) as resp:
        assert resp.status == 429
        assert resp.headers["Content-Type"] == "application/json"
        body = await resp.json()
        assert body["message"] == "You are being rate limited." and body["global"] is False
        assert 0 < body["retry_after"] <= 5
        assert resp.headers["X-RateLimit-Scope"] == "user" and resp.headers["Via"]
        assert resp.headers["X-RateLimit-Remaining"] == "0"
        assert resp.headers["Retry-After"] == str(math.ceil(body["retry_after"]))
        assert "X-RateLimit-Global" not in resp.headers
    assert len(fake.messages_in(CHANNEL)) == 5

    # The same route in another channel: the same bucket hash (discord.py keys on it) but its own count.
    async with http.post(
        f"{fake.api_base}/channels/{OTHER_CHANNEL}/messages", json={"content": "x"}, headers=AUTH
    ) as resp:
        assert resp.status == 200 and resp.headers["X-RateLimit-Remaining"] == "4"
        hashes.add(resp.headers["X-RateLimit-Bucket"])
    assert hashes == {bucket_hash(POST_MESSAGE)}

    # Errors carry the bucket too; an unlisted route has the default 50 per second.
    async with http.get(f"{fake.api_base}/channels/1", headers=AUTH) as resp:
        assert resp.status == 404 and resp.headers.keys() >= BUCKET_HEADERS
        assert resp.headers["X-RateLimit-Limit"] == "50"
        assert resp.headers["X-RateLimit-Bucket"] != bucket_hash(POST_MESSAGE)
    assert fake.traffic.route_rate_limited == 1 and fake.traffic.rate_limited[TOKEN_BOT] == 1
    assert [r.rate_limited for r in fake.requests_to("POST", rf"/channels/{CHANNEL}/messages")] == [
        *[None] * 5,
        "user",
    ]


async def test_default_buckets_are_discords(fake: FakeDiscord) -> None:
    limits = fake.rate_limiter
    assert limits.limit_for(POST_MESSAGE) == RouteLimit(5, 5.0)
    assert limits.limit_for("PATCH /channels/{channel_id}/messages/{message_id}") == RouteLimit(5, 5.0)
    assert limits.limit_for("DELETE /channels/{channel_id}/messages/{message_id}") == RouteLimit(5, 1.0)
    assert limits.limit_for("POST /channels/{channel_id}/threads") == RouteLimit(10, 10.0)
    assert limits.limit_for("GET /users/@me") == RouteLimit(50, 1.0)
    assert limits.global_limit == 50 and limits.global_window == 1.0 and limits.enabled
    assert set(DEFAULT_ROUTE_LIMITS) <= set(limits.route_limits)


async def test_global_limit_wire_format(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    fake.rate_limiter.global_limit = 3
    url = f"{fake.api_base}/users/@me"
    for _ in range(3):
        async with http.get(url, headers=AUTH) as resp:
            assert resp.status == 200
    async with http.get(url, headers=AUTH) as resp:
        assert resp.status == 429
        assert resp.headers["Content-Type"] == "application/json"
        body = await resp.json()
        assert set(body) == {"message", "retry_after", "global"}
        assert body["message"] == "You are being rate limited." and body["global"] is True
        assert 0 < body["retry_after"] <= 1
        assert resp.headers["X-RateLimit-Global"] == "true"
        assert resp.headers["X-RateLimit-Scope"] == "global"
        assert resp.headers["Via"]
        assert resp.headers["Retry-After"] == str(math.ceil(body["retry_after"]))
    # Requests without the bot token do not count against it (and are not refused by it).
    async with http.get(url) as resp:
        assert resp.status == 401
    assert fake.traffic.global_rate_limited == 1
    assert fake.traffic.served == {TOKEN_BOT: 3, TOKEN_INTERACTION: 0, TOKEN_OTHER: 1}
    await asyncio.sleep(body["retry_after"])
    async with http.get(url, headers=AUTH) as resp:
        assert resp.status == 200  # a new window opened


async def test_discord_py_waits_out_the_global_limit(fake: FakeDiscord, bot: RecordingBot) -> None:
    fake.rate_limiter.global_limit = 5
    fake.rate_limiter.global_window = 0.4
    started = time.monotonic()
    users = await asyncio.gather(*(bot.fetch_user(USER) for _ in range(12)))
    assert {u.id for u in users} == {USER}
    assert time.monotonic() - started >= 0.4  # at least one global window waited out
    assert fake.traffic.global_rate_limited >= 1
    assert fake.traffic.served[TOKEN_BOT] == 12
    # Fixed windows: at most 5 a window, so at most 10 across a window's edge.
    assert fake.traffic.peak_bot_requests(0.4) <= 10
    assert fake.traffic.peak_bot_requests(0.4, include_429=True) > 5


async def test_sliding_global_window(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    fake.rate_limiter.global_sliding = True
    fake.rate_limiter.global_limit = 3
    url = f"{fake.api_base}/users/@me"
    statuses = []
    for _ in range(4):
        async with http.get(url, headers=AUTH) as resp:
            statuses.append(resp.status)
            body = await resp.json()
    assert statuses == [200, 200, 200, 429] and body["global"] is True
    assert fake.traffic.peak_bot_requests(1.0) == 3


def test_global_window_fixed_and_sliding() -> None:
    now = [0.0]
    limiter = RateLimiter(global_limit=3, clock=lambda: now[0], wall_clock=lambda: 1e9 + now[0])

    def retry_at(t: float) -> float | None:
        now[0] = t
        return limiter.check(counts_globally=True, route_key=None, major="").retry_after

    # Fixed: the window opens with its first request and lets three through until it ends.
    assert [retry_at(t) for t in (0.0, 0.1, 0.2)] == [None, None, None]
    assert retry_at(0.3) == pytest.approx(0.7)
    assert retry_at(0.99) == pytest.approx(0.01)
    assert [retry_at(t) for t in (1.0, 1.0, 1.0)] == [None, None, None]
    assert retry_at(1.05) == pytest.approx(0.95)

    # Sliding: a slot frees when the oldest request is a window old.
    limiter.global_sliding = True
    limiter.reset()
    assert [retry_at(t) for t in (0.0, 0.1, 0.2)] == [None, None, None]
    assert retry_at(0.3) == pytest.approx(0.7)
    assert retry_at(1.0) is None
    assert retry_at(1.0) == pytest.approx(0.1)
    assert retry_at(1.1) is None
    assert retry_at(1.15) == pytest.approx(0.05)

    # Unknown routes have no bucket; a route has one bucket per major parameter, one hash for all.
    assert limiter.check(counts_globally=False, route_key=None, major="").headers == {}
    route = "POST /channels/{channel_id}/messages"
    limiter.route_limits[route] = RouteLimit(1, 2.0)
    first, second, other = (
        limiter.check(counts_globally=False, route_key=route, major=major) for major in ("1", "1", "2")
    )
    assert first.retry_after is None and other.retry_after is None
    assert second.retry_after == pytest.approx(2.0) and second.scope == "user"
    assert first.headers["X-RateLimit-Bucket"] == other.headers["X-RateLimit-Bucket"]
    assert first.headers["X-RateLimit-Reset"] == f"{1e9 + now[0] + 2.0:.3f}"

    # time_scale shortens every window alike; the counts stay Discord's.
    limiter.time_scale = 0.1
    limiter.reset()
    scaled = [limiter.check(counts_globally=True, route_key=route, major="1") for _ in range(2)]
    assert scaled[0].headers["X-RateLimit-Reset-After"] == "0.200"
    assert scaled[1].retry_after == pytest.approx(0.2)
    assert [retry_at(now[0]) for _ in range(2)] == [None, pytest.approx(0.1)]  # 3 a 0.1 s window


async def test_discord_py_waits_before_a_bucket_runs_dry(
    fake: FakeDiscord, bot: RecordingBot, caplog: pytest.LogCaptureFixture
) -> None:
    fake.rate_limiter.route_limits[POST_MESSAGE] = RouteLimit(5, 0.6)
    channel = bot.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    with caplog.at_level(logging.DEBUG, logger="discord.http"):
        await asyncio.gather(*(channel.send(f"first {i}") for i in range(5)))
        await asyncio.gather(*(channel.send(f"second {i}") for i in range(5)))
    posts = fake.requests_to("POST", rf"/channels/{CHANNEL}/messages")
    # No 429: discord.py read the headers and held the sixth message until the bucket reset.
    assert [r.status for r in posts] == [200] * 10
    assert posts[5].at - posts[0].at >= 0.6 - 0.05
    assert "Pre-emptively rate limiting" in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert bot.http._bucket_hashes[POST_MESSAGE] == bucket_hash(POST_MESSAGE)
    assert len(fake.messages_in(CHANNEL)) == 10


async def test_discord_py_retries_a_bucket_429(fake: FakeDiscord, bot: RecordingBot) -> None:
    # Another process sharing the token emptied the bucket: discord.py cannot know, gets 429, waits.
    fake.rate_limiter.route_limits[POST_MESSAGE] = RouteLimit(1, 0.3)
    async with aiohttp.ClientSession() as http:
        url = f"{fake.api_base}/channels/{CHANNEL}/messages"
        async with http.post(url, json={"content": "other process"}, headers=AUTH) as resp:
            assert resp.status == 200
    channel = bot.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("after the wait")
    posts = fake.requests_to("POST", rf"/channels/{CHANNEL}/messages")
    assert [(r.status, r.rate_limited) for r in posts] == [(200, None), (429, "user"), (200, None)]
    assert [m.id for m in fake.messages_in(CHANNEL)][-1] == message.id


async def test_interaction_routes_are_exempt_from_the_global_limit(
    fake: FakeDiscord, bot: RecordingBot, http: aiohttp.ClientSession
) -> None:
    fake.rate_limiter.global_limit = 2
    fake.rate_limiter.global_window = 30
    for expected in (200, 200, 429):
        async with http.get(f"{fake.api_base}/users/@me", headers=AUTH) as resp:
            assert resp.status == expected
    for i in range(3):
        inter = await fake.invoke_slash(
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=USER,
            command="video text",
            options={"prompt": f"cat {i}"},
        )
        # A defer (callback) and a followup (webhook with the interaction token) each.
        assert f"cat {i}" in (await inter.wait_for_followup_or_edit()).text
        assert inter.ack_seconds is not None and 0 <= inter.ack_seconds < fake.ack_deadline
    interaction_calls = [r for r in fake.requests if r.token_kind == TOKEN_INTERACTION]
    assert len(interaction_calls) == 6 and all(r.status < 300 for r in interaction_calls)
    assert {r.route for r in interaction_calls} == {
        "POST /interactions/{interaction_id}/{interaction_token}/callback",
        "POST /webhooks/{webhook_id}/{webhook_token}",
    }
    assert fake.traffic.served[TOKEN_INTERACTION] == 6
    assert fake.traffic.rate_limited[TOKEN_INTERACTION] == 0
    assert fake.traffic.global_rate_limited == 1


async def test_counters_count(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    url = f"{fake.api_base}/users/@me"
    fake.rate_limiter.route_limits["GET /users/@me"] = RouteLimit(4, 60)
    async with http.get(url, headers=AUTH) as resp:
        assert resp.status == 200
    async with http.get(url) as resp:
        assert resp.status == 401
    fake.inject_failure("GET", "/users/@me", status=403, body={"message": "Missing Access", "code": 50001})
    async with http.get(url, headers=AUTH) as resp:
        assert resp.status == 403
    fake.inject_rate_limit("GET", "/users/@me")
    async with http.get(url, headers=AUTH) as resp:
        assert resp.status == 429
    async with http.get(url, headers=AUTH) as resp:  # the bucket's fifth request: refused by the fake
        assert resp.status == 429
    traffic = fake.traffic
    assert traffic.served == {TOKEN_BOT: 2, TOKEN_INTERACTION: 0, TOKEN_OTHER: 1}
    assert traffic.rate_limited == {TOKEN_BOT: 2, TOKEN_INTERACTION: 0, TOKEN_OTHER: 0}
    assert (traffic.route_rate_limited, traffic.global_rate_limited) == (1, 0)
    assert [status for _, status in traffic.bot_timeline] == [200, 403, 429, 429]
    assert fake.invalid_requests == 4  # 401, 403 and both 429s
    assert traffic.invalid_requests(now=time.monotonic() + 601) == 0  # ten minutes later
    assert traffic.peak_bot_requests(60) == 2 and traffic.peak_bot_requests(60, include_429=True) == 4

    fake.reset_counters()
    assert (
        traffic.served
        == traffic.rate_limited
        == dict.fromkeys((TOKEN_BOT, TOKEN_INTERACTION, TOKEN_OTHER), 0)
    )
    assert traffic.bot_timeline == [] and fake.invalid_requests == 0
    async with http.get(url, headers=AUTH) as resp:
        assert resp.status == 429  # counters were reset, the bucket was not


def test_peak_counts_any_window() -> None:
    traffic = TrafficCounters()
    for at in (0.0, 0.5, 0.9, 1.0, 1.05, 1.1, 3.0):
        traffic.record(TOKEN_BOT, 200, at)
    traffic.record(TOKEN_BOT, 429, 1.2)
    traffic.record(TOKEN_INTERACTION, 200, 1.3)
    assert traffic.peak_bot_requests(1.0) == 5  # 0.5 … 1.1
    assert traffic.peak_bot_requests(1.0, include_429=True) == 6
    assert traffic.peak_bot_requests(0.1) == 2
    assert TrafficCounters().peak_bot_requests() == 0


async def test_rate_limits_can_be_switched_off(http: aiohttp.ClientSession) -> None:
    async with FakeDiscord(token=TOKEN, rate_limits=False, global_rate_limit=1) as server:
        server.add_guild(GUILD)
        server.add_text_channel(GUILD, CHANNEL)
        for i in range(8):
            async with http.post(
                f"{server.api_base}/channels/{CHANNEL}/messages", json={"content": str(i)}, headers=AUTH
            ) as resp:
                assert resp.status == 200
                assert not BUCKET_HEADERS & resp.headers.keys()
        assert server.traffic.served[TOKEN_BOT] == 8 and server.traffic.rate_limited[TOKEN_BOT] == 0
