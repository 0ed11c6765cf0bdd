"""The fake ModelsLab's own knobs, where the client tests do not already exercise them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.modelslab_server import FakeModelsLab, make_heif, make_mp4, make_no_moov

VEO = {"model_id": "veo-3.1-fast", "prompt": "a fox"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeModelsLab]:
    async with FakeModelsLab(render_seconds=60) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def submit(fake: FakeModelsLab, http: aiohttp.ClientSession, **extra: object) -> str:
    body = {**VEO, "key": fake.api_key, **extra}
    async with http.post(f"{fake.base_url}/v7/video-fusion/text-to-video", json=body) as response:
        assert response.status == 200
        return str((await response.json())["id"])


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, str]:
    async with http.get(url, allow_redirects=False) as response:
        return response.status, await response.read(), response.headers.get("Location", "")


async def test_default_output_modes_apply_to_new_jobs(fake, http):
    fake.default_output_mode = "heic"
    fake.default_proxy_mode = "moov_at_end"
    job = fake.jobs[await submit(fake, http)]
    fake.finish(job.provider_id)
    assert (await get(http, job.output_url))[1] == make_heif("heic")
    assert (await get(http, job.proxy_url))[1] == make_mp4(4096, moov_at_end=True)


@pytest.mark.parametrize(
    ("mode", "body"),
    [("avif", make_heif("avif")), ("no_moov", make_no_moov()), ("truncated", make_mp4(4096)[:2048])],
)
async def test_output_modes_serve_their_bytes(fake, http, mode, body):
    job = fake.jobs[await submit(fake, http)]
    fake.finish(job.provider_id)
    fake.serve_output(job.provider_id, mode)
    status, data, _ = await get(http, job.output_url)
    assert (status, data) == (200, body)
    assert fake.file_requests == [f"/generations/{job.output_name}"]


async def test_redirect_mode_points_at_the_files_copy_or_anywhere(fake, http):
    job = fake.jobs[await submit(fake, http)]
    fake.serve_output(job.provider_id, "redirect")
    assert (await get(http, job.output_url))[0] == 404  # not done yet: like any future link
    fake.finish(job.provider_id)
    status, _, location = await get(http, job.output_url)
    assert (status, location) == (302, f"{fake.server_url}/files/{job.output_name}")
    assert (await get(http, location))[1] == fake.video_bytes
    fake.serve_output(job.provider_id, "redirect", redirect_to="http://10.0.0.1/x")
    assert (await get(http, job.output_url))[2] == "http://10.0.0.1/x"


async def test_serve_output_refuses_unknown_modes(fake, http):
    job_id = await submit(fake, http)
    with pytest.raises(ValueError, match="unknown output mode"):
        fake.serve_output(job_id, "gif")
    with pytest.raises(ValueError, match="unknown output mode"):
        fake.serve_output(job_id, "ok", proxy_mode="gif")


async def test_a_stalled_webhook_receiver_times_out(fake, http):
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", slow)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        fake.webhook_timeout = 0.2
        job_id = await submit(fake, http, webhook=f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        fake.finish(job_id)
        [delivery] = await fake.wait_for_webhooks(1)
        assert delivery.http_status is None
    finally:
        release.set()
        await runner.cleanup()


async def test_model_search_is_recorded_with_its_query(fake, http):
    async with http.get(f"{fake.base_url}/v6/model-search/sora-2", params={"key": fake.api_key}) as response:
        body = await response.json()
    assert body["status"] == "success"
    assert body["data"]["endpoints"][0]["parameters"]["properties"]["duration"]["enum"] == ["4", "8", "12"]
    [call] = fake.model_searches()
    assert (call.method, call.query, call.json) == ("GET", {"key": fake.api_key}, None)


async def test_wait_for_webhooks_gives_up(fake):
    with pytest.raises(TimeoutError):
        await fake.wait_for_webhooks(1, timeout=0.05)
