"""Owner alerts against the fake ModelsLab on loopback: one message when a problem starts, one when it ends.

The fake's own knobs suffice: ``balance`` is the wallet, ``api_key`` decides which key it accepts, and
``fail_next_submit("insufficient_credits")`` answers a submit with HTTP 402.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from storage.engine import SessionFactory
from tests.fakes.modelslab_server import FakeModelsLab
from videobot.alerts import ProviderAlerts, ProviderProblem
from videobot.catalog import load_catalog
from videobot.metrics import Metrics
from videobot.modelslab import InsufficientFunds, InvalidKey, ModelsLabClient, PlanRestricted
from videobot.rulebook import Rulebook

KEY = "alerts-modelslab-key"
OWNER_CHANNEL = 4242
PAYLOAD = {"model_id": "veo-3.1-fast", "prompt": "a fox", "duration": "4", "aspect_ratio": "16:9"}


class RecordingSink:
    """Stands in for Discord: records what would be posted where."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, str]] = []
        self.fail = False

    async def post_alert(self, channel_id: int, text: str) -> None:
        if self.fail:
            raise RuntimeError("Discord is down")
        self.posts.append((channel_id, text))


@pytest.fixture
async def modelslab() -> AsyncIterator[FakeModelsLab]:
    async with FakeModelsLab(api_key=KEY, render_seconds=0.1) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_alerts(
    http: aiohttp.ClientSession,
    modelslab: FakeModelsLab,
    sessions: SessionFactory,
    sink: RecordingSink,
    **options: object,
) -> tuple[ProviderAlerts, ModelsLabClient]:
    client = ModelsLabClient(http, api_key=KEY, base_url=modelslab.base_url)
    alerts = ProviderAlerts(client, sink, sessions=sessions, **options)  # type: ignore[arg-type]
    client.observe(alerts)
    return alerts, client


async def settled(alerts: ProviderAlerts) -> None:
    """Wait until every alert so far has been posted (or failed)."""
    await asyncio.sleep(0)
    await alerts.close()


async def test_a_low_wallet_is_announced_once_and_its_recovery_once(
    http: aiohttp.ClientSession, modelslab: FakeModelsLab, sessions: SessionFactory
) -> None:
    sink = RecordingSink()
    metrics = Metrics(process_metrics=False)
    alerts, _ = make_alerts(
        http, modelslab, sessions, sink, owner_channel_id=OWNER_CHANNEL, threshold_usd=5.0, metrics=metrics
    )
    modelslab.balance = 12.0
    await alerts.check_wallet()
    modelslab.balance = 3.25
    for _ in range(3):
        reading = await alerts.check_wallet()
    assert reading.balance == 3.25
    assert alerts.problems.keys() == {ProviderProblem.LOW_FUNDS}
    modelslab.balance = 50.0
    await alerts.check_wallet()
    await alerts.check_wallet()
    await settled(alerts)
    assert [channel for channel, _ in sink.posts] == [OWNER_CHANNEL, OWNER_CHANNEL]
    low, recovered = (text for _, text in sink.posts)
    assert "wallet is low ($3.25), below WALLET_ALERT_USD ($5.00)" in low
    assert "back above $5.00 ($50.00)" in recovered
    assert alerts.problems == {}
    assert metrics.registry.get_sample_value("videobot_modelslab_wallet_usd") == 50.0  # the last reading


async def test_without_an_owner_channel_the_servers_audit_channels_hear_it_without_amounts(
    http: aiohttp.ClientSession, modelslab: FakeModelsLab, sessions: SessionFactory
) -> None:
    rulebook = Rulebook(sessions, load_catalog(), default_starting_balance=120)
    await rulebook.update(1, actor_id=9, audit_channel_id=501)
    await rulebook.update(2, actor_id=9, audit_channel_id=502)
    await rulebook.update(3, actor_id=9, starting_balance=10)  # no audit channel: not told
    sink = RecordingSink()
    alerts, _ = make_alerts(http, modelslab, sessions, sink, threshold_usd=5.0)
    modelslab.balance = 1.0
    await alerts.check_wallet()
    await settled(alerts)
    assert [channel for channel, _ in sink.posts] == [501, 502]
    assert all("$" not in text and "running low" in text for _, text in sink.posts)


