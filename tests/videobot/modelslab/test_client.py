"""The ModelsLab client against the loopback fake, over real aiohttp: every error style and quirk."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.modelslab_server import FakeModelsLab
from videobot.modelslab import (
    DEFAULT_RETRY_AFTER,
    MAX_PROVIDER_DELAY,
    BadRequest,
    DownloadedVideo,
    HostedFile,
    InsufficientFunds,
    InvalidKey,
    JobNotFound,
    JobStatus,
    ModelsLabClient,
    ModelsLabError,
    PlanRestricted,
    ProviderFailed,
    ProviderJob,
    QueueFull,
    Transient,
    UnknownModel,
    allowed_private_hosts,
    download_video,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
VEO = {"model_id": "veo-3.1-fast", "prompt": "a red fox in snow", "aspect_ratio": "16:9", "duration": 8}


def wrong_key_client(fake, session):
    return ModelsLabClient(session, api_key="not-the-key", base_url=fake.base_url, request_timeout=2.0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def pid(job: ProviderJob) -> str:
    """The job's provider id, which a processing job always has."""
    assert job.provider_id is not None
    return job.provider_id


async def wan_payload(client: ModelsLabClient, **extra: object) -> dict[str, object]:
    hosted = await client.host_file(PNG, "image/png")
    return {
        "model_id": "wan2.6-i2v",
        "prompt": "she turns and smiles",
        "init_image": hosted.url,
        "duration": "5",
        "resolution": "720p",
        **extra,
    }


# -- submit: the happy paths --------------------------------------------------------------------


async def test_submit_text_to_video_returns_a_processing_job(client, fake):
    job = await client.submit("text-to-video", VEO)

    assert job.status is JobStatus.PROCESSING
    assert job.provider_id == "155262350"
    assert job.eta_seconds == 61.0
    assert job.output_urls == ()
    [sent] = fake.submits()
    assert sent.path == "/api/v7/video-fusion/text-to-video"
    assert sent.json == {**VEO, "key": fake.api_key}


async def test_submit_never_lets_the_payload_replace_the_key(client, fake):
    await client.submit("text-to-video", {**VEO, "key": "someone-elses-key"})
    assert fake.submits()[0].json["key"] == fake.api_key


async def test_submit_image_to_video_hands_over_a_url_the_provider_can_fetch(client, fake):
    job = await client.submit("image-to-video", await wan_payload(client))

    assert job.status is JobStatus.PROCESSING
    [fetched] = fake.input_fetches
    assert fetched.field == "init_image"
    assert fetched.ok
    assert fetched.size == len(PNG)
    assert fake.submits()[0].path == "/api/v7/video-fusion/image-to-video"


async def test_submit_with_audio_fetches_both_inputs(client, fake):
    audio = fake.host(b"ID3\x04" + b"\x00" * 32, "audio/mpeg")
    payload = await wan_payload(client, model_id="omni-human-1.5", init_audio=audio)
    del payload["duration"], payload["resolution"]
    await client.submit("image-to-video", payload)
    assert [(f.field, f.ok) for f in fake.input_fetches] == [("init_image", True), ("init_audio", True)]


async def test_immediate_success_on_submit(client, fake):
    fake.quirks.immediate_success = True
    job = await client.submit("text-to-video", VEO)
    assert job.status is JobStatus.SUCCESS
    name = fake.jobs[job.provider_id].output_name
    assert job.output_urls == (f"{fake.server_url}/generations/{name}", f"{fake.server_url}/proxy/{name}")


@pytest.mark.parametrize("quirk", ["queued_status_first", "unknown_status_first"])
async def test_queued_or_unknown_status_on_submit_is_processing(client, fake, quirk):
    setattr(fake.quirks, quirk, True)
    job = await client.submit("text-to-video", VEO)
    assert job.status is JobStatus.PROCESSING
    assert job.provider_id == "155262350"


async def test_string_id_and_float_eta_on_submit(client, fake):
    fake.quirks.string_ids = True
    fake.quirks.float_eta = True
    job = await client.submit("text-to-video", VEO)
    assert job.provider_id == "155262350"
    assert job.eta_seconds is not None
    assert 60 < job.eta_seconds <= 60.5
    assert not job.eta_seconds.is_integer()


async def test_processing_message_under_the_messege_spelling(client, fake):
    fake.quirks.messege_spelling = True
    job = await client.submit("text-to-video", VEO)
    assert job.message == "Request processing in background, you can fetch it later."


async def test_unknown_endpoint_and_empty_id_are_programming_errors(client, fake):
    with pytest.raises(ValueError, match="video-to-video"):
        await client.submit("video-to-video", VEO)
    with pytest.raises(ValueError, match="empty"):
        await client.fetch(" ")
    assert fake.requests == []


# -- submit: never retried, and honest about whether the job may exist ---------------------------


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_503", 503)])
async def test_5xx_on_submit_is_transient_and_never_retried(client, fake, kind, status):
    fake.fail_next_submit(kind)
    with pytest.raises(Transient) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.http_status == status
    assert caught.value.request_may_have_arrived is True
    assert len(fake.submits()) == 1


