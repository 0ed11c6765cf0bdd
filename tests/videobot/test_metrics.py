"""The metrics: database numbers read at scrape time, counts fed by the observed client, the job
presenter and discord.py's HTTP trace, exposed in the Prometheus text format (read back with
prometheus-client's own parser)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.states import JobState
from storage.types import utcnow
from tests.fakes.modelslab_server import FakeModelsLab
from tests.storage.factories import insert_job
from videobot.catalog import load_catalog
from videobot.credits import Credits, Member
from videobot.metrics import Metrics
from videobot.modelslab import InsufficientFunds, ModelsLabClient
from videobot.rulebook import Rulebook

KEY = "metrics-modelslab-key"


def read(metrics: Metrics) -> dict[str, float]:
    """Every sample as ``{'name{a="b"}': value}``, parsed by prometheus-client's own parser."""
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


async def test_jobs_queue_in_flight_and_ledger_come_from_the_database(sessions: SessionFactory) -> None:
    for state in ["queued", "queued", "submitting", "processing", "delivered", "failed"]:
        await insert_job(sessions, state=state)
    await insert_job(sessions, state="queued", guild_id=999)  # every server counts
    credits = Credits(sessions, Rulebook(sessions, load_catalog(), default_starting_balance=120))
    await credits.grant(Member(guild_id=111, user_id=5), 30, actor_id=9, reason="welcome")
    metrics = Metrics(sessions=sessions, max_in_flight=5, process_metrics=False)

    await metrics.refresh()
    values = read(metrics)
    assert values['videobot_jobs{state="queued"}'] == 3
    assert values['videobot_jobs{state="processing"}'] == 1
    assert values['videobot_jobs{state="timed_out"}'] == 0  # every state present
    assert values["videobot_queue_length"] == 3
    assert values["videobot_jobs_in_flight"] == 2
    assert values["videobot_jobs_in_flight_limit"] == 5
    assert values["videobot_database_up"] == 1
    assert values['videobot_ledger_entries_total{kind="start"}'] == 1
    assert values['videobot_ledger_credits_total{kind="start"}'] == 120
    assert values['videobot_ledger_credits_total{kind="grant"}'] == 30
    assert values['videobot_ledger_credits_total{kind="debit"}'] == 0

    # A scrape sees changes at once: nothing is cached between scrapes.
    await insert_job(sessions, state="queued")
    await metrics.refresh()
    assert read(metrics)["videobot_queue_length"] == 4


async def test_a_database_that_does_not_answer_reports_down_and_no_stale_numbers() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = create_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/none")
    try:
        metrics = Metrics(sessions=create_session_factory(engine), max_in_flight=5, process_metrics=False)
        await metrics.refresh(within_seconds=5)
        values = read(metrics)
    finally:
        await engine.dispose()
    assert values["videobot_database_up"] == 0
    assert values["videobot_jobs_in_flight_limit"] == 5
    assert not any(name.startswith(("videobot_jobs{", "videobot_queue_length")) for name in values)


@pytest.fixture
async def modelslab() -> AsyncIterator[FakeModelsLab]:
    async with FakeModelsLab(api_key=KEY, render_seconds=0.1) as fake:
        yield fake


async def test_modelslab_calls_are_counted_by_call_and_error_type(modelslab: FakeModelsLab) -> None:
    metrics = Metrics(process_metrics=False)
    payload = {"model_id": "veo-3.1-fast", "prompt": "a fox", "duration": "4", "aspect_ratio": "16:9"}
    async with aiohttp.ClientSession() as http:
        client = ModelsLabClient(http, api_key=KEY, base_url=modelslab.base_url, observers=[metrics])
        job = await client.submit("text-to-video", payload)
        assert job.provider_id is not None
        await client.fetch(job.provider_id)
        modelslab.fail_next_submit("insufficient_credits")
        with pytest.raises(InsufficientFunds):
            await client.submit("text-to-video", payload)
        await client.wallet_balance()
    values = read(metrics)
    assert values['videobot_modelslab_requests_total{call="submit"}'] == 2
    assert values['videobot_modelslab_requests_total{call="fetch"}'] == 1
    assert values['videobot_modelslab_requests_total{call="wallet_balance"}'] == 1
    assert values['videobot_submits_total{outcome="accepted"}'] == 1
    assert values['videobot_submits_total{outcome="InsufficientFunds"}'] == 1
    assert values['videobot_provider_errors_total{call="submit",error="InsufficientFunds"}'] == 1
    assert KEY not in metrics.exposition()[0].decode()