async def test_a_refused_key_is_announced_on_any_call_and_cleared_by_the_next_success(
    http: aiohttp.ClientSession, modelslab: FakeModelsLab, sessions: SessionFactory
) -> None:
    sink = RecordingSink()
    seen: list[frozenset[ProviderProblem]] = []
    alerts, client = make_alerts(http, modelslab, sessions, sink, owner_channel_id=OWNER_CHANNEL)
    alerts.on_change(seen.append)
    modelslab.api_key = "the-key-was-rotated"  # ModelsLab now answers 401 to ours
    for _ in range(2):
        with pytest.raises(InvalidKey):
            await client.submit("text-to-video", PAYLOAD)
    reading = await alerts.check_wallet()
    assert reading.balance is None and reading.error
    modelslab.api_key = KEY
    await client.wallet_balance()
    await settled(alerts)
    texts = [text for _, text in sink.posts]
    assert len(texts) == 2
    assert "refused the API key (HTTP 401): check MODELSLAB_API_KEY" in texts[0]
    assert "accepts the API key again" in texts[1]
    assert seen == [frozenset({ProviderProblem.INVALID_KEY}), frozenset()]
    assert KEY not in " ".join(texts)


async def test_a_402_is_announced_and_cleared_by_a_top_up_or_an_accepted_submit(
    http: aiohttp.ClientSession, modelslab: FakeModelsLab, sessions: SessionFactory
) -> None:
    sink = RecordingSink()
    alerts, client = make_alerts(http, modelslab, sessions, sink, owner_channel_id=OWNER_CHANNEL)
    modelslab.balance = 0.4
    modelslab.fail_next_submit("insufficient_credits")
    with pytest.raises(InsufficientFunds):
        await client.submit("text-to-video", PAYLOAD)
    # Reported again by the runner as well: still one alert.
    alerts.provider_refused(InsufficientFunds("ModelsLab submit: Insufficient credits", http_status=402))
    alerts.provider_refused(PlanRestricted("not on this plan", http_status=403))  # not an account problem
    await settled(alerts)  # also waits for the wallet reading the 402 asked for
    assert alerts.problems.keys() == {ProviderProblem.NO_FUNDS}
    await alerts.check_wallet()  # same balance: not recovered
    assert alerts.problems.keys() == {ProviderProblem.NO_FUNDS}
    modelslab.balance = 25.0  # the owner topped up
    await alerts.check_wallet()
    assert alerts.problems == {}
    # A second spell, ended by ModelsLab accepting a job.
    modelslab.fail_next_submit("insufficient_credits")
    with pytest.raises(InsufficientFunds):
        await client.submit("text-to-video", PAYLOAD)
    await client.submit("text-to-video", PAYLOAD)
    await settled(alerts)
    texts = [text for _, text in sink.posts]
    assert [t.split(" ")[0] for t in texts] == ["⛔", "✅", "⛔", "✅"]
    assert "lack of funds (HTTP 402)" in texts[0]


async def test_a_failing_chat_side_is_logged_and_the_state_still_kept(
    http: aiohttp.ClientSession,
    modelslab: FakeModelsLab,
    sessions: SessionFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = RecordingSink()
    sink.fail = True
    alerts, _ = make_alerts(http, modelslab, sessions, sink, owner_channel_id=OWNER_CHANNEL, threshold_usd=5)
    modelslab.balance = 1.0
    await alerts.check_wallet()
    await settled(alerts)
    assert alerts.problems.keys() == {ProviderProblem.LOW_FUNDS}
    assert "could not post an owner alert in channel 4242" in caplog.text
    assert "owner alert: ⚠️ The ModelsLab wallet is low" in caplog.text  # the log always has it


async def test_the_watch_reads_the_wallet_periodically(
    http: aiohttp.ClientSession, modelslab: FakeModelsLab, sessions: SessionFactory
) -> None:
    sink = RecordingSink()
    alerts, _ = make_alerts(http, modelslab, sessions, sink, owner_channel_id=OWNER_CHANNEL, threshold_usd=5)
    modelslab.balance = 2.0
    watch = asyncio.create_task(alerts.watch(interval=0.05))
    try:
        for _ in range(100):
            if sink.posts:
                break
            await asyncio.sleep(0.02)
        modelslab.balance = 20.0
        for _ in range(100):
            if len(sink.posts) == 2:
                break
            await asyncio.sleep(0.02)
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
        await alerts.close()
    assert len(sink.posts) == 2
    assert len([r for r in modelslab.requests if r.path.endswith("/wallet_balance")]) >= 2
