"""Is the bot healthy: connected to Discord, and the database answering.

What a supervisor, a container healthcheck or a load balancer asks (``GET /healthz``). Discord's side
is read from the bot by a callable the composition root provides, so this module knows no discord.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from storage import stats
from storage.engine import SessionFactory


@dataclass(frozen=True)
class DiscordLink:
    """The gateway connection as the bot sees it: connected (ready, no shard closed) and its latency."""

    connected: bool
    latency_seconds: float | None = None


@dataclass(frozen=True)
class HealthReport:
    """One health check: each part, and why a part failed."""

    discord: DiscordLink
    database_ok: bool
    database_error: str | None = None

    @property
    def healthy(self) -> bool:
        """Connected to Discord and the database answers."""
        return self.discord.connected and self.database_ok

    def as_json(self) -> dict[str, object]:
        """The report for ``/healthz``: which part is down, in plain fields."""
        latency = self.discord.latency_seconds
        return {
            "status": "ok" if self.healthy else "unavailable",
            "discord": {
                "connected": self.discord.connected,
                "latency_ms": round(latency * 1000, 1)
                if latency is not None and math.isfinite(latency)
                else None,
            },
            "database": {"ok": self.database_ok, "error": self.database_error},
        }


class HealthCheck:
    """Checks Discord (through ``discord_link``) and the database (``SELECT 1`` within ``timeout``)."""

    def __init__(
        self,
        sessions: SessionFactory,
        discord_link: Callable[[], DiscordLink],
        *,
        timeout: float = 3.0,
        secrets: Iterable[str] = (),
    ) -> None:
        self._sessions = sessions
        self._discord_link = discord_link
        self._timeout = timeout
        # The answer may be read by anyone who reaches the port: no secret in it, even by accident.
        self._secrets = [s for s in secrets if s]

    async def check(self) -> HealthReport:
        """Ask both parts now."""
        database_error: str | None = None
        try:
            async with asyncio.timeout(self._timeout), self._sessions() as session:
                await stats.ping(session)
        except TimeoutError:
            database_error = f"no answer within {self._timeout:g} s"
        except (SQLAlchemyError, OSError) as exc:
            database_error = f"{type(exc).__name__}: {self._redacted(_first_line(exc))}"
        return HealthReport(
            discord=self._discord_link(), database_ok=database_error is None, database_error=database_error
        )

    def _redacted(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0][:200] if text else type(error).__name__
