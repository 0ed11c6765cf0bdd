"""One small aiohttp server in the bot process, for health checks, metrics and ModelsLab's webhooks.

Routes are contributed before the server starts, each module offering a function that returns its
route table, so ``bot.py`` adds a feature in one line::

    server.add_routes(health_routes(bot.health.check))

``WebServer`` binds ``HTTP_HOST:HTTP_PORT`` (``127.0.0.1`` by default: these endpoints tell anyone who
reaches them about the deployment, so they stay on the machine unless the operator says otherwise;
the Docker image binds ``0.0.0.0`` inside its container).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from types import TracebackType

from aiohttp import web

log = logging.getLogger(__name__)


class WebServerError(Exception):
    """The server could not start (the port is taken, the address is not ours); ``str()`` says which."""


class WebServer:
    """An aiohttp application on ``host:port``; ``port`` 0 picks a free one (see `bound_port`)."""

    def __init__(self, *, host: str, port: int) -> None:
        self.host = host
        self.port = port
        # Health checks and scrapes carry no bodies worth more than a few kilobytes.
        self.app = web.Application(client_max_size=64 * 1024)
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Serve ``routes`` too. Only before `start`: aiohttp freezes the router when it starts."""
        if self._runner is not None:
            raise RuntimeError("routes must be added before the web server starts")
        self.app.add_routes(list(routes))

    async def start(self) -> None:
        """Bind and serve; raises `WebServerError` with a one-line reason when it cannot."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise WebServerError(
                f"cannot serve HTTP on {self.host}:{self.port} (HTTP_HOST/HTTP_PORT): {exc.strerror or exc}"
            ) from exc
        self._runner = runner
        self.bound_port = runner.addresses[0][1]
        # Route paths are not listed: the webhook's carries a secret.
        log.info("serving HTTP on http://%s:%s", self.host, self.bound_port)

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WebServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