async def test_timeout_on_submit_is_transient_the_job_may_exist(fake, session):
    client = ModelsLabClient(session, api_key=fake.api_key, base_url=fake.base_url, request_timeout=0.3)
    fake.fail_next_submit("timeout", create_job=True)
    with pytest.raises(Transient) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.request_may_have_arrived is True
    assert len(fake.submits()) == 1
    assert len(fake.jobs) == 1  # it did exist: that is why the client must not resubmit


async def test_connection_drop_on_submit_is_transient_and_may_have_arrived(client, fake):
    fake.fail_next_submit("connection_drop", create_job=True)
    with pytest.raises(Transient) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.request_may_have_arrived is True
    assert len(fake.submits()) == 1


async def test_connection_refused_means_the_request_never_arrived(session):
    client = ModelsLabClient(session, api_key="k", base_url=f"http://127.0.0.1:{closed_port()}/api")
    with pytest.raises(Transient) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.request_may_have_arrived is False
    assert caught.value.http_status is None


async def test_html_with_http_200_is_transient(client, fake):
    fake.fail_next_submit("not_json")
    with pytest.raises(Transient) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.http_status == 200
    assert caught.value.request_may_have_arrived is True


async def test_processing_without_an_id_is_transient_not_a_job(client, fake):
    fake.fail_next_submit("no_id")
    with pytest.raises(Transient) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.request_may_have_arrived is True


# -- submit: every error style -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("quirk", "expected_http"),
    [(None, 401), ("http200_errors", 200)],
)
@pytest.mark.parametrize("spelling", [None, "messege_spelling", "error_key_instead_of_message"])
async def test_wrong_key_is_invalid_key_in_every_style(fake, session, quirk, expected_http, spelling):
    for name in (quirk, spelling):
        if name:
            setattr(fake.quirks, name, True)
    with pytest.raises(InvalidKey) as caught:
        await wrong_key_client(fake, session).submit("text-to-video", VEO)
    assert caught.value.http_status == expected_http
    assert "Invalid API key" in str(caught.value)
    assert fake.jobs == {}


@pytest.mark.parametrize("http200", [False, True])
async def test_insufficient_credits(client, fake, http200):
    fake.fail_next_submit("insufficient_credits", http200=http200)
    with pytest.raises(InsufficientFunds) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.http_status == (200 if http200 else 402)
    assert "Insufficient credits" in str(caught.value)


@pytest.mark.parametrize("message", ["Your wallet is empty", "Low balance, please top up"])
async def test_funds_recognised_by_wallet_or_balance_wording(client, fake, message):
    fake.fail_next_submit("insufficient_credits", http200=True, message=message)
    with pytest.raises(InsufficientFunds):
        await client.submit("text-to-video", VEO)


@pytest.mark.parametrize("http200", [False, True])
async def test_plan_gate(client, fake, http200):
    fake.fail_next_submit("plan_gate", http200=http200)
    with pytest.raises(PlanRestricted) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.http_status == (200 if http200 else 403)


async def test_queue_full_when_the_account_queue_is_full(client, fake):
    for _ in range(fake.queue_limit):
        await client.submit("text-to-video", VEO)
    with pytest.raises(QueueFull) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.retry_after == 12
    assert caught.value.queue_limit == 5
    assert caught.value.http_status == 429
    assert "Maximum 5 queued requests" in str(caught.value)
    assert len(fake.jobs) == fake.queue_limit
    assert fake.refused_submits == 1


async def test_queue_frees_up_when_jobs_finish(client, fake):
    jobs = [await client.submit("text-to-video", VEO) for _ in range(fake.queue_limit)]
    fake.finish(jobs[0].provider_id)
    job = await client.submit("text-to-video", VEO)
    assert job.provider_id == "155262355"


async def test_queue_full_as_http_200_keeps_retry_after(client, fake):
    fake.quirks.http200_errors = True
    fake.fail_next_submit("queue_full", retry_after=45)
    with pytest.raises(QueueFull) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.retry_after == 45
    assert caught.value.http_status == 200


async def test_queue_full_without_retry_after_waits_the_documented_30s(client, fake):
    fake.fail_next_submit("queue_full", retry_after=None)
    with pytest.raises(QueueFull) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.retry_after == DEFAULT_RETRY_AFTER == 30


@pytest.mark.parametrize("http200", [False, True])
async def test_validation_errors_are_bad_request_with_field_errors(client, fake, http200):
    fake.quirks.http200_errors = http200
    with pytest.raises(BadRequest) as caught:
        await client.submit("text-to-video", {"model_id": "veo-3.1-fast", "duration": 5})
    assert caught.value.field_errors == {
        "prompt": ["The prompt field is required."],
        "duration": ["The selected duration is invalid."],
    }
    assert "prompt: The prompt field is required." in str(caught.value)
    assert caught.value.http_status == (200 if http200 else 400)


