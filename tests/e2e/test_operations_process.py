"""Operating ``python bot.py``: first-run defaults, ``/healthz`` and ``/metrics`` over HTTP, JSON logs."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp
import pytest

from tests.e2e.conftest import World
from tests.fakes.discord_payloads import FakeFile
from tests.member import GUILD, PNG, job_number

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


def samples(exposition: str, name: str) -> dict[str, float]:
    """``{'{labels}': value}`` of one metric in the Prometheus text format."""
    found: dict[str, float] = {}
    for line in exposition.splitlines():
        if line.startswith((name + "{", name + " ")):
            key, _, value = line.rpartition(" ")
            found[key[len(name) :]] = float(value)
    return found


async def test_a_new_member_can_make_one_default_video_of_each_kind(world: World) -> None:
    # STARTING_BALANCE empty: the bot's own default, as on a fresh install.
    await world.start_bot(STARTING_BALANCE="")
    text = await world.run("video text", prompt="a cat surfing")
    assert "accepted" in text, text
    job_number(text)
    image = await world.run(
        "video image", prompt="the cat waves", image=FakeFile("cat.png", PNG, "image/png")
    )
    assert "accepted" in image, image
    job_number(image)
    assert "80 credits charged, 40 left" in text  # veo-3.1-fast, 8 s (the default duration)
    assert "30 credits charged, 10 left" in image  # wan2.6-i2v, 5 s at 720p


async def test_healthz_and_metrics_answer_over_http_from_the_running_bot(world: World) -> None:
    port = free_port()
    # VERIFY_CATALOG: the fake has no model search (404 for every model); the start must not wait on it.
    await world.start_bot(HTTP_PORT=str(port), LOG_FORMAT="json", VERIFY_CATALOG="1")
    base = f"http://127.0.0.1:{port}"

    async def healthy() -> tuple[int, dict[str, object]]:
        status, content_type, body = await get(f"{base}/healthz")
        assert content_type.startswith("application/json")
        return status, json.loads(body)

    # Connected (identified) comes a moment before ready (every server loaded): wait for ready.
    for _ in range(100):
        status, body = await healthy()
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["discord"]["connected"] is True  # type: ignore[index]
    assert body["database"] == {"ok": True, "error": None}

    job = job_number(await world.run("video text", prompt="a red fox in snow", duration=4))
    await world.video(job)

    status, content_type, text = await get(f"{base}/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    assert samples(text, "videobot_jobs")['{state="delivered"}'] == 1
    assert samples(text, "videobot_queue_length") == {"": 0}
    assert samples(text, "videobot_jobs_in_flight") == {"": 0}
    assert samples(text, "videobot_jobs_in_flight_limit") == {"": 5}
    assert samples(text, "videobot_database_up") == {"": 1}
    assert samples(text, "videobot_submits_total") == {'{outcome="accepted"}': 1}
    assert samples(text, "videobot_modelslab_requests_total")['{call="submit"}'] == 1
    assert samples(text, "videobot_modelslab_requests_total")['{call="fetch"}'] >= 1
    assert samples(text, "videobot_deliveries_total") == {'{how="file"}': 1}
    assert samples(text, "videobot_job_render_seconds_count") == {"": 1}
    assert samples(text, "videobot_job_end_to_end_seconds_count") == {"": 1}
    assert samples(text, "videobot_ledger_credits_total")['{kind="debit"}'] == 40
    assert samples(text, "videobot_ledger_entries_total")['{kind="start"}'] == 1
    discord_calls = samples(text, "videobot_discord_requests_total")
    assert discord_calls['{method="POST",status="200"}'] >= 2  # the status message and the video at least
    assert "process_resident_memory_bytes" in text
    assert "e2e-modelslab-key" not in text and "e2e-discord-token" not in text

    # Discord goes away: the process stays up and says so.
    await world.discord.close()

    for _ in range(200):
        status, body = await healthy()
        if status == 503:
            break
        await asyncio.sleep(0.1)
    assert status == 503, body
    assert body["status"] == "unavailable"
    assert body["discord"]["connected"] is False  # type: ignore[index]
    assert body["database"] == {"ok": True, "error": None}

    # LOG_FORMAT=json: every line one JSON object, with the server named on command lines.
    lines = [line for line in world.bots[0].log().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert any(entry.get("guild_id") == GUILD for entry in entries)
    checks = [e["message"] for e in entries if e["logger"] == "videobot.catalog.verify"]
    # The fake's model search knows every catalog model; where its schema lacks an option the
    # catalog offers, that is a warning (never a stop).
    assert not any("does not know this model id" in message for message in checks)
    assert any(message.startswith("catalog check done: ") for message in checks)
    world.assert_no_secrets_in_logs()
