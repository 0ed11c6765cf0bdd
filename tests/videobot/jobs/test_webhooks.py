"""Webhooks as hints: the inbox on a real database, and the runner with the web route on loopback,
against the fake ModelsLab that posts its webhooks the way the real one does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from storage.tables import Job
from storage.types import utcnow
from tests.videobot.jobs.conftest import START, Harness, crash
from videobot.jobs import JobState
from videobot.jobs.runner import JobRunner
from videobot.jobs.transitions import REASON_UNCERTAIN_SUBMIT
from videobot.jobs.webhooks import WebhookInbox, WebhookOutcome, job_id_of, track_id_of
from videobot.metrics import Metrics
from videobot.modelslab import JobStatus
from videobot.modelslab.webhook import WebhookHint
from web.server import WebServer
from web.webhooks import webhook_routes

SECRET = "0123456789abcdef0123456789abcdef01234567"


def hint(track_id: str | None, provider_id: str | None, status: JobStatus = JobStatus.SUCCESS) -> WebhookHint:
    return WebhookHint(track_id=track_id, provider_id=provider_id, status=status)


async def put(harness: Harness, job_id: int | None, **values: object) -> None:
    async with harness.sessions() as session, session.begin():
        row = await session.get(Job, job_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


# -- the inbox ----------------------------------------------------------------------------------


def test_track_ids_round_trip_and_nothing_else_names_a_job() -> None:
    assert job_id_of(track_id_of(42)) == 42
    for other in (None, "job-0", "job-", "job-12x", "12", "JOB-12", "job--1", "job-" + "9" * 30):
        assert job_id_of(other) is None


async def test_an_uncertain_submit_adopts_the_provider_id_once_and_only_while_it_waits(
    harness: Harness,
) -> None:
    inbox = WebhookInbox(harness.sessions)
    job = await harness.queue()
    assert job.id is not None
    wake = inbox.listen(job.id)
    track = track_id_of(job.id)

    # Not submitted yet: nothing went out, so nothing can be adopted.
    await put(harness, job.id, state=JobState.SUBMITTING)
    assert await inbox.receive(hint(track, "777")) is WebhookOutcome.UNKNOWN
    await put(harness, job.id, submitted_at=utcnow())
    assert await inbox.receive(hint(track, None)) is WebhookOutcome.UNKNOWN
    assert not wake.is_set()

    assert await inbox.receive(hint(track, "777")) is WebhookOutcome.ADOPTED
    assert wake.is_set()
    assert (await harness.job(job.id)).provider_id == "777"
    wake.clear()

    # The duplicate wakes it again (a fetch is due) but adopts nothing new; a forgery with
    # another provider id changes nothing at all.
    assert await inbox.receive(hint(track, "777")) is WebhookOutcome.WOKE
    wake.clear()
    assert await inbox.receive(hint(track, "666")) is WebhookOutcome.MISMATCH
    assert not wake.is_set()
    assert (await harness.job(job.id)).provider_id == "777"


async def test_forged_duplicate_and_stale_webhooks_change_nothing(harness: Harness) -> None:
    inbox = WebhookInbox(harness.sessions)
    rendering = await harness.queue()
    delivered = await harness.queue()
    await put(harness, rendering.id, state=JobState.PROCESSING, provider_id="100", submitted_at=utcnow())
    await put(harness, delivered.id, state=JobState.DELIVERED, provider_id="200", submitted_at=utcnow())
    assert rendering.id is not None and delivered.id is not None
    wake = inbox.listen(rendering.id)

    forged = [
        hint(track_id_of(rendering.id), "999"),  # our job, someone else's provider id
        hint(track_id_of(delivered.id), "200"),  # a duplicate after delivery
        hint(None, "200"),
        hint(track_id_of(123456), None),  # no such job
        hint("their-own-track-id", "555"),
    ]
    for each in forged:
        assert await inbox.receive(each) in (WebhookOutcome.UNKNOWN, WebhookOutcome.MISMATCH)
    assert not wake.is_set()
    assert (await harness.job(rendering.id)).provider_id == "100"
    assert (await harness.job(delivered.id)).state == JobState.DELIVERED

    # Found by provider id alone (a webhook without our track id) or by both: a fetch is due.
    assert await inbox.receive(hint(None, "100")) is WebhookOutcome.WOKE
    assert wake.is_set()
    inbox.forget(rendering.id)
    assert await inbox.receive(hint(track_id_of(rendering.id), "100")) is WebhookOutcome.WOKE


# -- the runner with the route ------------------------------------------------------------------


@dataclass
class Hooked:
    """A runner whose submits carry the webhook URL of its own web server on loopback."""

    runner: JobRunner
    server: WebServer
    metrics: Metrics


StartHooked = Callable[..., Awaitable[Hooked]]


@pytest.fixture
async def hooked(harness: Harness) -> AsyncIterator[StartHooked]:
    """Start a runner with webhooks on (RunnerConfig overrides as keywords)."""
    servers: list[WebServer] = []

    async def start(**overrides: object) -> Hooked:
        metrics = Metrics(process_metrics=False)
        holder: list[JobRunner] = []

        async def receive(h: WebhookHint) -> WebhookOutcome:
            return await holder[0].webhooks.receive(h)

        server = WebServer(host="127.0.0.1", port=0)
        server.add_routes(webhook_routes(SECRET, receive, metrics))
        await server.start()
        servers.append(server)
        url = f"http://127.0.0.1:{server.bound_port}/modelslab/{SECRET}"
        runner = harness.runner(webhook_url=url, **overrides)
        holder.append(runner)
        await runner.start()
        return Hooked(runner, server, metrics)

    try:
        yield start
    finally:
        for runner in harness.runners:
            await runner.stop()
        for server in servers:
            await server.stop()


def outcomes(metrics: Metrics) -> dict[str, float]:
    return {
        sample.labels["outcome"]: sample.value
        for metric in metrics.webhooks.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


async def test_a_webhook_wakes_the_job_and_one_fetch_delivers_it(
    harness: Harness, hooked: StartHooked
) -> None:
    # Polls far apart: only the webhook can make this quick.
    setup = await hooked(poll_max=10.0)
    harness.fake.webhook_mode = "twice"
    job = await harness.queue()
    done = await harness.wait_for(job.id, JobState.DELIVERED, timeout=8)

    [submit] = harness.fake.submits()
    assert (submit.json or {})["webhook"].endswith(f"/modelslab/{SECRET}")
    assert len(harness.fake.fetches()) == 1  # two ModelsLab calls for the job in all
    assert [j for j, _ in harness.presenter.files] == [done.id]
    deliveries = await harness.fake.wait_for_webhooks(2)
    assert [d.http_status for d in deliveries] == [200, 200]
    await harness.eventually(lambda: sum(outcomes(setup.metrics).values()) == 2, what="both counted")
    assert outcomes(setup.metrics)["woke"] >= 1


@pytest.mark.parametrize(
    ("fault", "options"),
    [
        ("connection_drop", {"create_job": True}),
        # The webhook comes before the client gives up on the reply (request_timeout is 2 s).
        ("timeout", {"create_job": True, "delay": 5}),
        ("no_id", {}),
    ],
)
async def test_a_lost_submit_reply_is_recovered_through_the_webhook(
    harness: Harness, hooked: StartHooked, fault: str, options: dict[str, object]
) -> None:
    await hooked(webhook_wait=15.0, webhook_recheck=10.0)
    harness.fake.fail_next_submit(fault, **options)
    job = await harness.queue()
    done = await harness.wait_for(job.id, JobState.DELIVERED, timeout=10)

    assert len(harness.fake.submits()) == 1
    assert len(harness.fake.fetches()) == 1
    [rendered] = harness.fake.jobs.values()
    assert done.provider_id == rendered.provider_id
    assert await harness.ledger(job.id) == [("debit", -job.cost)]  # charged once, no refund
    assert [j for j, _ in harness.presenter.files] == [done.id]


async def test_an_uncertain_submit_without_a_webhook_is_refunded_after_the_wait(
    harness: Harness,
    hooked: StartHooked,
) -> None:
    await hooked(webhook_wait=0.6, webhook_recheck=0.2)
    harness.fake.webhook_mode = "never"
    harness.fake.fail_next_submit("connection_drop", create_job=True)
    job = await harness.queue()
    failed = await harness.wait_for(job.id, JobState.FAILED, timeout=10)

    assert failed.failure_reason == REASON_UNCERTAIN_SUBMIT
    assert failed.submitted_at is not None and failed.finished_at is not None
    assert failed.finished_at - failed.submitted_at >= timedelta(seconds=0.6)
    assert len(harness.fake.submits()) == 1
    assert harness.fake.fetches() == []
    assert await harness.balance() == START


async def test_a_job_left_uncertain_by_a_stopped_process_waits_from_its_submit_time(
    harness: Harness,
    hooked: StartHooked,
) -> None:
    stale = await harness.queue()
    # Caught mid-submit long ago: its wait is over, so it is refunded at once, never resent.
    await put(
        harness,
        stale.id,
        state=JobState.SUBMITTING,
        submitted_at=utcnow() - timedelta(seconds=30),
        lease_owner="dead-process",
        lease_expires_at=utcnow() - timedelta(seconds=1),
    )
    # Submitted with its reply lost, then its process dies before the webhook comes; the webhook
    # reaches the dead process's web server (here still up), and the process that takes the job
    # over finds the id in the database.
    harness.fake.webhook_delay = 1.5
    harness.fake.fail_next_submit("connection_drop", create_job=True)
    first = await hooked(webhook_wait=20.0)
    failed = await harness.wait_for(stale.id, JobState.FAILED, timeout=5)
    assert failed.failure_reason == REASON_UNCERTAIN_SUBMIT
    job = await harness.queue()
    await harness.eventually(lambda: len(harness.fake.submits()) == 1, what="the submit")
    await crash(first.runner)

    await hooked(webhook_wait=20.0, webhook_recheck=0.2)
    done = await harness.wait_for(job.id, JobState.DELIVERED, timeout=15)
    assert len(harness.fake.submits()) == 1
    assert await harness.ledger(job.id) == [("debit", -job.cost)]
    assert [j for j, _ in harness.presenter.files] == [done.id]


async def test_a_flood_of_webhooks_costs_no_more_fetches_than_polling(
    harness: Harness, hooked: StartHooked
) -> None:
    harness.fake.render_seconds = 1.5
    setup = await hooked(poll_min=0.5, poll_max=10.0)
    job = await harness.queue()
    rendering = await harness.wait_for(job.id, JobState.PROCESSING)
    assert rendering.id is not None and rendering.provider_id is not None
    flood = hint(track_id_of(rendering.id), rendering.provider_id)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(20):
        assert await setup.runner.webhooks.receive(flood) is WebhookOutcome.WOKE
        await asyncio.sleep(0.05)
    # One fetch at once, then one per poll_min at most (without the limit: 20).
    assert len(harness.fake.fetches()) <= 1 + (loop.time() - started) // 0.5
    await harness.wait_for(job.id, JobState.DELIVERED, timeout=8)