async def test_bad_request_fault_with_custom_fields(client, fake):
    fake.quirks.messege_spelling = True
    fake.fail_next_submit(
        "bad_request", field_errors={"aspect_ratio": ["The selected aspect ratio is invalid."]}
    )
    with pytest.raises(BadRequest) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.field_errors == {"aspect_ratio": ["The selected aspect ratio is invalid."]}


@pytest.mark.parametrize("http200", [False, True])
async def test_model_ids_are_case_sensitive(client, fake, http200):
    fake.quirks.http200_errors = http200
    with pytest.raises(BadRequest) as caught:
        await client.submit("text-to-video", {**VEO, "model_id": "Veo-3.1-fast"})
    assert "Model not found: Veo-3.1-fast" in str(caught.value)
    assert caught.value.field_errors == {}
    assert "model" in caught.value.user_message


async def test_model_not_found_fault(client, fake):
    fake.fail_next_submit("model_not_found")
    with pytest.raises(BadRequest, match=re.escape("Model not found: veo-3.1-fast")):
        await client.submit("text-to-video", VEO)


async def test_image_to_video_model_on_the_text_endpoint_is_not_found(client):
    with pytest.raises(BadRequest, match=re.escape("Model not found: wan2.6-i2v")):
        await client.submit("text-to-video", {**VEO, "model_id": "wan2.6-i2v"})


@pytest.mark.parametrize("http200", [False, True])
async def test_unfetchable_image_is_bad_request(client, fake, http200):
    fake.quirks.http200_errors = http200
    payload = await wan_payload(client, init_image=f"{fake.server_url}/uploads/gone.png")
    with pytest.raises(BadRequest) as caught:
        await client.submit("image-to-video", payload)
    assert "Unable to fetch image from provided URL" in str(caught.value)
    assert caught.value.user_message == "The video service could not open the image. Please upload it again."
    assert fake.input_fetches[-1].http_status == 404
    assert fake.jobs == {}


async def test_unreachable_image_host_is_bad_request(client, fake):
    payload = await wan_payload(client, init_image=f"http://127.0.0.1:{closed_port()}/a.png")
    with pytest.raises(BadRequest, match="Unable to fetch image"):
        await client.submit("image-to-video", payload)
    assert fake.input_fetches[-1].http_status is None


async def test_image_url_serving_something_else_is_bad_request(client, fake):
    payload = await wan_payload(client, init_image=fake.host(b"<html>login</html>", "text/html"))
    with pytest.raises(BadRequest, match="Unable to fetch image"):
        await client.submit("image-to-video", payload)


async def test_status_error_on_submit_is_never_a_job(client, fake):
    fake.fail_next_submit("bad_request", http200=True, message="Something odd happened")
    with pytest.raises(BadRequest) as caught:
        await client.submit("text-to-video", VEO)
    assert str(caught.value) == "ModelsLab submit: Something odd happened (HTTP 200)"


# -- fetch ---------------------------------------------------------------------------------------


async def test_fetch_follows_a_job_to_success(client, fake):
    submitted = await client.submit("text-to-video", VEO)
    first = await client.fetch(pid(submitted))
    assert first.status is JobStatus.PROCESSING
    assert first.provider_id == submitted.provider_id

    fake.finish(pid(submitted))
    done = await client.fetch(pid(submitted))

    job = fake.jobs[submitted.provider_id]
    assert done.status is JobStatus.SUCCESS
    assert done.output_urls == (job.output_url, job.proxy_url)
    assert fake.fetches(submitted.provider_id)[0].json == {"key": fake.api_key}
    assert job.polls == 2


async def test_job_finishes_by_itself_after_render_seconds(client, fake):
    fake.render_seconds = 0.1
    submitted = await client.submit("text-to-video", VEO)
    assert fake.jobs[pid(submitted)].state == "processing"
    await asyncio.sleep(0.15)
    assert (await client.fetch(pid(submitted))).status is JobStatus.SUCCESS


async def test_fetch_quirks_proxy_object_string_ids_float_eta(client, fake):
    fake.quirks.proxy_links_as_object = True
    fake.quirks.string_ids = True
    fake.quirks.float_eta = True
    submitted = await client.submit("text-to-video", VEO)
    processing = await client.fetch(pid(submitted))
    assert isinstance(processing.eta_seconds, float)
    fake.finish(pid(submitted))
    done = await client.fetch(pid(submitted))
    assert done.status is JobStatus.SUCCESS
    assert done.provider_id == "155262350"
    assert done.output_urls[1] == fake.jobs["155262350"].proxy_url


async def test_empty_string_output_while_processing(client, fake):
    fake.quirks.output_empty_string_while_processing = True
    submitted = await client.submit("text-to-video", VEO)
    job = await client.fetch(pid(submitted))
    assert job.status is JobStatus.PROCESSING
    assert job.output_urls == ()


