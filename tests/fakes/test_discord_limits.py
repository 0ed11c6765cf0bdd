"""Self-tests: FakeDiscord refuses over-limit payloads with 400/50035 on every path that carries them.

Raw HTTP on purpose: discord.py checks some limits itself (five buttons a row) and would never send
these payloads, but a bot that builds payloads another way must meet Discord's answer. Every limit
is sent one past Discord's maximum (and, where it matters, at the maximum, which must pass).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_server import FakeDiscord, FakeInteraction

TOKEN = "limits-bot-token"
AUTH = {"Authorization": f"Bot {TOKEN}"}
GUILD = 1_200_000_000_000_000_001
CHANNEL = 1_200_000_000_000_000_010
FORUM = 1_200_000_000_000_000_011
USER = 1_200_000_000_000_000_100


def _button(custom_id: str) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "Go", "custom_id": custom_id}


def _row(*custom_ids: str) -> dict[str, Any]:
    return {"type": 1, "components": [_button(c) for c in custom_ids]}


def _fields(n: int, name: str = "n", value: str = "v") -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for _ in range(n)]


# name: (a payload past the limit, the error path Discord reports, the same payload at the limit)
MESSAGE_LIMITS: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "content": ({"content": "x" * 2001}, "content", {"content": "x" * 2000}),
    "embeds": ({"embeds": [{"title": "t"}] * 11}, "embeds", {"embeds": [{"title": "t"}] * 10}),
    "embed title": (
        {"embeds": [{"title": "x" * 257}]},
        "embeds.0.title",
        {"embeds": [{"title": "x" * 256}]},
    ),
    "embed description": (
        {"embeds": [{"description": "x" * 4097}]},
        "embeds.0.description",
        {"embeds": [{"description": "x" * 4096}]},
    ),
    "embed fields": (
        {"embeds": [{"fields": _fields(26)}]},
        "embeds.0.fields",
        {"embeds": [{"fields": _fields(25)}]},
    ),
    "field name": (
        {"embeds": [{"fields": _fields(1, name="x" * 257)}]},
        "embeds.0.fields.0.name",
        {"embeds": [{"fields": _fields(1, name="x" * 256)}]},
    ),
    "field value": (
        {"embeds": [{"fields": _fields(1, value="x" * 1025)}]},
        "embeds.0.fields.0.value",
        {"embeds": [{"fields": _fields(1, value="x" * 1024)}]},
    ),
    "footer": (
        {"embeds": [{"title": "t", "footer": {"text": "x" * 2049}}]},
        "embeds.0.footer.text",
        {"embeds": [{"title": "t", "footer": {"text": "x" * 2048}}]},
    ),
    "author": (
        {"embeds": [{"title": "t", "author": {"name": "x" * 257}}]},
        "embeds.0.author.name",
        {"embeds": [{"title": "t", "author": {"name": "x" * 256}}]},
    ),
    "embeds total": (
        {"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]},
        "embeds",
        {"embeds": [{"description": "x" * 4000}, {"description": "x" * 2000}]},
    ),
    "custom_id": (
        {"content": "c", "components": [_row("x" * 101)]},
        "components.custom_id",
        {"content": "c", "components": [_row("x" * 100)]},
    ),
    "buttons a row": (
        {"content": "c", "components": [_row(*"abcdef")]},
        "components.0.components",
        {"content": "c", "components": [_row(*"abcde")]},
    ),
    "rows": (
        {"content": "c", "components": [_row(c) for c in "abcdef"]},
        "components",
        {"content": "c", "components": [_row(c) for c in "abcde"]},
    ),
}


def error_path(body: dict[str, Any]) -> str:
    """The dotted path of the one field a 50035 body names (``embeds.0.title``)."""
    parts: list[str] = []
    errors = body["errors"]
    while "_errors" not in errors:
        [(key, errors)] = errors.items()
        parts.append(key)
    return ".".join(parts)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token=TOKEN, rate_limits=False) as server:
        server.add_guild(GUILD, "Limits")
        server.add_text_channel(GUILD, CHANNEL, "general")
        server.add_forum_channel(GUILD, FORUM, "forum")
        server.add_member(GUILD, USER, "alice")
        yield server


@pytest.fixture
async def http(fake: FakeDiscord) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session with a gateway session identified as the bot (needed for interactions)."""
    async with aiohttp.ClientSession() as session, session.ws_connect(fake.gateway_url) as ws:
        await ws.receive_json()  # HELLO
        await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": 1, "properties": {}}})
        await fake.wait_until_identified()
        reader = asyncio.create_task(_drain(ws))
        try:
            yield session
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


