"""The health check: Discord as the bot reports it, the database by a real ``SELECT 1``."""

from __future__ import annotations

import socket

from storage.engine import SessionFactory, create_engine, create_session_factory
from videobot.health import DiscordLink, HealthCheck


async def test_healthy_when_connected_and_the_database_answers(sessions: SessionFactory) -> None:
    report = await HealthCheck(sessions, lambda: DiscordLink(True, 0.0421)).check()
    assert report.healthy
    assert report.as_json() == {
        "status": "ok",
        "discord": {"connected": True, "latency_ms": 42.1},
        "database": {"ok": True, "error": None},
    }


async def test_disconnected_from_discord_is_unhealthy_and_says_so(sessions: SessionFactory) -> None:
    report = await HealthCheck(sessions, lambda: DiscordLink(False, float("nan"))).check()
    assert not report.healthy
    assert report.as_json()["discord"] == {"connected": False, "latency_ms": None}
    assert report.as_json()["database"] == {"ok": True, "error": None}


async def test_a_database_that_does_not_answer_is_named_without_secrets() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = create_engine(f"postgresql+asyncpg://bot:pw-secret@127.0.0.1:{port}/videobot")
    try:
        check = HealthCheck(
            create_session_factory(engine), lambda: DiscordLink(True, 0.01), secrets=("pw-secret",)
        )
        report = await check.check()
    finally:
        await engine.dispose()
    assert not report.healthy
    body = report.as_json()
    assert body["status"] == "unavailable"
    assert body["discord"] == {"connected": True, "latency_ms": 10.0}
    database = body["database"]
    assert isinstance(database, dict) and database["ok"] is False
    assert str(port) in database["error"]
    assert "pw-secret" not in database["error"]