@pytest.mark.parametrize("quirk", ["queued_status_first", "unknown_status_first"])
async def test_first_fetch_with_queued_or_unknown_status_keeps_polling(client, fake, quirk):
    submitted = await client.submit("text-to-video", VEO)
    setattr(fake.quirks, quirk, True)
    assert (await client.fetch(pid(submitted))).status is JobStatus.PROCESSING
    fake.finish(pid(submitted))
    assert (await client.fetch(pid(submitted))).status is JobStatus.SUCCESS


@pytest.mark.parametrize("kind", ["failed", "error"])
async def test_failed_job_raises_provider_failed(client, fake, kind):
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch(kind, message="Processing failed: the model refused the prompt")
    with pytest.raises(ProviderFailed) as caught:
        await client.fetch(pid(submitted))
    assert caught.value.provider_id == submitted.provider_id
    assert "Processing failed: the model refused the prompt" in str(caught.value)


async def test_fail_job_is_reported_on_every_later_fetch(client, fake):
    fake.quirks.messege_spelling = True
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_job(pid(submitted), "Processing failed: out of GPU memory")
    for _ in range(2):
        with pytest.raises(ProviderFailed, match="out of GPU memory"):
            await client.fetch(pid(submitted))


async def test_failed_job_mentioning_a_limit_is_not_a_queue_wait(client, fake):
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_job(pid(submitted), "Processing failed: prompt exceeds the length limit")
    with pytest.raises(ProviderFailed):
        await client.fetch(pid(submitted))


async def test_rate_limit_as_status_error_on_fetch_is_queue_full(client, fake):
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("rate_limited", http200=True, retry_after=9)
    with pytest.raises(QueueFull) as caught:
        await client.fetch(pid(submitted))
    assert caught.value.retry_after == 9
    assert caught.value.http_status == 200


@pytest.mark.parametrize(
    ("options", "retry_after"),
    [({}, 10), ({"retry_after": 7, "in_body": False}, 7), ({"retry_after": None}, 30)],
)
async def test_429_on_fetch_carries_retry_after(client, fake, options, retry_after):
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("rate_limited", **options)
    with pytest.raises(QueueFull) as caught:
        await client.fetch(pid(submitted))
    assert caught.value.retry_after == retry_after
    assert caught.value.http_status == 429


@pytest.mark.parametrize("http200", [False, True])
async def test_unknown_job_is_job_not_found(client, fake, http200):
    fake.quirks.http200_errors = http200
    with pytest.raises(JobNotFound) as caught:
        await client.fetch("999")
    assert caught.value.http_status == (200 if http200 else 404)


async def test_not_found_fault_on_fetch(client, fake):
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("not_found")
    with pytest.raises(JobNotFound):
        await client.fetch(pid(submitted))


async def test_5xx_and_timeout_on_fetch_are_transient(client, fake, session):
    impatient = ModelsLabClient(session, api_key=fake.api_key, base_url=fake.base_url, request_timeout=0.3)
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("http_500")
    with pytest.raises(Transient) as caught:
        await client.fetch(pid(submitted))
    assert caught.value.http_status == 500
    fake.fail_next_fetch("timeout")
    with pytest.raises(Transient, match=re.escape("no complete answer within 0.3 s")) as caught:
        await impatient.fetch(pid(submitted))
    assert caught.value.http_status is None
    # Both faults were one-shot: the job is still there and polls fine.
    assert (await client.fetch(pid(submitted))).status is JobStatus.PROCESSING


@pytest.mark.parametrize("http200", [False, True])
async def test_bad_key_during_polling_is_not_swallowed(fake, session, http200):
    fake.quirks.http200_errors = http200
    with pytest.raises(InvalidKey):
        await wrong_key_client(fake, session).fetch("155262350")


async def test_fetch_keeps_an_odd_id_inside_one_path_segment(client, fake):
    # Quoted, so "../wallet_balance" reaches the fetch route as an id, not another endpoint.
    with pytest.raises(JobNotFound):
        await client.fetch("../wallet_balance")
    assert [r.path for r in fake.requests] == ["/api/v7/video-fusion/fetch/../wallet_balance"]


# -- host_file and wallet_balance --------------------------------------------------------------


@pytest.mark.parametrize("shape", ["output", "output_str", "url", "link", "data.url"])
async def test_host_file_reads_the_url_from_every_shape(client, fake, session, shape):
    fake.quirks.upload_url_field = shape
    before = datetime.now(UTC)
    hosted = await client.host_file(PNG, "image/png")

    assert isinstance(hosted, HostedFile)
    assert hosted.url.startswith(f"{fake.server_url}/uploads/")
    assert hosted.expires_at.tzinfo is UTC
    assert before + timedelta(hours=24) <= hosted.expires_at <= datetime.now(UTC) + timedelta(hours=24)
    assert fake.requests[-1].json["base64_string"].startswith("data:image/png;base64,iVBORw0KGgo")
    async with session.get(hosted.url) as response:
        assert await response.read() == PNG