async def test_an_observer_that_fails_does_not_change_the_answer(modelslab: FakeModelsLab) -> None:
    class Broken:
        def modelslab_answered(self, call: str) -> None:
            raise RuntimeError("observer bug")

        def modelslab_failed(self, call: str, error: Exception) -> None:
            raise RuntimeError("observer bug")

    async with aiohttp.ClientSession() as http:
        client = ModelsLabClient(http, api_key=KEY, base_url=modelslab.base_url, observers=[Broken()])
        assert await client.wallet_balance() == modelslab.balance


async def test_job_states_are_counted_once_with_their_durations(sessions: SessionFactory) -> None:
    now = utcnow()
    metrics = Metrics(process_metrics=False, clock=lambda: now)
    rendering = await insert_job(sessions, state="delivering", submitted_at=now - timedelta(seconds=42))
    metrics.job_changed(rendering)
    metrics.job_changed(rendering)  # shown twice (a retried edit): counted once
    done = await insert_job(
        sessions,
        state="delivered",
        created_at=now - timedelta(seconds=100),
        finished_at=now - timedelta(seconds=10),
    )
    metrics.job_changed(done)
    for state in (JobState.FAILED, JobState.TIMED_OUT, JobState.CANCELLED):
        metrics.job_changed(await insert_job(sessions, state=state))
    values = read(metrics)
    assert values["videobot_job_render_seconds_count"] == 1
    assert values["videobot_job_render_seconds_sum"] == pytest.approx(42)
    assert values['videobot_job_render_seconds_bucket{le="45.0"}'] == 1
    assert values['videobot_job_render_seconds_bucket{le="30.0"}'] == 0
    assert values["videobot_job_end_to_end_seconds_sum"] == pytest.approx(90)
    assert values['videobot_job_refunds_total{state="failed"}'] == 1
    assert values['videobot_job_refunds_total{state="timed_out"}'] == 1
    assert values['videobot_job_refunds_total{state="cancelled"}'] == 1


async def test_discord_rest_calls_and_429s_are_counted_through_the_trace() -> None:
    async def ok(_request: web.Request) -> web.Response:
        return web.json_response({})

    async def limited(_request: web.Request) -> web.Response:
        headers = {"X-RateLimit-Scope": "shared", "Retry-After": "1", "Via": "1.1 google"}
        return web.json_response({"retry_after": 1, "global": False}, status=429, headers=headers)

    app = web.Application()
    app.router.add_get("/users/@me", ok)
    app.router.add_post("/channels/1/messages", limited)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    metrics = Metrics(process_metrics=False)
    try:
        async with aiohttp.ClientSession(trace_configs=[metrics.discord_trace()]) as http:
            for _ in range(2):
                async with http.get(f"http://127.0.0.1:{port}/users/@me"):
                    pass
            async with http.post(f"http://127.0.0.1:{port}/channels/1/messages"):
                pass
    finally:
        await runner.cleanup()
    async with aiohttp.ClientSession(trace_configs=[metrics.discord_trace()]) as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"http://127.0.0.1:{port}/users/@me")
    values = read(metrics)
    assert values['videobot_discord_requests_total{method="GET",status="200"}'] == 2
    assert values['videobot_discord_requests_total{method="POST",status="429"}'] == 1
    assert values['videobot_discord_requests_total{method="GET",status="error"}'] == 1
    assert values['videobot_discord_rate_limits_total{scope="shared"}'] == 1


def test_each_bot_has_its_own_registry() -> None:
    first, second = Metrics(process_metrics=False), Metrics(process_metrics=False)
    first.deliveries.labels("file").inc()
    assert read(first)['videobot_deliveries_total{how="file"}'] == 1
    assert 'videobot_deliveries_total{how="file"}' not in read(second)
    assert "process_resident_memory_bytes" in read(Metrics())
