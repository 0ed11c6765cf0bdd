"""Webhooks: parse_webhook reads them as hints only; the fake sends them as ModelsLab documents."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.modelslab_server import FakeModelsLab
from videobot.modelslab import BadRequest, JobStatus, ModelsLabClient, WebhookHint, parse_webhook

VEO = {"model_id": "veo-3.1-fast", "prompt": "a fox", "aspect_ratio": "16:9", "duration": 8}
OUT = "https://pub-cdn.modelslab.com/generations/a1.mp4"


# -- parse_webhook --------------------------------------------------------------------------------


def test_documented_success_payload():
    body = {
        "status": "success",
        "id": 155262350,
        "output": [OUT],
        "generationTime": 41.2,
        "track_id": "job-12",
        "meta": {"prompt": "a fox"},
    }
    assert parse_webhook(body) == WebhookHint(
        track_id="job-12", provider_id="155262350", status=JobStatus.SUCCESS
    )


@pytest.mark.parametrize("status", ["failed", "error", "FAILED"])
def test_documented_failure_payload(status):
    body = {"status": status, "id": "155262350", "message": "Processing failed", "track_id": "job-12"}
    assert parse_webhook(body) == WebhookHint("job-12", "155262350", JobStatus.FAILED)


def test_a_hint_carries_no_urls_even_when_the_body_claims_success():
    hint = parse_webhook({"status": "success", "track_id": "job-1", "output": ["http://169.254.169.254/"]})
    assert hint == WebhookHint("job-1", None, JobStatus.SUCCESS)
    assert not hasattr(hint, "output_urls")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": "processing", "id": 7}, WebhookHint(None, "7", JobStatus.PROCESSING)),
        ({"id": 7}, WebhookHint(None, "7", JobStatus.PROCESSING)),
        ({"status": "weird", "track_id": 12}, WebhookHint("12", None, JobStatus.PROCESSING)),
        (
            {"status": "success", "fetch_result": "https://modelslab.com/api/v7/video-fusion/fetch/99/"},
            WebhookHint(None, "99", JobStatus.SUCCESS),
        ),
    ],
)
def test_other_shapes(body, expected):
    assert parse_webhook(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "success"},
        {"status": "success", "output": [OUT]},
        {"track_id": "", "id": ""},
        {"track_id": "has spaces", "id": True},
        {"track_id": "x" * 500},
        {"track_id": ["job-1"], "id": {"n": 1}},
        {1: "a", None: "b"},
        [],
        ["job-1"],
        "job-1",
        None,
        42,
    ],
)
def test_junk_is_none(body: Any):
    assert parse_webhook(body) is None


# -- the fake sends webhooks ----------------------------------------------------------------------


@dataclass
class Receiver:
    """A loopback webhook endpoint that records what it gets and answers ``status``."""

    url: str
    bodies: list[Any] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    status: int = 200


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        target.bodies.append(await request.json())
        target.times.append(time.monotonic())
        return web.Response(status=target.status)

    app = web.Application()
    app.router.add_post("/hooks/{secret}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    target.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/s3cret-path"
    yield target
    await runner.cleanup()


async def test_submit_passes_track_id_and_webhook_through(client: ModelsLabClient, fake, receiver):
    await client.submit("text-to-video", {**VEO, "track_id": "job-1", "webhook": receiver.url})
    await client.submit("text-to-video", VEO, track_id="job-2", webhook=receiver.url)
    sent = [r.json for r in fake.submits()]
    assert [(s["track_id"], s["webhook"]) for s in sent] == [("job-1", receiver.url), ("job-2", receiver.url)]


async def test_submit_refuses_conflicting_or_bad_webhook_fields(client, fake, receiver):
    with pytest.raises(ValueError, match="track_id given twice"):
        await client.submit("text-to-video", {**VEO, "track_id": "a"}, track_id="b")
    with pytest.raises(ValueError, match="webhook must be"):
        await client.submit("text-to-video", VEO, webhook="not a url")
    with pytest.raises(ValueError, match="webhook must be"):
        await client.submit("text-to-video", {**VEO, "webhook": 5})
    assert fake.submits() == []


async def test_a_finished_job_posts_the_documented_success_payload(client, fake, receiver):
    job = await client.submit("text-to-video", VEO, track_id="job-7", webhook=receiver.url)
    assert job.provider_id is not None
    assert receiver.bodies == []  # nothing before the job is done

    fake.finish(job.provider_id)
    [delivery] = await fake.wait_for_webhooks(1)

    [body] = receiver.bodies
    assert body["status"] == "success"
    assert body["id"] == int(job.provider_id)
    assert body["track_id"] == "job-7"
    assert body["output"] == [fake.jobs[job.provider_id].output_url]
    assert isinstance(body["generationTime"], float)
    assert body["meta"]["prompt"] == "a fox"
    assert delivery.http_status == 200
    assert not delivery.forged
    assert parse_webhook(body) == WebhookHint("job-7", job.provider_id, JobStatus.SUCCESS)


async def test_a_job_finishing_by_itself_sends_its_webhook(fake, session, receiver):
    fake.render_seconds = 0.1
    client = ModelsLabClient(session, api_key=fake.api_key, base_url=fake.base_url, request_timeout=2.0)
    job = await client.submit("text-to-video", VEO, track_id="job-8", webhook=receiver.url)
    await fake.wait_for_webhooks(1)
    assert receiver.bodies[0]["id"] == int(job.provider_id or 0)
    assert receiver.bodies[0]["status"] == "success"


async def test_a_failed_job_posts_the_documented_failure_payload(client, fake, receiver):
    job = await client.submit("text-to-video", VEO, track_id="job-9", webhook=receiver.url)
    assert job.provider_id is not None
    fake.fail_job(job.provider_id, "Processing failed: NSFW content")
    await fake.wait_for_webhooks(1)
    assert receiver.bodies == [
        {
            "status": "failed",
            "id": int(job.provider_id),
            "message": "Processing failed: NSFW content",
            "track_id": "job-9",
        }
    ]


async def test_duplicate_webhooks(client, fake, receiver):
    fake.webhook_mode = "twice"
    job = await client.submit("text-to-video", VEO, track_id="job-10", webhook=receiver.url)
    fake.finish(job.provider_id or "")
    await fake.wait_for_webhooks(2)
    assert len(receiver.bodies) == 2
    assert receiver.bodies[0] == receiver.bodies[1]


async def test_lost_webhooks(client, fake, receiver):
    fake.webhook_mode = "never"
    job = await client.submit("text-to-video", VEO, track_id="job-11", webhook=receiver.url)
    fake.finish(job.provider_id or "")
    await asyncio.sleep(0.1)
    assert receiver.bodies == []
    assert fake.webhook_deliveries == []
    # fetch stays the source of truth
    assert (await client.fetch(job.provider_id or "")).status is JobStatus.SUCCESS


async def test_delayed_webhooks(client, fake, receiver):
    fake.webhook_delay = 0.3
    job = await client.submit("text-to-video", VEO, track_id="job-12", webhook=receiver.url)
    finished = time.monotonic()
    fake.finish(job.provider_id or "")
    await fake.wait_for_webhooks(1)
    assert receiver.times[0] - finished >= 0.3


async def test_a_receiver_that_fails_is_recorded(client, fake, receiver):
    receiver.status = 500
    job = await client.submit("text-to-video", VEO, track_id="job-13", webhook=receiver.url)
    fake.finish(job.provider_id or "")
    [delivery] = await fake.wait_for_webhooks(1)
    assert delivery.http_status == 500


async def test_an_unreachable_receiver_is_recorded_without_an_answer(client, fake):
    job = await client.submit("text-to-video", VEO, webhook="http://127.0.0.1:9/hooks/x")
    fake.finish(job.provider_id or "")
    [delivery] = await fake.wait_for_webhooks(1)
    assert delivery.http_status is None


async def test_a_test_can_forge_a_webhook(client, fake, receiver):
    job = await client.submit("text-to-video", VEO, track_id="job-14")
    payload = fake.webhook_payload(job.provider_id or "")
    assert payload["status"] == "success"  # what it would claim once done, without it being done
    status = await fake.send_webhook(receiver.url, {**payload, "output": ["http://169.254.169.254/"]})
    assert status == 200
    assert fake.webhook_deliveries[0].forged
    assert receiver.bodies[0]["output"] == ["http://169.254.169.254/"]
    assert fake.jobs[job.provider_id or ""].state == "processing"  # the claim was false
    assert await fake.send_webhook(receiver.url, ["junk"]) == 200
    assert parse_webhook(receiver.bodies[1]) is None


async def test_jobs_without_a_webhook_send_none(client, fake, receiver):
    job = await client.submit("text-to-video", VEO, track_id="job-15")
    fake.finish(job.provider_id or "")
    await asyncio.sleep(0.05)
    assert fake.webhook_deliveries == []


async def test_pending_webhooks_do_not_outlive_the_fake(session, receiver):
    async with FakeModelsLab(render_seconds=3600) as fake:
        client = ModelsLabClient(session, api_key=fake.api_key, base_url=fake.base_url)
        await client.submit("text-to-video", VEO, webhook=receiver.url)
        started = time.monotonic()
    assert time.monotonic() - started < 2
    assert receiver.bodies == []


async def test_the_fake_refuses_a_webhook_that_is_not_a_url(fake, session):
    body = {**VEO, "key": fake.api_key, "webhook": "ftp://x"}
    async with session.post(f"{fake.base_url}/v7/video-fusion/text-to-video", json=body) as response:
        assert response.status == 400
        assert await response.json() == {
            "status": "error",
            "message": {"webhook": ["The webhook must be a valid URL."]},
        }
    assert fake.jobs == {}


async def test_the_webhook_secret_never_reaches_logs_or_errors(client, fake, caplog):
    caplog.set_level(logging.DEBUG)
    hook = "https://bot.example.com/modelslab/webhook/WEBHOOK-SECRET-0123456789"
    fake.fail_next_submit("bad_request", message=f"Cannot reach {hook}")
    fake.fail_next_submit("bad_request", message="Bad path /modelslab/webhook/WEBHOOK-SECRET-0123456789")
    errors = []
    for _ in range(2):
        with pytest.raises(BadRequest) as caught:
            await client.submit("text-to-video", VEO, track_id="job-1", webhook=hook)
        errors.append(caught.value)
    await client.submit("text-to-video", VEO, webhook=hook)

    assert fake.submits()[0].json["webhook"] == hook  # sent as given
    for error in errors:
        assert "WEBHOOK-SECRET" not in str(error)
        assert "[redacted]" in str(error)
    assert "https://bot.example.com/[redacted]" in caplog.text  # the log still says one was set
    assert "WEBHOOK-SECRET" not in caplog.text
    # Only for that call: a later error text is not scrubbed of it.
    fake.fail_next_submit("bad_request", message="/modelslab/webhook/WEBHOOK-SECRET-0123456789")
    with pytest.raises(BadRequest, match="WEBHOOK-SECRET"):
        await client.submit("text-to-video", VEO)