async def test_host_file_errors_are_typed(fake, session):
    with pytest.raises(InvalidKey):
        await wrong_key_client(fake, session).host_file(PNG, "image/png")


async def test_host_file_over_the_5_mb_upload_limit_is_bad_request(client, fake):
    with pytest.raises(BadRequest, match="5 MB") as caught:
        await client.host_file(PNG + bytes(5_000_001 - len(PNG)), "image/png")
    assert caught.value.http_status == 400
    assert fake.hosted_files == {}


async def test_host_file_refuses_a_bad_mime_type(client):
    with pytest.raises(ValueError, match="MIME"):
        await client.host_file(PNG, "image/png;base64,")


async def test_wallet_balance(client, fake):
    assert await client.wallet_balance() == 43.6
    fake.balance = 0
    assert await client.wallet_balance() == 0.0


async def test_wallet_balance_with_a_bad_key(fake, session):
    fake.quirks.http200_errors = True
    with pytest.raises(InvalidKey):
        await wrong_key_client(fake, session).wallet_balance()


async def test_wrong_base_url_is_a_plain_modelslab_error(session, fake):
    client = ModelsLabClient(session, api_key=fake.api_key, base_url=f"{fake.server_url}/nope")
    with pytest.raises(ModelsLabError) as caught:
        await client.wallet_balance()
    assert type(caught.value) is ModelsLabError
    assert caught.value.http_status == 404


# -- secrets -----------------------------------------------------------------------------------

SECRET = "sk-ml-0123456789abcdef-SECRET"


async def test_the_key_never_appears_in_errors_or_logs(session, caplog):
    caplog.set_level(logging.DEBUG)
    raised: list[ModelsLabError] = []
    async with FakeModelsLab(api_key=SECRET) as fake:
        client = ModelsLabClient(session, api_key=SECRET, base_url=fake.base_url, request_timeout=1.0)

        job = await client.submit("text-to-video", VEO)  # meta echoes the key
        fake.fail_next_submit("bad_request", message=f"Bad value for key {SECRET}")
        fake.fail_next_submit("bad_request", field_errors={"key": [f"{SECRET} is not allowed here"]})
        fake.fail_next_submit("insufficient_credits", http200=True, message=f"No credits on {SECRET}")
        fake.fail_next_submit("http_500")
        fake.fail_next_submit("timeout")
        for _ in range(5):
            with pytest.raises(ModelsLabError) as caught:
                await client.submit("text-to-video", VEO)
            raised.append(caught.value)
        fake.fail_next_fetch("failed", message=f"Processing failed for {SECRET}")
        with pytest.raises(ProviderFailed) as failed:
            await client.fetch(pid(job))
        raised.append(failed.value)
        fake.finish(pid(job))
        done = await client.fetch(pid(job))
        await client.host_file(PNG, "image/png")
        await client.wallet_balance()

    assert (fake.submits()[0].json or {})["key"] == SECRET  # the key really was on the wire
    assert done.status is JobStatus.SUCCESS
    assert SECRET not in repr(client)
    for error in raised:
        for text in (str(error), repr(error), error.user_message, repr(getattr(error, "field_errors", ""))):
            assert SECRET not in text
    assert "[redacted]" in str(raised[0])
    assert isinstance(raised[1], BadRequest)
    assert raised[1].field_errors == {"key": ["[redacted] is not allowed here"]}
    assert isinstance(raised[2], InsufficientFunds)
    records = [r for r in caplog.records if r.name.startswith("videobot")]
    assert records, "the client logs its requests at DEBUG"
    assert any("/v7/video-fusion/text-to-video" in r.getMessage() for r in records)
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in (record.exc_text or "")
    assert SECRET not in caplog.text


async def test_job_message_echoing_the_key_is_scrubbed(session):
    async with FakeModelsLab(api_key=SECRET) as fake:
        fake.quirks.immediate_success = True
        client = ModelsLabClient(session, api_key=SECRET, base_url=fake.base_url)
        job = await client.submit("text-to-video", VEO)
        fake.fail_job(pid(job), f"Processing failed: {SECRET} echoed")
        with pytest.raises(ProviderFailed) as caught:
            await client.fetch(pid(job))
    assert SECRET not in str(caught.value)


# -- user messages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        InvalidKey("x"),
        InsufficientFunds("x"),
        PlanRestricted("x"),
        QueueFull("x", retry_after=12.4),
        BadRequest("x", {"duration": ["bad"]}),
        JobNotFound("x"),
        ProviderFailed("x"),
        Transient("x"),
    ],
)
def test_user_messages_are_plain_words(error):
    message = error.user_message
    assert message.endswith(".")
    for jargon in ("HTTP", "API", "401", "429", "key", "ModelsLab", "endpoint", "JSON"):
        assert jargon not in message


def test_queue_full_user_message_names_the_wait():
    assert "about 12 seconds" in QueueFull("x", retry_after=12.4).user_message