class Api:
    """Raw calls on the fake's REST API, returning (status, JSON body)."""

    def __init__(self, fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.http = http

    async def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, bot: bool = True
    ) -> tuple[int, Any]:
        async with self.http.request(
            method, f"{self.fake.api_base}{path}", json=body, headers=AUTH if bot else {}
        ) as resp:
            return resp.status, (await resp.json() if resp.content_length else None)

    async def message(self) -> int:
        status, body = await self.call("POST", f"/channels/{CHANNEL}/messages", {"content": "starter"})
        assert status == 200
        return int(body["id"])

    async def slash(self) -> FakeInteraction:
        return await self.fake.invoke_slash(
            guild_id=GUILD, channel_id=CHANNEL, user_id=USER, command="video text", options={"prompt": "p"}
        )

    async def deferred(self) -> FakeInteraction:
        inter = await self.slash()
        status, _ = await self.callback(inter, {"type": 5})
        assert status == 204
        return inter

    async def callback(self, inter: FakeInteraction, body: dict[str, Any]) -> tuple[int, Any]:
        return await self.call("POST", f"/interactions/{inter.id}/{inter.token}/callback", body, bot=False)

    def webhook(self, inter: FakeInteraction) -> str:
        return f"/webhooks/{self.fake.application_id}/{inter.token}"


@pytest.fixture
def api(fake: FakeDiscord, http: aiohttp.ClientSession) -> Api:
    return Api(fake, http)


# Each path that carries a message payload: sends ``payload`` there and returns (status, body, prefix).
async def _create(api: Api, payload: dict[str, Any]) -> tuple[int, Any, str]:
    return (*await api.call("POST", f"/channels/{CHANNEL}/messages", payload), "")


async def _edit(api: Api, payload: dict[str, Any]) -> tuple[int, Any, str]:
    message = await api.message()
    return (*await api.call("PATCH", f"/channels/{CHANNEL}/messages/{message}", payload), "")


async def _callback_message(api: Api, payload: dict[str, Any]) -> tuple[int, Any, str]:
    inter = await api.slash()
    return (*await api.callback(inter, {"type": 4, "data": payload}), "data.")


async def _callback_update(api: Api, payload: dict[str, Any]) -> tuple[int, Any, str]:
    status, body = await api.call(
        "POST", f"/channels/{CHANNEL}/messages", {"content": "pick", "components": [_row("pick:go")]}
    )
    assert status == 200
    click = await api.fake.click_button(
        guild_id=GUILD, channel_id=CHANNEL, user_id=USER, message_id=int(body["id"]), custom_id="pick:go"
    )
    return (*await api.callback(click, {"type": 7, "data": payload}), "data.")


async def _followup(api: Api, payload: dict[str, Any]) -> tuple[int, Any, str]:
    inter = await api.deferred()
    return (*await api.call("POST", f"{api.webhook(inter)}?wait=true", payload, bot=False), "")


async def _webhook_edit(api: Api, payload: dict[str, Any]) -> tuple[int, Any, str]:
    inter = await api.deferred()
    return (*await api.call("PATCH", f"{api.webhook(inter)}/messages/@original", payload, bot=False), "")


async def _forum_post(api: Api, payload: dict[str, Any]) -> tuple[int, Any, str]:
    body = {"name": "post", "message": payload}
    return (*await api.call("POST", f"/channels/{FORUM}/threads", body), "message.")


MESSAGE_PATHS: dict[str, Callable[[Api, dict[str, Any]], Any]] = {
    "channel message": _create,
    "message edit": _edit,
    "callback message": _callback_message,
    "callback update": _callback_update,
    "followup": _followup,
    "webhook edit": _webhook_edit,
    "forum post": _forum_post,
}


