"""The web server on loopback: routes contributed before start, /healthz and /metrics answers, and a
taken port refused with one line."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web

from videobot.health import DiscordLink, HealthReport
from videobot.metrics import Metrics
from web.routes import health_routes, metrics_routes
from web.server import WebServer, WebServerError


async def fetch(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_healthz_is_200_when_healthy_and_503_with_the_part_that_is_down() -> None:
    reports = [
        HealthReport(DiscordLink(True, 0.05), database_ok=True),
        HealthReport(DiscordLink(True, 0.05), database_ok=False, database_error="OSError: refused"),
    ]

    async def check() -> HealthReport:
        return reports.pop(0)

    server = WebServer(host="127.0.0.1", port=0)
    server.add_routes(health_routes(check))
    async with server:
        url = f"http://127.0.0.1:{server.bound_port}/healthz"
        status, content_type, body = await fetch(url)
        assert (status, content_type) == (200, "application/json; charset=utf-8")
        assert json.loads(body)["status"] == "ok"
        status, _, body = await fetch(url)
        assert status == 503
        assert json.loads(body)["database"] == {"ok": False, "error": "OSError: refused"}


async def test_metrics_are_served_in_the_prometheus_text_format() -> None:
    metrics = Metrics(process_metrics=False)
    metrics.deliveries.labels("link").inc()
    server = WebServer(host="127.0.0.1", port=0)
    server.add_routes(metrics_routes(metrics))
    async with server:
        status, content_type, body = await fetch(f"http://127.0.0.1:{server.bound_port}/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    assert 'videobot_deliveries_total{how="link"} 1.0' in body


async def test_another_module_adds_its_routes_in_one_call_but_only_before_start() -> None:
    async def hook(request: web.Request) -> web.Response:
        return web.Response(text=f"got {request.match_info['secret']}")

    server = WebServer(host="127.0.0.1", port=0)
    server.add_routes([web.post("/modelslab/{secret}", hook)])
    async with server:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{server.bound_port}/modelslab/abc") as response:
                assert await response.text() == "got abc"
            async with http.get(f"http://127.0.0.1:{server.bound_port}/nothing") as response:
                assert response.status == 404
        with pytest.raises(RuntimeError, match="before the web server starts"):
            server.add_routes([web.get("/late", hook)])


async def test_a_taken_port_is_a_one_line_error() -> None:
    first = WebServer(host="127.0.0.1", port=0)
    async with first:
        second = WebServer(host="127.0.0.1", port=first.bound_port or 0)
        with pytest.raises(
            WebServerError, match=r"cannot serve HTTP on 127\.0\.0\.1:\d+ \(HTTP_HOST/HTTP_PORT\)"
        ):
            await second.start()