# -- processing replies without an id ------------------------------------------------------------


@pytest.mark.parametrize("style", ["plain", "trailing_slash", "query"])
async def test_processing_reply_without_id_takes_it_from_fetch_result(client, fake, style):
    fake.quirks.processing_without_id = True
    fake.quirks.fetch_result_style = style

    job = await client.submit("text-to-video", VEO)

    assert job.status is JobStatus.PROCESSING
    assert job.provider_id == "155262350"
    # The fake's later processing replies have no id either; polling still works.
    polled = await client.fetch(pid(job))
    assert polled.status is JobStatus.PROCESSING
    assert polled.provider_id == "155262350"
    fake.finish(pid(job))
    assert (await client.fetch(pid(job))).status is JobStatus.SUCCESS


async def test_no_id_fault_keeping_fetch_result_is_a_job(client, fake):
    fake.fail_next_submit("no_id", keep_fetch_result=True)
    job = await client.submit("text-to-video", VEO)
    assert job.provider_id == "155262350"
    assert fake.submits()[0].json is not None


async def test_processing_reply_with_neither_id_nor_fetch_result_stays_transient(client, fake):
    fake.fail_next_submit("no_id")
    with pytest.raises(Transient):
        await client.submit("text-to-video", VEO)
    assert len(fake.jobs) == 1  # created: which is why it must not look like a clean refusal


# -- the result URL in other fields ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "which"),
    [("output_url", "output"), ("proxy_links", "proxy"), ("future_links", "output"), ("output", "both")],
)
async def test_success_with_the_url_elsewhere(client, fake, session, tmp_path, field, which):
    fake.quirks.success_url_field = field
    submitted = await client.submit("text-to-video", VEO)
    fake.finish(pid(submitted))

    done = await client.fetch(pid(submitted))

    job = fake.jobs[pid(submitted)]
    expected = {
        "output": (job.output_url,),
        "proxy": (job.proxy_url,),
        "both": (job.output_url, job.proxy_url),
    }[which]
    assert done.status is JobStatus.SUCCESS
    assert done.output_urls == expected
    result = await download_video(
        session,
        done.output_urls,
        tmp_path,
        max_bytes=10**6,
        allowed_private=allowed_private_hosts(fake.base_url),
    )
    assert isinstance(result, DownloadedVideo)


async def test_future_links_while_processing_are_not_a_result(client, fake):
    fake.quirks.success_url_field = "future_links"
    submitted = await client.submit("text-to-video", VEO)
    polled = await client.fetch(pid(submitted))
    assert polled.status is JobStatus.PROCESSING
    assert polled.output_urls == ()


async def test_immediate_success_with_only_output_url(client, fake):
    fake.quirks.immediate_success = True
    fake.quirks.success_url_field = "output_url"
    job = await client.submit("text-to-video", VEO)
    assert job.status is JobStatus.SUCCESS
    assert job.output_urls == (fake.jobs[pid(job)].output_url,)


# -- a full queue, and only a full queue -----------------------------------------------------------


@pytest.mark.parametrize("http200", [False, True])
async def test_the_real_queue_names_its_limit(fake, session, http200):
    fake.queue_limit = 2
    fake.quirks.http200_errors = http200
    client = ModelsLabClient(session, api_key=fake.api_key, base_url=fake.base_url)
    for _ in range(2):
        await client.submit("text-to-video", VEO)
    with pytest.raises(QueueFull) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.queue_limit == 2
    assert caught.value.retry_after == 12
    assert "queue limit 2" in str(caught.value)
    assert fake.refused_submits == 1
    assert len(fake.jobs) == 2


async def test_refused_submits_count_injected_queue_faults_too(client, fake):
    fake.fail_next_submit("queue_full")
    fake.fail_next_submit("queue_full", http200=True)
    for _ in range(2):
        with pytest.raises(QueueFull):
            await client.submit("text-to-video", VEO)
    assert fake.refused_submits == 2


@pytest.mark.parametrize(
    ("message", "limit"),
    [
        ("Rate limit exceeded. Maximum 5 queued requests allowed.", 5),
        ("Rate limit exceeded. Maximum 15 queued requests allowed.", 15),
        ("Too many requests", None),
        ("Too Many Requests. Please slow down.", None),
        ("Queue is full, max 10 concurrent jobs", 10),
        ("Your queue limit of 10 has been reached", 10),
        ("You have 5 queued requests already", None),
        ("rate-limit hit", None),
    ],
)
@pytest.mark.parametrize("http200", [False, True])
async def test_queue_full_wordings(client, fake, message, limit, http200):
    fake.fail_next_submit("queue_full", message=message, http200=http200)
    with pytest.raises(QueueFull) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.queue_limit == limit


