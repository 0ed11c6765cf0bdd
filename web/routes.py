"""``GET /healthz`` and ``GET /metrics``: what a supervisor and Prometheus ask the bot."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from videobot.health import HealthReport
from videobot.metrics import Metrics


def health_routes(check: Callable[[], Awaitable[HealthReport]]) -> list[web.RouteDef]:
    """``GET /healthz``: 200 when connected to Discord and the database answers, else 503; a JSON body
    says which part is down."""

    async def healthz(_request: web.Request) -> web.Response:
        report = await check()
        return web.Response(
            status=200 if report.healthy else 503,
            text=json.dumps(report.as_json()),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    return [web.get("/healthz", healthz)]


def metrics_routes(metrics: Metrics) -> list[web.RouteDef]:
    """``GET /metrics`` in the Prometheus text format (database-backed numbers read at each scrape)."""

    async def scrape(_request: web.Request) -> web.Response:
        await metrics.refresh()
        body, content_type = metrics.exposition()
        # Given as a header, the content type keeps its "version=0.0.4" parameter Prometheus reads.
        return web.Response(body=body, headers={"Content-Type": content_type})

    return [web.get("/metrics", scrape)]
