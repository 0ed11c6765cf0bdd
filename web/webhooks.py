"""``POST /modelslab/<secret>``: where ModelsLab's webhooks arrive (when ``PUBLIC_URL`` is set).

ModelsLab signs nothing, so the path carries a secret: any other path segment is answered exactly
like an unknown path (404), whatever the method, compared in constant time. Every answer is cheap:
the body is capped (413), junk is 400 without a look at the database, and a good webhook is
handed to the domain, which at most fetches a job sooner (`videobot.jobs.webhooks`). The sender
learns nothing about our jobs from the answer. Neither the path nor the body is ever logged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from videobot.config import WEBHOOK_PATH
from videobot.metrics import Metrics
from videobot.modelslab.webhook import WebhookHint, parse_webhook

log = logging.getLogger(__name__)

# The documented payloads are a few kilobytes (``meta`` echoes the request).
MAX_WEBHOOK_BYTES = 64 * 1024
# ModelsLab wants an answer within 30 s; the database gets far less before we answer 503.
_RECEIVE_TIMEOUT = 10.0


def webhook_routes(
    secret: str,
    receive: Callable[[WebhookHint], Awaitable[object]],
    metrics: Metrics | None = None,
) -> list[web.RouteDef]:
    """The webhook route for ``secret``; each good webhook is passed to ``receive`` (whose result,
    a `WebhookOutcome`, is counted in ``metrics``)."""
    expected = secret.encode()

    def count(outcome: object) -> None:
        if metrics is not None:
            metrics.webhooks.labels(str(outcome)).inc()

    async def hook(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.match_info["secret"].encode(), expected):
            raise web.HTTPNotFound
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
            count("too_large")
            raise web.HTTPRequestEntityTooLarge(MAX_WEBHOOK_BYTES, request.content_length)
        raw = bytearray()
        # Read by hand: a chunked body has no length to check up front.
        async for chunk in request.content.iter_chunked(16 * 1024):
            raw += chunk
            if len(raw) > MAX_WEBHOOK_BYTES:
                count("too_large")
                raise web.HTTPRequestEntityTooLarge(MAX_WEBHOOK_BYTES, len(raw))
        try:
            hint = parse_webhook(json.loads(raw))
        except (ValueError, RecursionError):
            hint = None
        if hint is None:
            count("junk")
            raise web.HTTPBadRequest(text="not a ModelsLab webhook")
        try:
            async with asyncio.timeout(_RECEIVE_TIMEOUT):
                outcome = await receive(hint)
        except Exception as exc:
            # Probably the database: ModelsLab may send it again, and polling goes on regardless.
            log.warning("a webhook could not be handled now: %r", exc)
            count("error")
            raise web.HTTPServiceUnavailable from None
        count(outcome)
        return web.json_response({"ok": True})

    return [web.route("*", WEBHOOK_PATH + "/{secret}", hook)]