@pytest.mark.parametrize(
    "message",
    [
        "Prompt exceeds the character limit",
        "The prompt may not be greater than the limit of 2000 characters.",
        "Duration is over the limit for this model",
        "Image exceeds the size limit",
    ],
)
@pytest.mark.parametrize("http200", [False, True])
async def test_a_validation_error_mentioning_a_limit_is_bad_request(client, fake, message, http200):
    fake.fail_next_submit("prompt_too_long", message=message, http200=http200)
    with pytest.raises(BadRequest) as caught:
        await client.submit("text-to-video", VEO)
    assert not isinstance(caught.value, QueueFull)
    assert fake.refused_submits == 0


async def test_the_fakes_prompt_limit(client, fake):
    fake.prompt_limit = 20
    with pytest.raises(BadRequest, match="Prompt exceeds the character limit of 20"):
        await client.submit("text-to-video", {**VEO, "prompt": "x" * 21})
    await client.submit("text-to-video", {**VEO, "prompt": "x" * 20})


def test_queue_full_limit_in_str_only_when_known():
    assert str(QueueFull("x", retry_after=3)) == "x [retry after 3 s]"
    assert str(QueueFull("x", retry_after=3, queue_limit=5)) == "x [retry after 3 s, queue limit 5]"


# -- absurd numbers ----------------------------------------------------------------------------------

ABSURD = [math.inf, math.nan, -5, 0, 1e12, "soon", "inf", -math.inf, 10**30]


