"""The webhook route on loopback: a wrong secret is an unknown path, every answer is cheap, and a good
webhook reaches the domain as a hint."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from videobot.metrics import Metrics
from videobot.modelslab import JobStatus
from videobot.modelslab.webhook import WebhookHint
from web.server import WebServer
from web.webhooks import MAX_WEBHOOK_BYTES, webhook_routes

SECRET = "f" * 40
SUCCESS = {"status": "success", "id": 155262350, "output": ["https://x/y.mp4"], "track_id": "job-7"}

Post = Callable[..., Awaitable[tuple[int, str]]]


class Inbox:
    def __init__(self) -> None:
        self.hints: list[WebhookHint] = []
        self.fail: Exception | None = None

    async def receive(self, hint: WebhookHint) -> str:
        if self.fail is not None:
            raise self.fail
        self.hints.append(hint)
        return "woke"


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(process_metrics=False)


@pytest.fixture
async def post(inbox: Inbox, metrics: Metrics) -> AsyncIterator[Post]:
    server = WebServer(host="127.0.0.1", port=0)
    server.add_routes(webhook_routes(SECRET, inbox.receive, metrics))
    async with server, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{server.bound_port}"

        async def send(
            path: str, body: object = None, *, method: str = "POST", **kwargs: object
        ) -> tuple[int, str]:
            if body is not None:
                kwargs["data"] = body if isinstance(body, bytes) else json.dumps(body).encode()
            async with http.request(method, base + path, **kwargs) as response:  # type: ignore[arg-type]
                return response.status, await response.text()

        yield send


async def test_a_good_webhook_is_200_and_reaches_the_inbox(
    post: Post, inbox: Inbox, metrics: Metrics
) -> None:
    assert (await post(f"/modelslab/{SECRET}", SUCCESS))[0] == 200
    assert inbox.hints == [WebhookHint(track_id="job-7", provider_id="155262350", status=JobStatus.SUCCESS)]
    failed = {"status": "failed", "id": "9", "message": "boom", "track_id": "job-8"}
    assert (await post(f"/modelslab/{SECRET}", failed))[0] == 200
    assert inbox.hints[-1] == WebhookHint(track_id="job-8", provider_id="9", status=JobStatus.FAILED)
    assert metrics.webhooks.labels("woke")._value.get() == 2


@pytest.mark.parametrize("method", ["POST", "GET", "PUT"])
@pytest.mark.parametrize(
    "path", ["/modelslab/" + "e" * 40, "/modelslab/" + SECRET[:-1], "/modelslab/x", "/modelslab"]
)
async def test_a_wrong_secret_is_an_unknown_path(post: Post, inbox: Inbox, method: str, path: str) -> None:
    unknown = await post("/no/such/path", SUCCESS, method=method)
    assert await post(path, SUCCESS, method=method) == unknown
    assert unknown[0] == 404
    assert inbox.hints == []


async def test_the_right_secret_only_takes_post(post: Post) -> None:
    assert (await post(f"/modelslab/{SECRET}", method="GET"))[0] == 405


@pytest.mark.parametrize(
    "body",
    [b"not json", b"", b"\xff\xfe", b"[1, 2]", b"42", b'{"status": "success"}', b'{"id": true}', b"[" * 5000],
)
async def test_junk_is_400_without_reaching_the_inbox(post: Post, inbox: Inbox, body: bytes) -> None:
    assert (await post(f"/modelslab/{SECRET}", body))[0] == 400
    assert inbox.hints == []


async def test_an_oversized_body_is_413_whether_announced_or_chunked(post: Post, inbox: Inbox) -> None:
    big = json.dumps({**SUCCESS, "meta": "x" * MAX_WEBHOOK_BYTES}).encode()
    assert (await post(f"/modelslab/{SECRET}", big))[0] == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_WEBHOOK_BYTES // 1024 + 2):
            yield b" " * 1024

    assert (await post(f"/modelslab/{SECRET}", data=chunks()))[0] == 413
    assert inbox.hints == []


async def test_a_webhook_the_domain_cannot_take_now_is_503_and_logged_without_the_secret(
    post: Post, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    inbox.fail = OSError("database unreachable")
    with caplog.at_level(logging.DEBUG):
        assert (await post(f"/modelslab/{SECRET}", SUCCESS))[0] == 503
    assert "database unreachable" in caplog.text
    assert SECRET not in caplog.text