@pytest.mark.parametrize("limit", list(MESSAGE_LIMITS))
async def test_message_limits_on_every_path(api: Api, limit: str) -> None:
    over, path, at_limit = MESSAGE_LIMITS[limit]
    for where, send in MESSAGE_PATHS.items():
        status, body, prefix = await send(api, over)
        assert (status, body["code"]) == (400, 50035), f"{limit} on {where}: {status} {body}"
        assert error_path(body) == prefix + path, f"{limit} on {where}"
        status, body, _ = await send(api, at_limit)
        assert status in (200, 201, 204), f"{limit} at the limit on {where}: {status} {body}"


async def test_thread_and_channel_names(api: Api) -> None:
    starter = await api.message()
    long, ok = "n" * 101, "n" * 100
    attempts: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
        ("POST", f"/channels/{CHANNEL}/messages/{starter}/threads", {"name": long}, {"name": ok}),
        ("POST", f"/channels/{CHANNEL}/threads", {"name": long, "type": 11}, {"name": ok, "type": 11}),
        (
            "POST",
            f"/channels/{FORUM}/threads",
            {"name": long, "message": {"content": "c"}},
            {"name": ok, "message": {"content": "c"}},
        ),
        ("PATCH", f"/channels/{CHANNEL}", {"name": long}, {"name": ok}),
    ]
    api.fake.set_bot_permissions(GUILD, 1 << 3)  # ADMINISTRATOR: renaming a channel needs MANAGE_CHANNELS
    for method, path, over, at_limit in attempts:
        status, body = await api.call(method, path, over)
        assert (status, body["code"], error_path(body)) == (400, 50035, "name"), path
        status, body = await api.call(method, path, at_limit)
        assert status in (200, 201), (path, body)
    status, thread = await api.call("POST", f"/channels/{CHANNEL}/threads", {"name": "t", "type": 11})
    status, body = await api.call("PATCH", f"/channels/{thread['id']}", {"name": long})
    assert (status, error_path(body)) == (400, "name")
    status, body = await api.call("PATCH", f"/channels/{thread['id']}", {"name": ""})
    assert (status, error_path(body)) == (400, "name")


async def test_autocomplete_choices(api: Api, fake: FakeDiscord) -> None:
    def choices(n: int, name: str = "c", value: str = "v") -> dict[str, Any]:
        return {"type": 8, "data": {"choices": [{"name": name, "value": value}] * n}}

    for answer, path in [
        (choices(26), "data.choices"),
        (choices(1, name="x" * 101), "data.choices.0.name"),
        (choices(1, name=""), "data.choices.0.name"),
        (choices(1, value="x" * 101), "data.choices.0.value"),
    ]:
        inter = await _autocomplete(fake)
        status, body = await api.callback(inter, answer)
        assert (status, body["code"], error_path(body)) == (400, 50035, path)
        assert inter.callback is None
    inter = await _autocomplete(fake)
    assert (await api.callback(inter, choices(25, name="x" * 100, value="y" * 100)))[0] == 204


async def _autocomplete(fake: FakeDiscord) -> FakeInteraction:
    before = set(fake.interactions)
    task = asyncio.create_task(
        fake.invoke_autocomplete(
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=USER,
            command="video text",
            options={"prompt": "p"},
            focused="prompt",
            timeout=0.01,
        )
    )
    with contextlib.suppress(TimeoutError):
        await task  # nobody answers within 0.01 s: the interaction exists, its callback is ours to send
    [new] = set(fake.interactions) - before
    return fake.interactions[new]


async def test_modal_limits(api: Api) -> None:
    def modal(
        *, custom_id: str = "m", field_id: str = "f", label: str = "L", rows: int = 1
    ) -> dict[str, Any]:
        text = {"type": 4, "custom_id": field_id, "style": 1, "label": label}
        return {
            "type": 9,
            "data": {
                "title": "Title",
                "custom_id": custom_id,
                "components": [{"type": 1, "components": [text]} for _ in range(rows)],
            },
        }

    for answer, path in [
        (modal(custom_id="x" * 101), "data.custom_id"),
        (modal(field_id="x" * 101), "data.components.0.components.0.custom_id"),
        (modal(label="x" * 46), "data.components.0.components.0.label"),
        (modal(rows=6), "data.components"),
    ]:
        inter = await api.slash()
        status, body = await api.callback(inter, answer)
        assert (status, body["code"], error_path(body)) == (400, 50035, path), answer
    inter = await api.slash()
    assert (await api.callback(inter, modal(custom_id="x" * 100, field_id="y" * 100, label="z" * 45)))[
        0
    ] == 204