def expected_wait(value: object) -> float | None:
    """What the policy turns a value into: absent, or clamped to [0, 3600]."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    assert isinstance(value, int | float)
    if not math.isfinite(value):
        return None
    return min(max(float(value), 0.0), MAX_PROVIDER_DELAY)


@pytest.mark.parametrize("eta", ABSURD, ids=repr)
async def test_absurd_eta_never_crashes(client, fake, eta):
    fake.wire_eta = eta
    submitted = await client.submit("text-to-video", VEO)
    polled = await client.fetch(pid(submitted))
    for job in (submitted, polled):
        assert job.eta_seconds == expected_wait(eta)
        if job.eta_seconds is not None:
            timedelta(seconds=job.eta_seconds)


def fits(wait: float) -> bool:
    timedelta(seconds=wait)
    return math.isfinite(wait) and 0 <= wait <= MAX_PROVIDER_DELAY


@pytest.mark.parametrize("value", ABSURD, ids=repr)
async def test_absurd_retry_after_in_the_body(client, fake, value):
    fake.fail_next_submit("queue_full", retry_after=value)
    with pytest.raises(QueueFull) as caught:
        await client.submit("text-to-video", VEO)
    wait = expected_wait(value)
    assert caught.value.retry_after == (DEFAULT_RETRY_AFTER if wait is None else wait)
    assert fits(caught.value.retry_after)


@pytest.mark.parametrize(
    "value", ["inf", "nan", "-5", "0", "1e12", "soon", "", "Sun, 06 Nov 1994 08:49:37 GMT"]
)
@pytest.mark.parametrize("header", ["retry_after_header", "rate_limit_reset"])
async def test_absurd_headers_on_429(client, fake, value, header):
    fake.fail_next_submit("queue_full", retry_after=None, **{header: value})
    with pytest.raises(QueueFull) as caught:
        await client.submit("text-to-video", VEO)
    assert fits(caught.value.retry_after)
    if value in ("0", "-5"):
        assert caught.value.retry_after == 0
    if value == "1e12":
        assert caught.value.retry_after == MAX_PROVIDER_DELAY
    if value in ("inf", "nan", "soon", ""):
        assert caught.value.retry_after == DEFAULT_RETRY_AFTER


async def test_rate_limit_reset_as_a_unix_time(client, fake):
    fake.rate_limit_reset = str(int(time.time()) + 40)
    fake.fail_next_fetch("rate_limited", retry_after=None)
    submitted_id = "155262350"
    with pytest.raises(QueueFull) as caught:
        await client.fetch(submitted_id)
    assert 35 <= caught.value.retry_after <= 41


async def test_retry_after_header_beats_rate_limit_reset_and_body_beats_both(client, fake):
    fake.fail_next_fetch("rate_limited", retry_after=None, retry_after_header="7", rate_limit_reset="50")
    with pytest.raises(QueueFull) as caught:
        await client.fetch("1")
    assert caught.value.retry_after == 7
    fake.fail_next_fetch("rate_limited", retry_after=3, retry_after_header="7", rate_limit_reset="50")
    with pytest.raises(QueueFull) as caught:
        await client.fetch("1")
    assert caught.value.retry_after == 3
    fake.fail_next_fetch("rate_limited", retry_after=None, rate_limit_reset="50")
    with pytest.raises(QueueFull) as caught:
        await client.fetch("1")
    assert caught.value.retry_after == 50


async def test_headers_count_for_a_queue_full_sent_as_http_200(client, fake):
    fake.retry_after_header = "9"
    fake.fail_next_submit("queue_full", retry_after=None, http200=True)
    with pytest.raises(QueueFull) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.http_status == 200
    assert caught.value.retry_after == 9


async def test_natural_queue_full_sends_the_fakes_headers(fake, session):
    fake.queue_limit = 0
    fake.retry_after = math.inf
    fake.rate_limit_reset = "25"
    client = ModelsLabClient(session, api_key=fake.api_key, base_url=fake.base_url)
    with pytest.raises(QueueFull) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.retry_after == 25  # the body's Infinity is absent, the header counts


# -- transient trouble while polling -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"), [("http_500", 500), ("http_503", 503), ("connection_reset", None)]
)
async def test_polling_faults_are_transient(client, fake, kind, status):
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch(kind, times=3)
    for _ in range(3):
        with pytest.raises(Transient) as caught:
            await client.fetch(pid(submitted))
        assert caught.value.http_status == status
        assert caught.value.request_may_have_arrived
    assert (await client.fetch(pid(submitted))).status is JobStatus.PROCESSING


async def test_fetch_times_must_be_positive(fake):
    with pytest.raises(ValueError, match="times"):
        fake.fail_next_fetch("http_500", times=0)
    with pytest.raises(ValueError, match="unknown fetch fault"):
        fake.fail_next_fetch("nope")


async def test_a_404_right_after_submit_is_job_not_found_then_the_job_appears(client, fake):
    fake.not_found_for_seconds = 0.3
    submitted = await client.submit("text-to-video", VEO)
    with pytest.raises(JobNotFound) as caught:
        await client.fetch(pid(submitted))
    assert caught.value.provider_id == submitted.provider_id
    assert caught.value.http_status == 404
    assert not isinstance(caught.value, Transient | ProviderFailed)
    await asyncio.sleep(0.3)
    assert (await client.fetch(pid(submitted))).status is JobStatus.PROCESSING


async def test_an_html_404_on_fetch_is_still_job_not_found(client, fake, session):
    # A proxy in front of the API answers its own 404 page: no JSON at all.
    with pytest.raises(JobNotFound):
        await ModelsLabClient(
            session, api_key=fake.api_key, base_url=f"{fake.server_url}/generations/x"
        ).fetch("1")


@pytest.mark.parametrize(
    "message",
    ["Internal Server Error", "Service temporarily unavailable, try again later", "Gateway Timeout"],
)
async def test_an_error_status_blaming_the_service_is_transient_on_fetch(client, fake, message):
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("error", message=message)
    with pytest.raises(Transient):
        await client.fetch(pid(submitted))


async def test_a_failed_status_is_final_whatever_its_message(client, fake):
    submitted = await client.submit("text-to-video", VEO)
    fake.fail_next_fetch("failed", message="Internal Server Error")
    with pytest.raises(ProviderFailed):
        await client.fetch(pid(submitted))


# -- credits and the wallet ----------------------------------------------------------------------------


async def test_an_empty_wallet_refuses_submits_with_402(client, fake):
    fake.balance = 0
    with pytest.raises(InsufficientFunds) as caught:
        await client.submit("text-to-video", VEO)
    assert caught.value.http_status == 402
    assert fake.jobs == {}
    assert await client.wallet_balance() == 0.0
    fake.balance = 12.5
    await client.submit("text-to-video", VEO)


@pytest.mark.parametrize(
    ("kind", "error", "status"),
    [
        ("insufficient_credits", InsufficientFunds, 402),
        ("invalid_key", InvalidKey, 401),
        ("http_500", Transient, 500),
    ],
)
async def test_wallet_balance_errors(client, fake, kind, error, status):
    fake.fail_next_wallet(kind)
    with pytest.raises(error) as caught:
        await client.wallet_balance()
    assert caught.value.http_status == status
    assert await client.wallet_balance() == 43.6  # one-shot


@pytest.mark.parametrize(
    ("kind", "error"), [("insufficient_credits", InsufficientFunds), ("invalid_key", InvalidKey)]
)
async def test_wallet_balance_errors_as_http_200(client, fake, kind, error):
    fake.fail_next_wallet(kind, http200=True)
    with pytest.raises(error) as caught:
        await client.wallet_balance()
    assert caught.value.http_status == 200


@pytest.mark.parametrize("balance", [math.inf, math.nan, "lots"])
async def test_wallet_balance_that_is_no_number_is_transient(client, fake, balance):
    fake.balance = balance
    with pytest.raises(Transient, match="usable balance"):
        await client.wallet_balance()


async def test_unknown_wallet_fault_kind(fake):
    with pytest.raises(ValueError, match="unknown wallet fault"):
        fake.fail_next_wallet("nope")


# -- unknown models are a kind of bad request -----------------------------------------------------------


@pytest.mark.parametrize("http200", [False, True])
async def test_model_not_found_on_submit_is_unknown_model(client, fake, http200):
    fake.quirks.http200_errors = http200
    with pytest.raises(UnknownModel) as caught:
        await client.submit("text-to-video", {**VEO, "model_id": "veo-9"})
    assert isinstance(caught.value, BadRequest)
    assert (
        caught.value.user_message == "This video model is not available right now. Please pick another model."
    )
