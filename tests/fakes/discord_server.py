"""A loopback fake of Discord (REST API, interaction webhooks, CDN and gateway) for discord.py tests.

``FakeDiscord`` runs an aiohttp server on 127.0.0.1 inside the test's event loop. A real discord.py
client (in-process, or ``bot.py`` as a child process) talks to it after pointing
``discord.http.Route.BASE`` at :attr:`FakeDiscord.api_base` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` at :attr:`FakeDiscord.gateway_url`.

What it models, because a video bot depends on it: the interaction lifecycle (3 s acknowledgement
deadline, 15 min token lifetime, "already acknowledged", the first followup after a thinking defer
editing the placeholder), upload limits per boost tier (413/40005), nonce-based de-duplication, threads
(public from a message, private without, forum posts, archived/locked), Discord's rate limits (50
bot-token requests per second, per-route buckets with real ``X-RateLimit-*`` headers, 429s that
discord.py waits out; on by default), payload limits (400/50035), and a gateway that replays missed
dispatches on RESUME. What it does not: channel permission overwrites, presences, voice, reactions
events, audit logs.

Typical use::

    fake = FakeDiscord()
    await fake.start()
    fake.add_guild(GUILD)
    fake.add_text_channel(GUILD, CHANNEL)
    fake.add_member(GUILD, USER, "alice")
    ...  # start the bot against fake.api_base / fake.gateway_url
    await fake.wait_until_identified()
    inter = await fake.invoke_slash(guild_id=GUILD, channel_id=CHANNEL, user_id=USER, command="video text",
                                    options={"prompt": "a cat"})
    msg = await inter.wait_for_followup_or_edit(lambda m: "queued" in m.text)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import math
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, WSMsgType, web

from tests.fakes.discord_payloads import (
    ADD_REACTIONS,
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    ALLOWED_CALLBACKS,
    ANNOUNCEMENT_THREAD,
    APPLICATION_COMMAND,
    APPLICATION_COMMAND_AUTOCOMPLETE,
    ATTACH_FILES,
    AUTO_ARCHIVE_DURATIONS,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DEFAULT_GLOBAL_LIMIT,
    DEFAULT_ROUTE_LIMIT,
    DM,
    DM_FILESIZE_LIMIT,
    DM_PERMISSIONS,
    FLAG_EPHEMERAL,
    FLAG_HAS_THREAD,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    GUILD_MEDIA,
    GUILD_TEXT,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    MAJOR_PARAMETERS,
    MANAGE_CHANNELS,
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    MENTION_EVERYONE,
    MESSAGE_COMPONENT,
    MISSING_ACCESS,
    MODAL_SUBMIT,
    MSG_CHAT_INPUT_COMMAND,
    MSG_DEFAULT,
    MSG_REPLY,
    MSG_THREAD_CREATED,
    OPT_ATTACHMENT,
    OPT_BOOLEAN,
    OPT_CHANNEL,
    OPT_INTEGER,
    OPT_MENTIONABLE,
    OPT_NUMBER,
    OPT_ROLE,
    OPT_STRING,
    OPT_SUB_COMMAND,
    OPT_SUB_COMMAND_GROUP,
    OPT_USER,
    PRIVATE_THREAD,
    PRIVILEGED_INTENTS,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    SETTABLE_MESSAGE_FLAGS,
    TOKEN_BOT,
    TOKEN_INTERACTION,
    TOKEN_OTHER,
    VIEW_CHANNEL,
    DiscordAPIError,
    FakeAttachment,
    FakeCallback,
    FakeChannel,
    FakeFile,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeMessageVersion,
    FakeRole,
    FakeUser,
    RateLimiter,
    RecordedFile,
    RecordedRequest,
    RouteLimit,
    SnowflakeGenerator,
    TrafficCounters,
    _Changes,
    compute_mentions,
    form_error,
    form_errors_under,
    iso,
    missing_permissions,
    number_components,
    snowflake,
    unknown,
    utcnow,
    validate_commands,
    validate_message_payload,
    validate_modal_components,
    walk_components,
)

__all__ = [
    "TOKEN_BOT",
    "TOKEN_INTERACTION",
    "TOKEN_OTHER",
    "FakeAttachment",
    "FakeCallback",
    "FakeChannel",
    "FakeDiscord",
    "FakeFile",
    "FakeGuild",
    "FakeInteraction",
    "FakeMessage",
    "FakeMessageVersion",
    "RateLimiter",
    "RecordedRequest",
    "RouteLimit",
    "TrafficCounters",
]

DEFAULT_APPLICATION_ID = 1_180_000_000_000_000_001
DEFAULT_OWNER_ID = 1_180_000_000_000_000_099

_API_PREFIX = re.compile(r"^/api(?:/v\d+)?(?=/)")
_JSON = "application/json"  # exactly: discord.py only parses bodies whose content-type equals this
_GW_DISPATCH, _GW_HEARTBEAT, _GW_IDENTIFY, _GW_PRESENCE, _GW_RESUME = 0, 1, 2, 3, 6
_GW_RECONNECT, _GW_REQUEST_MEMBERS, _GW_INVALID_SESSION, _GW_HELLO, _GW_HEARTBEAT_ACK = 7, 8, 9, 10, 11


def _json_response(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Not web.json_response: it appends "; charset=utf-8" and discord.py then returns the body as str.
    return web.Response(
        body=json.dumps(obj).encode(), status=status, headers={"Content-Type": _JSON, **(headers or {})}
    )


def _no_content() -> web.Response:
    return web.Response(status=204)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


@dataclass
class _Upload:
    field: str
    filename: str
    data: bytes
    content_type: str | None


@dataclass
class _Ctx:
    request: web.Request
    match: tuple[str, ...]
    json: Any
    files: list[_Upload]

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query

    def body(self) -> dict[str, Any]:
        if self.json is None:
            return {}
        if not isinstance(self.json, dict):
            raise form_error("_root", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return self.json


_Handler = Callable[[_Ctx], Awaitable[web.StreamResponse]]


# What a path parameter matches; any other parameter is a snowflake.
_PARAM_PATTERNS = {
    "interaction_token": r"[^/]+",
    "webhook_token": r"[^/]+",
    "emoji": r"[^/]+",
    "member": r"@me|\d+",
    "message": r"@original|\d+",
}
_PARAM = re.compile(r"\{(\w+)\}")
_SNOWFLAKE = r"\d+"


@dataclass
class _Route:
    method: str
    template: str  # "/channels/{channel_id}/messages/{message_id}"
    pattern: re.Pattern[str]
    params: tuple[str, ...]
    handler: _Handler
    auth: bool  # interaction callbacks and webhook-token routes carry no bot token

    @classmethod
    def build(cls, method: str, template: str, handler: _Handler, auth: bool) -> _Route:
        regex, params, pos = "", [], 0
        for match in _PARAM.finditer(template):
            regex += re.escape(template[pos : match.start()])
            regex += "(" + _PARAM_PATTERNS.get(match.group(1), _SNOWFLAKE) + ")"
            params.append(match.group(1))
            pos = match.end()
        regex += re.escape(template[pos:])
        return cls(method, template, re.compile(regex), tuple(params), handler, auth)

    @property
    def key(self) -> str:
        """``"METHOD /template"``: how rate-limit settings name the route."""
        return f"{self.method} {self.template}"

    @property
    def interaction_token(self) -> bool:
        """Interaction callbacks and webhook routes: outside the global limit."""
        return not self.auth and self.template.startswith(("/interactions/", "/webhooks/"))

    def major(self, groups: tuple[str, ...]) -> str:
        """The values of the major parameters: one bucket per distinct value."""
        return "+".join(v for p, v in zip(self.params, groups, strict=True) if p in MAJOR_PARAMETERS)


@dataclass(eq=False)
class HeldRequest:
    """Requests to one route held in flight (see `FakeDiscord.hold`), as a bot sees a slow Discord.

    ``applied=True``: the request takes effect at once and only its answer waits (Discord took the
    post, the reply is lost if the client dies meanwhile); ``applied=False``: nothing happens until
    `release`, and then it is answered 502 (lost on the way: it never reached Discord).
    """

    method: str
    pattern: re.Pattern[str]
    when: Callable[[Any], bool] | None
    applied: bool
    remaining: int
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0

    def matches(self, method: str, path: str, body: Any) -> bool:
        return (
            self.remaining > 0
            and self.method in ("*", method)
            and self.pattern.fullmatch(path) is not None
            and (self.when is None or self.when(body))
        )

    async def wait_arrived(self, timeout: float = 30) -> None:
        """Wait until a matching request is being held."""
        await asyncio.wait_for(self.arrived.wait(), timeout)

    def release(self) -> None:
        """Let every held request (and any later one) go on."""
        self.released.set()


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    remaining: int


class _Connection:
    """One gateway websocket. Frames go through a queue so dispatches leave in sequence order."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None) -> None:
        self.ws = ws
        self.transport = transport
        self.session: _Session | None = None
        self.dropped = False
        self.sent_seq = 0
        self._queue: asyncio.Queue[tuple[str, int] | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())

    @property
    def live(self) -> bool:
        transport_ok = self.transport is None or not self.transport.is_closing()
        return not self.ws.closed and not self.dropped and transport_ok

    def send(self, payload: dict[str, Any]) -> None:
        self._queue.put_nowait((json.dumps(payload), payload.get("s") or 0))

    async def _write(self) -> None:
        while (item := await self._queue.get()) is not None:
            text, seq = item
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return  # the socket is gone; undelivered dispatches stay in the session buffer for RESUME
            self.sent_seq = max(self.sent_seq, seq)

    async def stop(self) -> None:
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._writer, 5)


@dataclass(eq=False)
class _Session:
    """A gateway session: survives its websocket so a RESUME can replay what was missed."""

    session_id: str
    index: int
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    conn: _Connection | None = None
    invalidated: bool = False
    ready_seq: int = 0

    @property
    def live(self) -> bool:
        return self.conn is not None and self.conn.live

    def covers(self, guild_id: int | None) -> bool:
        if self.shard is None or guild_id is None:
            return True
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id

    def dispatch(self, event: str, data: Any) -> int:
        self.seq += 1
        payload = {"op": _GW_DISPATCH, "t": event, "s": self.seq, "d": data}
        self.buffer.append(payload)
        if len(self.buffer) > 5000:
            del self.buffer[:1000]
        if self.conn is not None and self.conn.live:
            self.conn.send(payload)
        return self.seq


class FakeDiscord:
    """Loopback Discord: REST + interaction webhooks + CDN + gateway for real discord.py clients.

    Timing knobs (seconds) let tests exercise Discord's rules quickly: ``ack_deadline`` (3 s to answer
    an interaction), ``token_lifetime`` (15 min for webhook/followup calls), ``nonce_window`` (how long
    an enforced nonce de-duplicates), ``attachment_url_lifetime`` (signed CDN URL expiry).

    Rate limits are on by default, as on Discord (see :class:`RateLimiter`, ``self.rate_limiter``):
    ``global_rate_limit`` bot-token requests per second (fixed 1 s windows, or sliding with
    ``global_sliding_window``; interaction callbacks and interaction-token webhooks are exempt),
    and a bucket per route and major parameter, sized by ``route_limits``
    (``{"POST /channels/{channel_id}/messages": RouteLimit(5, 5.0)}``, merged over
    ``DEFAULT_ROUTE_LIMITS``) or else ``default_route_limit``. ``rate_limit_time_scale`` shortens
    every window alike (0.2: 5 s buckets last 1 s); ``rate_limits=False`` turns them off.
    ``self.traffic`` (:class:`TrafficCounters`) counts what was answered; see :meth:`reset_counters`.
    """

    def __init__(
        self,
        *,
        token: str = "test-token",
        application_id: int = DEFAULT_APPLICATION_ID,
        bot_user_id: int | None = None,
        bot_name: str = "VideoBot",
        ack_deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        nonce_window: float = 5 * 60.0,
        attachment_url_lifetime: float = 24 * 3600.0,
        heartbeat_interval_ms: int = 41_250,
        allowed_privileged_intents: int = PRIVILEGED_INTENTS,
        rate_limits: bool = True,
        global_rate_limit: int = DEFAULT_GLOBAL_LIMIT,
        global_sliding_window: bool = False,
        route_limits: Mapping[str, RouteLimit] | None = None,
        default_route_limit: RouteLimit = DEFAULT_ROUTE_LIMIT,
        rate_limit_time_scale: float = 1.0,
    ) -> None:
        self.token = token
        self.application_id = application_id
        # Bots created since 2020 have user id == application id; tests may pass another one.
        self.bot_user_id = application_id if bot_user_id is None else bot_user_id
        self.ack_deadline = ack_deadline
        self.token_lifetime = token_lifetime
        self.nonce_window = nonce_window
        self.attachment_url_lifetime = attachment_url_lifetime
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.allowed_privileged_intents = allowed_privileged_intents

        self.new_id = SnowflakeGenerator()
        self.users: dict[int, FakeUser] = {self.bot_user_id: FakeUser(self.bot_user_id, bot_name, bot=True)}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.threads: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.attachments: dict[int, FakeAttachment] = {}
        self.registered_commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.requests: list[RecordedRequest] = []
        self.rate_limiter = RateLimiter(
            enabled=rate_limits,
            global_limit=global_rate_limit,
            global_sliding=global_sliding_window,
            route_limits=route_limits,
            default_limit=default_route_limit,
            time_scale=rate_limit_time_scale,
        )
        self.traffic = TrafficCounters()
        self.sessions: list[_Session] = []
        self.identify_count = 0
        self.resume_count = 0

        self._bot_role: dict[int, int] = {}
        self._channel_messages: dict[int, list[int]] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        self._failures: list[_Failure] = []
        self._delays: list[tuple[str, re.Pattern[str], float]] = []
        self._holds: list[HeldRequest] = []
        self._nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        self._dm_channels: dict[int, int] = {}
        self._dms_closed: set[int] = set()
        self._connections: set[_Connection] = set()
        self._changes = _Changes()  # messages created/edited/deleted
        self._gateway_changes = _Changes()  # sessions identified/resumed/closed
        self._revision = 0
        self._secret = secrets.token_bytes(16)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the server on 127.0.0.1 with a random free port."""
        # Videos up to the 100 MiB tier-3 limit (+ slack) must reach the handler to be judged there.
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self._handle_gateway)
        app.router.add_route("GET", "/gateway/", self._handle_gateway)
        app.router.add_route("*", "/{tail:.*}", self._handle_http)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self._port = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Close every gateway connection and stop the server."""
        for held in self._holds:
            held.release()
        for conn in list(self._connections):
            conn.dropped = True
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"server shutting down")
            await conn.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``"""
        if self._port is None:
            raise RuntimeError("FakeDiscord.start() has not been awaited")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """The value for ``discord.http.Route.BASE``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The value for ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    # ------------------------------------------------------------------ world setup

    def add_user(
        self, user_id: int, name: str, *, bot: bool = False, global_name: str | None = None
    ) -> FakeUser:
        """Register a user (members are registered by :meth:`add_member`)."""
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = FakeUser(user_id, name, global_name=global_name, bot=bot)
        else:
            user.username, user.bot, user.global_name = name, bot, global_name
        return user

    def add_guild(
        self,
        guild_id: int,
        name: str = "Test Guild",
        *,
        premium_tier: int = 0,
        owner_id: int = DEFAULT_OWNER_ID,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        features: Iterable[str] = (),
    ) -> FakeGuild:
        """Create a guild with @everyone, the bot's managed role and the bot as member.

        A connected bot receives GUILD_CREATE, as when it is invited to a server.
        """
        guild = FakeGuild(guild_id, name, owner_id, premium_tier, features=list(features))
        guild.roles[guild_id] = FakeRole(guild_id, guild_id, "@everyone", everyone_permissions)
        role_id = self.new_id()
        guild.roles[role_id] = FakeRole(
            role_id,
            guild_id,
            self.users[self.bot_user_id].username,
            bot_permissions,
            position=1,
            managed=True,
            bot_id=self.bot_user_id,
        )
        self._bot_role[guild_id] = role_id
        guild.members[self.bot_user_id] = FakeMember(guild_id, self.bot_user_id, [role_id])
        if owner_id not in self.users:
            self.add_user(owner_id, "owner")
        guild.members.setdefault(owner_id, FakeMember(guild_id, owner_id))
        self.guilds[guild_id] = guild
        for session in self._sessions_for(guild_id):
            session.dispatch("GUILD_CREATE", self._guild_create_payload(guild, session))
        return guild

    def _guild(self, guild_id: int) -> FakeGuild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise ValueError(f"unknown guild {guild_id}; call add_guild first") from None

    def _add_channel(self, channel: FakeChannel) -> FakeChannel:
        if channel.guild_id is not None:
            guild = self._guild(channel.guild_id)
            if not channel.is_thread:
                channel.position = len(guild.channel_ids)
                guild.channel_ids.append(channel.id)
        self.channels[channel.id] = channel
        self._channel_messages.setdefault(channel.id, [])
        if channel.is_thread:
            self.threads[channel.id] = channel
        return channel

    def add_text_channel(
        self, guild_id: int, channel_id: int, name: str = "general", *, announcement: bool = False
    ) -> FakeChannel:
        """Add a text (or announcement) channel; a connected bot receives CHANNEL_CREATE."""
        ctype = GUILD_ANNOUNCEMENT if announcement else GUILD_TEXT
        channel = self._add_channel(FakeChannel(channel_id, ctype, name, guild_id))
        self._broadcast(
            "CHANNEL_CREATE", self._channel_payload(channel), guild_id=guild_id, intent=INTENT_GUILDS
        )
        return channel

    def add_forum_channel(
        self, guild_id: int, channel_id: int, name: str = "forum", *, media: bool = False
    ) -> FakeChannel:
        """Add a forum (or media) channel: messages only through ``POST /channels/{id}/threads``."""
        channel = self._add_channel(
            FakeChannel(channel_id, GUILD_MEDIA if media else GUILD_FORUM, name, guild_id)
        )
        self._broadcast(
            "CHANNEL_CREATE", self._channel_payload(channel), guild_id=guild_id, intent=INTENT_GUILDS
        )
        return channel

    def add_thread(
        self,
        parent_id: int,
        thread_id: int,
        name: str = "thread",
        *,
        private: bool = False,
        owner_id: int | None = None,
        archived: bool = False,
        locked: bool = False,
        member_ids: Iterable[int] = (),
    ) -> FakeChannel:
        """Add an existing thread under a text or forum channel (e.g. one a user created)."""
        parent = self.channels[parent_id]
        thread = FakeChannel(
            thread_id,
            PRIVATE_THREAD if private else PUBLIC_THREAD,
            name,
            parent.guild_id,
            parent_id=parent_id,
            owner_id=owner_id or DEFAULT_OWNER_ID,
            archived=archived,
            locked=locked,
            member_ids=set(member_ids),
        )
        self._add_channel(thread)
        self._broadcast(
            "THREAD_CREATE",
            {**self._channel_payload(thread), "newly_created": True},
            guild_id=parent.guild_id,
            intent=INTENT_GUILDS,
        )
        return thread

    def add_role(self, guild_id: int, role_id: int, name: str, permissions: int = 0) -> FakeRole:
        """Add a role to a guild."""
        guild = self._guild(guild_id)
        role = guild.roles[role_id] = FakeRole(
            role_id, guild_id, name, permissions, position=len(guild.roles)
        )
        self._broadcast(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(guild_id), "role": role.payload()},
            guild_id=guild_id,
            intent=INTENT_GUILDS,
        )
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        name: str,
        *,
        roles: Iterable[int] = (),
        permissions: int | None = None,
        bot: bool = False,
        nick: str | None = None,
    ) -> FakeMember:
        """Add a user to a guild. ``permissions`` overrides what the roles and @everyone give."""
        guild = self._guild(guild_id)
        role_ids = list(roles)
        for rid in role_ids:
            if rid not in guild.roles:
                raise ValueError(f"role {rid} is not in guild {guild_id}; call add_role first")
        if user_id == self.bot_user_id:
            member = guild.members[user_id]
            member.roles = sorted({*member.roles, *role_ids})
            member.permissions = permissions
            return member
        self.add_user(user_id, name, bot=bot)
        member = guild.members[user_id] = FakeMember(guild_id, user_id, role_ids, permissions, nick)
        self._broadcast(
            "GUILD_MEMBER_ADD",
            {**self._member_payload(guild, member), "guild_id": str(guild_id)},
            guild_id=guild_id,
            intent=INTENT_GUILD_MEMBERS,
        )
        return member

    def set_bot_permissions(self, guild_id: int, permissions: int) -> None:
        """Change what the bot's managed role grants in a guild (app_permissions, REST checks)."""
        role = self._guild(guild_id).roles[self._bot_role[guild_id]]
        role.permissions = permissions
        self._broadcast(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(guild_id), "role": role.payload()},
            guild_id=guild_id,
            intent=INTENT_GUILDS,
        )

    def set_dms_closed(self, user_id: int, closed: bool = True) -> None:
        """Make DMs to this user fail with 403/50007 (privacy settings or a block)."""
        if closed:
            self._dms_closed.add(user_id)
        else:
            self._dms_closed.discard(user_id)

    def archive_thread(self, thread_id: int, *, locked: bool = True) -> None:
        """Archive a thread. Locked (the default), posting fails with 400/50083; unlocked threads are
        un-archived by the next message, as Discord documents."""
        thread = self.threads[thread_id]
        thread.archived, thread.locked, thread.archive_timestamp = True, locked, utcnow()
        self._broadcast(
            "THREAD_UPDATE", self._channel_payload(thread), guild_id=thread.guild_id, intent=INTENT_GUILDS
        )

    def expire_attachments(self, attachment_ids: Iterable[int] | None = None) -> None:
        """Make signed CDN URLs (all, or these ids) answer 404, as expired Discord CDN links do."""
        ids = self.attachments.keys() if attachment_ids is None else attachment_ids
        for aid in list(ids):
            self.attachments[aid].expired = True

    def member_permissions(self, guild_id: int, user_id: int) -> int:
        """Guild-level permissions of a member (owner and ADMINISTRATOR: all). No channel overwrites."""
        guild = self._guild(guild_id)
        member = guild.members.get(user_id)
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        if member is None:
            return 0
        if member.permissions is not None:
            return member.permissions
        perms = guild.roles[guild_id].permissions
        for rid in member.roles:
            role = guild.roles.get(rid)
            if role is not None:
                perms |= role.permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    # ------------------------------------------------------------------ inspection helpers

    def messages_in(self, channel_id: int, *, include_ephemeral: bool = True) -> list[FakeMessage]:
        """Messages of a channel or thread, oldest first, without deleted ones."""
        out = [self.messages[mid] for mid in self._channel_messages.get(channel_id, [])]
        return [m for m in out if not m.deleted and (include_ephemeral or not m.ephemeral)]

    async def wait_for_message(
        self, predicate: Callable[[FakeMessage], bool], timeout: float = 30
    ) -> FakeMessage:
        """First message (any channel or thread, existing or future, edits re-checked) matching."""

        def find() -> FakeMessage | None:
            return next((m for m in self.messages.values() if not m.deleted and predicate(m)), None)

        return await self._changes.until(
            find,
            timeout,
            lambda: (
                f"no matching message within {timeout}s; last messages: "
                + repr([(m.channel_id, m.text[:80]) for m in list(self.messages.values())[-8:]])
            ),
        )

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests that hit no route of the fake (404/405): a missing fake route or a bot bug."""
        return [r for r in self.requests if r.unknown_route]

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """Recorded requests whose method and path (``re.fullmatch``) match."""
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method.upper() and pattern.fullmatch(r.path)]

    def open_dm(self, user_id: int) -> FakeChannel:
        """The bot's DM channel with a user (created on first use, as ``POST /users/@me/channels``)."""
        if user_id not in self.users:
            raise ValueError(f"unknown user {user_id}; call add_user first")
        cid = self._dm_channels.get(user_id)
        if cid is None:
            cid = self._dm_channels[user_id] = self.new_id()
            self._add_channel(FakeChannel(cid, DM, "", None, recipient_ids=[user_id]))
        return self.channels[cid]

    def dm_channel_id(self, user_id: int) -> int | None:
        """The DM channel the bot opened with this user, if any."""
        return self._dm_channels.get(user_id)

    # ------------------------------------------------------------------ rate limits and counters

    def reset_counters(self) -> None:
        """Zero ``traffic`` (served/429 totals, bot-token timeline, invalid requests).

        The rate-limit windows themselves are kept: Discord does not forget them either. Call
        ``rate_limiter.reset()`` for full buckets.
        """
        self.traffic.reset()

    @property
    def invalid_requests(self) -> int:
        """401, 403 and 429 answers in the last 10 minutes (Discord bans the IP at 10,000)."""
        return self.traffic.invalid_requests()

    # ------------------------------------------------------------------ failure injection

    def inject_failure(
        self,
        method: str,
        path_regex: str,
        *,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with this status/body instead of handling them.

        ``path_regex`` is matched with ``re.fullmatch`` against the path without ``/api/v10``
        (``/channels/\\d+/messages``); ``method`` may be ``*``. A 429 gets a ``Via`` header (else
        discord.py takes it for a Cloudflare ban) and ``Retry-After`` unless given in ``headers``.
        """
        hdrs = dict(headers or {})
        if status == 429:
            hdrs.setdefault("Via", "1.1 google")
            hdrs.setdefault("Retry-After", str(math.ceil(float(body.get("retry_after", 1)))))
            hdrs.setdefault("X-RateLimit-Scope", "global" if body.get("global") else "user")
            if body.get("global"):
                hdrs.setdefault("X-RateLimit-Global", "true")
        self._failures.append(_Failure(method.upper(), re.compile(path_regex), status, body, hdrs, times))

    def inject_rate_limit(
        self,
        method: str,
        path_regex: str,
        *,
        retry_after: float = 0.2,
        is_global: bool = False,
        times: int = 1,
    ) -> None:
        """Shortcut for a well-formed 429 that discord.py waits out and retries."""
        self.inject_failure(
            method,
            path_regex,
            status=429,
            body={"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global},
            times=times,
        )

    def delay_next(self, method: str, path_regex: str, seconds: float) -> None:
        """Answer the next matching request ``seconds`` late (a slow Discord, to open race windows)."""
        self._delays.append((method.upper(), re.compile(path_regex), seconds))

    async def _take_delay(self, method: str, path: str) -> None:
        for delay in self._delays:
            if delay[0] in ("*", method) and delay[1].fullmatch(path):
                self._delays.remove(delay)
                await asyncio.sleep(delay[2])
                return

    def hold(
        self,
        method: str,
        path_regex: str,
        *,
        when: Callable[[Any], bool] | None = None,
        applied: bool = True,
        times: int = 1,
    ) -> HeldRequest:
        """Hold the next ``times`` matching requests in flight until `HeldRequest.release`.

        ``path_regex`` as for `inject_failure`; ``when`` tests the request's JSON body (for an upload,
        its ``payload_json``). With ``applied`` the request is handled at once and only its answer
        waits: a client killed meanwhile never learns that its message exists.
        """
        held = HeldRequest(method.upper(), re.compile(path_regex), when, applied, times)
        self._holds.append(held)
        return held

    def _take_hold(self, method: str, path: str, body: Any) -> HeldRequest | None:
        for held in self._holds:
            if held.matches(method, path, body):
                held.remaining -= 1
                held.count += 1
                return held
        return None

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.remaining > 0 and failure.method in ("*", method) and failure.pattern.fullmatch(path):
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
                return failure
        return None

    # ------------------------------------------------------------------ gateway: public controls

    async def wait_until_identified(self, timeout: float = 15, *, count: int = 1) -> None:
        """Wait until a bot session got READY and its GUILD_CREATEs went out on the socket.

        ``count``: total IDENTIFYs to wait for (2 after a bot process restart, ...).
        """

        def ok() -> bool:
            session = self._latest_session()
            return (
                self.identify_count >= count
                and session is not None
                and session.live
                and session.conn is not None
                and session.conn.sent_seq >= session.ready_seq > 0
            )

        await self._gateway_changes.until(ok, timeout, lambda: f"no bot session identified within {timeout}s")
        # The frames are written; give an in-process client's reader a moment to parse them.
        await asyncio.sleep(0.05)

    async def wait_until_resumed(self, timeout: float = 15, *, count: int = 1) -> None:
        """Wait until ``count`` RESUMEs in total have succeeded and that session is live again."""

        def ok() -> bool:
            session = self._latest_session()
            return self.resume_count >= count and session is not None and session.live

        await self._gateway_changes.until(ok, timeout, lambda: f"no RESUME within {timeout}s")

    async def drop_gateway(self, *, code: int | None = None) -> None:
        """Cut the live bot websocket(s) so discord.py reconnects and RESUMEs.

        ``code=None`` aborts the TCP connection (network failure); an int sends a close frame with that
        code (4000-4009 are resumable; 4004 and 4010-4014 are fatal to discord.py).
        """
        for conn in [c for c in self._connections if c.live and c.session is not None]:
            conn.dropped = True
            if code is None:
                if conn.transport is not None:
                    conn.transport.abort()
            else:
                await conn.ws.close(code=code, message=b"dropped by FakeDiscord")
        self._gateway_changes.notify()

    def send_reconnect(self) -> None:
        """Send op 7 RECONNECT to the live session(s): discord.py closes and RESUMEs."""
        for conn in [c for c in self._connections if c.live and c.session is not None]:
            conn.send({"op": _GW_RECONNECT, "d": None, "s": None, "t": None})

    def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION: with ``resumable=False`` discord.py IDENTIFYs anew."""
        for conn in [c for c in self._connections if c.live and c.session is not None]:
            if not resumable and conn.session is not None:
                conn.session.invalidated = True
            conn.send({"op": _GW_INVALID_SESSION, "d": resumable, "s": None, "t": None})

    # ------------------------------------------------------------------ gateway: server side

    def _latest_session(self) -> _Session | None:
        return next((s for s in reversed(self.sessions) if not s.invalidated), None)

    def _sessions_for(self, guild_id: int | None) -> list[_Session]:
        return [s for s in self.sessions if not s.invalidated and s.covers(guild_id)]

    def _broadcast(self, event: str, data: dict[str, Any], *, guild_id: int | None, intent: int) -> None:
        for session in self._sessions_for(guild_id):
            if session.intents & intent:
                session.dispatch(event, copy.deepcopy(data))

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        # timeout: how long close() waits for the client's close frame (a killed bot never sends one).
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True, timeout=2.0)
        await ws.prepare(request)
        conn = _Connection(ws, request.transport)
        self._connections.add(conn)
        conn.send(
            {
                "op": _GW_HELLO,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]},
                "s": None,
                "t": None,
            }
        )
        client_close_code: int | None = None
        try:
            while True:
                msg = await ws.receive()
                if msg.type is WSMsgType.TEXT:
                    await self._on_gateway_frame(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                elif msg.type is WSMsgType.CLOSE:
                    # The code of the client's own close frame (ws.close_code may be ours or later).
                    client_close_code = int(msg.data)
                    break
                elif msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
        finally:
            self._connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # A client closing with 1000/1001 ends its session (Discord invalidates it); any other
                # close or a lost connection leaves it resumable.
                if not conn.dropped and client_close_code in (1000, 1001):
                    session.invalidated = True
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
            await conn.stop()
            self._gateway_changes.notify()
        return ws

    async def _on_gateway_frame(self, conn: _Connection, text: str) -> None:
        try:
            frame = json.loads(text)
            op, data = frame["op"], frame.get("d")
        except (ValueError, KeyError, TypeError):
            await conn.ws.close(code=4002, message=b"Error while decoding payload.")
            return
        if op == _GW_HEARTBEAT:
            conn.send({"op": _GW_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == _GW_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == _GW_RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
        elif op == _GW_PRESENCE:
            pass
        elif op == _GW_REQUEST_MEMBERS:
            self._send_member_chunk(conn.session, data or {})
        elif op in (4, 14, 31, 36, 37):  # voice state, lazy guilds, soundboard...: accepted, not modelled
            pass
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = data.get("shard")
        shard_t = (int(shard[0]), int(shard[1])) if shard else None
        if shard_t is not None and not 0 <= shard_t[0] < shard_t[1]:
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        session = _Session(secrets.token_hex(16), len(self.sessions), intents, shard_t)
        self.sessions.append(session)
        session.conn, conn.session = conn, session
        self.identify_count += 1
        guilds = [g for g in self.guilds.values() if session.covers(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": {
                **self.users[self.bot_user_id].payload(),
                "verified": True,
                "mfa_enabled": False,
                "email": None,
            },
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": self._application_flags()},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "_trace": ["fake-gateway"],
        }
        if shard_t is not None:
            ready["shard"] = list(shard_t)
        seq = session.dispatch("READY", ready)
        for guild in guilds:
            seq = session.dispatch("GUILD_CREATE", self._guild_create_payload(guild, session))
        session.ready_seq = seq
        self._gateway_changes.notify()

    async def _resume(self, conn: _Connection, data: dict[str, Any]) -> None:
        session = next((s for s in self.sessions if s.session_id == data.get("session_id")), None)
        seq = data.get("seq") or 0
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        oldest = session.buffer[0]["s"] if session is not None and session.buffer else 1
        if session is None or session.invalidated or seq + 1 < oldest:
            conn.send({"op": _GW_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        old = session.conn
        if old is not None and old is not conn:
            old.dropped = True
            if old.transport is not None:
                old.transport.abort()  # a session has one socket; the older one is cut
        session.conn, conn.session = conn, session
        for payload in session.buffer:
            if payload["s"] > seq:
                conn.send(payload)
        session.dispatch("RESUMED", {"_trace": ["fake-gateway"]})
        self.resume_count += 1
        self._gateway_changes.notify()

    def _send_member_chunk(self, session: _Session, data: dict[str, Any]) -> None:
        guild = self.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        query = str(data.get("query") or "").lower()
        members = [
            self._member_payload(guild, m)
            for m in guild.members.values()
            if (not wanted or m.user_id in wanted)
            and self.users[m.user_id].username.lower().startswith(query)
        ]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    def _application_flags(self) -> int:
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        if self.allowed_privileged_intents & INTENT_GUILD_MEMBERS:
            flags |= 1 << 15
        if self.allowed_privileged_intents & INTENT_MESSAGE_CONTENT:
            flags |= 1 << 19
        return flags

    # ------------------------------------------------------------------ payloads

    def _user_payload(self, user_id: int) -> dict[str, Any]:
        user = self.users.get(user_id) or FakeUser(user_id, f"user{user_id}")
        return user.payload()

    def _member_payload(
        self, guild: FakeGuild, member: FakeMember, *, with_user: bool = True, permissions: int | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in member.roles],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(member.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self._user_payload(member.user_id)
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def _channel_payload(self, ch: FakeChannel) -> dict[str, Any]:
        if ch.type == DM:
            return {
                "id": str(ch.id),
                "type": DM,
                "last_message_id": str(ch.last_message_id) if ch.last_message_id else None,
                "flags": 0,
                "recipients": [self._user_payload(u) for u in ch.recipient_ids],
            }
        last = str(ch.last_message_id) if ch.last_message_id else None
        if ch.is_thread:
            meta: dict[str, Any] = {
                "archived": ch.archived,
                "auto_archive_duration": ch.auto_archive_duration,
                "archive_timestamp": iso(ch.archive_timestamp),
                "locked": ch.locked,
                "create_timestamp": iso(ch.created_at),
            }
            if ch.type == PRIVATE_THREAD:
                meta["invitable"] = ch.invitable
            data: dict[str, Any] = {
                "id": str(ch.id),
                "type": ch.type,
                "guild_id": str(ch.guild_id),
                "parent_id": str(ch.parent_id),
                "owner_id": str(ch.owner_id),
                "name": ch.name,
                "last_message_id": last,
                "message_count": ch.message_count,
                "member_count": min(len(ch.member_ids), 50),
                "total_message_sent": ch.total_message_sent,
                "rate_limit_per_user": ch.rate_limit_per_user,
                "flags": 0,
                "applied_tags": [str(t) for t in ch.applied_tags],
                "thread_metadata": meta,
            }
            if self.bot_user_id in ch.member_ids:
                data["member"] = {
                    "id": str(ch.id),
                    "user_id": str(self.bot_user_id),
                    "join_timestamp": iso(ch.created_at),
                    "flags": 0,
                }
            return data
        data = {
            "id": str(ch.id),
            "type": ch.type,
            "guild_id": str(ch.guild_id),
            "name": ch.name,
            "position": ch.position,
            "permission_overwrites": [],
            "parent_id": None,
            "nsfw": False,
            "flags": 0,
            "topic": ch.topic,
            "last_message_id": last,
            "rate_limit_per_user": ch.rate_limit_per_user,
            "default_auto_archive_duration": 1440,
            "default_thread_rate_limit_per_user": 0,
        }
        if ch.type in (GUILD_FORUM, GUILD_MEDIA):
            data.update(
                available_tags=[],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                template="",
            )
        return data

    def _guild_payload(self, guild: FakeGuild) -> dict[str, Any]:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": list(guild.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500_000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": guild.premium_tier,
            "premium_subscription_count": (0, 2, 7, 14)[guild.premium_tier],
            "preferred_locale": guild.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "incidents_data": None,
            "widget_enabled": False,
        }

    def _guild_create_payload(self, guild: FakeGuild, session: _Session) -> dict[str, Any]:
        # Without the GUILD_MEMBERS intent Discord only sends the bot's own member in GUILD_CREATE.
        members = [
            m
            for m in guild.members.values()
            if session.intents & INTENT_GUILD_MEMBERS or m.user_id == self.bot_user_id
        ]
        data = self._guild_payload(guild)
        data.update(
            joined_at=iso(guild.joined_at),
            large=False,
            unavailable=False,
            member_count=len(guild.members),
            voice_states=[],
            members=[self._member_payload(guild, m) for m in members],
            channels=[self._channel_payload(self.channels[c]) for c in guild.channel_ids],
            threads=[
                self._channel_payload(t)
                for t in self.threads.values()
                if t.guild_id == guild.id and not t.archived and not t.deleted
            ],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
            lazy=True,
        )
        return data

    def _reactions_payload(self, msg: FakeMessage) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for emoji in dict.fromkeys(e for e, _ in msg.reactions):
            users = [u for e, u in msg.reactions if e == emoji]
            name, _, eid = emoji.partition(":")
            out.append(
                {
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": self.bot_user_id in users,
                    "me_burst": False,
                    "burst_colors": [],
                    "emoji": {"id": eid or None, "name": name},
                }
            )
        return out

    def _message_payload(
        self, msg: FakeMessage, *, gateway: bool = False, nested: bool = False
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(msg.id),
            "channel_id": str(msg.channel_id),
            "author": self._user_payload(msg.author_id),
            "content": msg.content,
            "timestamp": iso(msg.created_at),
            "edited_timestamp": iso(msg.edited_at),
            "tts": msg.tts,
            "mention_everyone": msg.mention_everyone,
            "mentions": [self._mention_payload(uid, msg.guild_id, gateway) for uid in msg.mentions],
            "mention_roles": [str(r) for r in msg.mention_roles],
            "attachments": [a.payload() for a in msg.attachments],
            "embeds": copy.deepcopy(msg.embeds),
            "pinned": msg.pinned,
            "type": msg.type,
            "flags": msg.flags,
            "components": copy.deepcopy(msg.components),
        }
        if msg.reactions:
            data["reactions"] = self._reactions_payload(msg)
        if msg.nonce is not None:
            data["nonce"] = msg.nonce
        if msg.webhook_id is not None:
            data["webhook_id"] = str(msg.webhook_id)
        if msg.application_id is not None:
            data["application_id"] = str(msg.application_id)
        if msg.interaction_metadata is not None:
            data["interaction_metadata"] = copy.deepcopy(msg.interaction_metadata)
        if msg.message_reference is not None:
            data["message_reference"] = dict(msg.message_reference)
            if not nested and msg.message_reference.get("type", 0) == 0:
                ref = self.messages.get(int(msg.message_reference["message_id"]))
                data["referenced_message"] = (
                    None if ref is None or ref.deleted else self._message_payload(ref, nested=True)
                )
        if msg.thread_id is not None and msg.thread_id in self.threads:
            data["thread"] = self._channel_payload(self.threads[msg.thread_id])
        channel = self.channels.get(msg.channel_id)
        if channel is not None and channel.is_thread:
            data["position"] = self._channel_messages[channel.id].index(msg.id)
        if gateway and msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
            member = self.guilds[msg.guild_id].members.get(msg.author_id)
            if member is not None and msg.webhook_id is None:
                data["member"] = self._member_payload(self.guilds[msg.guild_id], member, with_user=False)
        return data

    def _mention_payload(self, user_id: int, guild_id: int | None, gateway: bool) -> dict[str, Any]:
        data = self._user_payload(user_id)
        if gateway and guild_id is not None:
            guild = self.guilds[guild_id]
            member = guild.members.get(user_id)
            if member is not None:
                data["member"] = self._member_payload(guild, member, with_user=False)
        return data

    def _gateway_message_payload(self, msg: FakeMessage, session: _Session) -> dict[str, Any]:
        data = self._message_payload(msg, gateway=True)
        # Without MESSAGE_CONTENT, content/embeds/attachments/components of others' guild messages are
        # empty unless the bot is mentioned.
        if (
            not session.intents & INTENT_MESSAGE_CONTENT
            and msg.guild_id is not None
            and msg.author_id != self.bot_user_id
            and self.bot_user_id not in msg.mentions
        ):
            data.update(content="", embeds=[], attachments=[], components=[])
        return data

    def _dispatch_message(self, event: str, msg: FakeMessage) -> None:
        if msg.ephemeral:
            return  # ephemeral messages never reach the gateway
        intent = INTENT_DIRECT_MESSAGES if msg.guild_id is None else INTENT_GUILD_MESSAGES
        for session in self._sessions_for(msg.guild_id):
            if session.intents & intent:
                session.dispatch(event, self._gateway_message_payload(msg, session))

    # ------------------------------------------------------------------ messages (shared logic)

    def _bump(self, msg: FakeMessage) -> None:
        self._revision += 1
        msg.revision = self._revision
        self._changes.notify()
        if msg.interaction_id is not None and msg.interaction_id in self.interactions:
            self.interactions[msg.interaction_id]._notify()

    def _limit_for(self, guild_id: int | None) -> int:
        return DM_FILESIZE_LIMIT if guild_id is None else self._guild(guild_id).filesize_limit

    @staticmethod
    def _check_upload_size(files: list[_Upload], limit: int) -> None:
        if any(len(f.data) > limit for f in files):
            raise DiscordAPIError(413, 40005, "Request entity too large")

    def _attachment_url(self, path: str, ex: int, issued: int) -> str:
        query = f"ex={ex:x}&is={issued:x}"
        sig = hmac.new(self._secret, f"{path}?{query}".encode(), hashlib.sha256).hexdigest()
        return f"{query}&hm={sig}&"

    def _store_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None,
        *,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> FakeAttachment:
        aid = self.new_id()
        filename = re.sub(r"[^\w.\-]", "_", filename) or "unknown"
        if content_type in (None, "application/octet-stream"):
            content_type = mimetypes.guess_type(filename)[0] or content_type
        path = f"/attachments/{channel_id}/{aid}/{quote(filename)}"
        now = int(time.time())
        query = self._attachment_url(path, now + int(self.attachment_url_lifetime), now)
        att = FakeAttachment(
            aid,
            channel_id,
            filename,
            data,
            content_type,
            url=f"{self.base_url}{path}?{query}",
            proxy_url=f"{self.base_url}/media{path}?{query}",
            description=description,
            ephemeral=ephemeral,
        )
        self.attachments[aid] = att
        return att

    def _attachments_for(
        self,
        channel_id: int,
        payload: Mapping[str, Any],
        files: list[_Upload],
        existing: list[FakeAttachment] | None,
    ) -> list[FakeAttachment] | None:
        """The attachment list after this create/edit; ``None``: leave an edited message's as they are."""
        by_field = {f.field: f for f in files}
        specs = payload.get("attachments")
        if specs is None:
            if not files:
                return None
            new = [self._store_attachment(channel_id, f.filename, f.data, f.content_type) for f in files]
            return (existing or []) + new
        out: list[FakeAttachment] = []
        current = {a.id: a for a in existing or []}
        for spec in specs:
            ident = snowflake(spec.get("id"))
            upload = by_field.get(f"files[{ident}]")
            if upload is not None:
                out.append(
                    self._store_attachment(
                        channel_id,
                        str(spec.get("filename") or upload.filename),
                        upload.data,
                        upload.content_type,
                        description=spec.get("description"),
                    )
                )
            elif ident in current:
                out.append(current[ident])
        return out

    def _normalise_embeds(self, embeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for embed in embeds:
            embed = copy.deepcopy(embed)
            embed.setdefault("type", "rich")
            out.append({k: v for k, v in embed.items() if v is not None})
        return out

    def _mentions_for(
        self,
        author_id: int,
        guild_id: int | None,
        content: str,
        allowed: Mapping[str, Any] | None,
        replied_user: int | None,
    ) -> tuple[list[int], list[int], bool]:
        guild = self.guilds.get(guild_id) if guild_id is not None else None
        may_everyone = guild is not None and bool(
            self.member_permissions(guild.id, author_id) & MENTION_EVERYONE
        )
        return compute_mentions(
            content,
            allowed,
            known_users=lambda u: u in self.users,
            known_roles=lambda r: guild is not None and r in guild.roles,
            may_mention_everyone=may_everyone,
            replied_user=replied_user,
        )

    def _add_message(
        self,
        channel: FakeChannel,
        author_id: int,
        payload: Mapping[str, Any],
        files: list[_Upload],
        *,
        msg_id: int | None = None,
        mtype: int = MSG_DEFAULT,
        extra_flags: int = 0,
        interaction: FakeInteraction | None = None,
        reference: dict[str, Any] | None = None,
        user_attachments: list[FakeAttachment] | None = None,
    ) -> FakeMessage:
        flags = (int(payload.get("flags") or 0) & SETTABLE_MESSAGE_FLAGS) | extra_flags
        content = payload.get("content") or ""
        replied_user = None
        if reference is not None and reference.get("type", 0) == 0 and mtype == MSG_REPLY:
            # A thread-created notice references the thread, not a message: nobody is replied to.
            replied_user = self.messages[int(reference["message_id"])].author_id
        users, roles, everyone = self._mentions_for(
            author_id, channel.guild_id, content, payload.get("allowed_mentions"), replied_user
        )
        attachments = user_attachments or self._attachments_for(channel.id, payload, files, None) or []
        if interaction is not None:
            for att in attachments:
                att.ephemeral = bool(flags & FLAG_EPHEMERAL)
        msg = FakeMessage(
            id=msg_id or self.new_id(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=content,
            embeds=self._normalise_embeds(payload.get("embeds") or []),
            components=number_components(copy.deepcopy(payload.get("components") or [])),
            attachments=attachments,
            nonce=None if payload.get("nonce") is None else str(payload["nonce"]),
            flags=flags,
            type=mtype,
            tts=bool(payload.get("tts", False)),
            message_reference=reference,
            mentions=users,
            mention_roles=roles,
            mention_everyone=everyone,
        )
        if interaction is not None:
            msg.webhook_id = msg.application_id = self.application_id
            msg.interaction_id = interaction.id
            msg.interaction_metadata = self._interaction_metadata(interaction)
        self.messages[msg.id] = msg
        self._channel_messages.setdefault(channel.id, []).append(msg.id)
        if not msg.ephemeral:
            channel.last_message_id = msg.id
            if channel.is_thread:
                channel.message_count += 1
                channel.total_message_sent += 1
        self._bump(msg)
        self._dispatch_message("MESSAGE_CREATE", msg)
        return msg

    def _edit_message(
        self,
        msg: FakeMessage,
        payload: Mapping[str, Any],
        files: list[_Upload],
        *,
        clear_loading: bool = False,
    ) -> None:
        validate_message_payload(payload, n_files=len(files), creating=False)
        msg.history.append(msg.snapshot())
        if "content" in payload:
            msg.content = payload["content"] or ""
        if "embeds" in payload:
            msg.embeds = self._normalise_embeds(payload["embeds"] or [])
        if "components" in payload:
            msg.components = number_components(copy.deepcopy(payload["components"] or []))
        if payload.get("flags") is not None:
            new = int(payload["flags"])
            msg.flags = (
                (msg.flags & ~FLAG_SUPPRESS_EMBEDS)
                | (new & FLAG_SUPPRESS_EMBEDS)
                | (new & FLAG_IS_COMPONENTS_V2)
            )
        attachments = self._attachments_for(msg.channel_id, payload, files, msg.attachments)
        if attachments is not None:
            msg.attachments = attachments
        if clear_loading:
            msg.flags &= ~FLAG_LOADING
        if "content" in payload or "allowed_mentions" in payload:
            replied = None
            if msg.message_reference is not None and msg.type == MSG_REPLY:
                ref = self.messages.get(int(msg.message_reference["message_id"]))
                replied = ref.author_id if ref is not None else None
            msg.mentions, msg.mention_roles, msg.mention_everyone = self._mentions_for(
                msg.author_id, msg.guild_id, msg.content, payload.get("allowed_mentions"), replied
            )
        if not (msg.content or msg.embeds or msg.attachments or msg.components or msg.loading):
            msg.history.pop()
            raise DiscordAPIError(400, 50006, "Cannot send an empty message")
        msg.edited_at = utcnow()
        self._bump(msg)
        self._dispatch_message("MESSAGE_UPDATE", msg)

    def _delete_message(self, msg: FakeMessage) -> None:
        msg.deleted = True
        self._bump(msg)
        if not msg.ephemeral:
            data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id is not None:
                data["guild_id"] = str(msg.guild_id)
            intent = INTENT_DIRECT_MESSAGES if msg.guild_id is None else INTENT_GUILD_MESSAGES
            self._broadcast("MESSAGE_DELETE", data, guild_id=msg.guild_id, intent=intent)

    def send_user_message(
        self,
        channel_id: int,
        user_id: int,
        content: str = "",
        *,
        files: Iterable[FakeFile] = (),
        reply_to: int | None = None,
    ) -> FakeMessage:
        """Simulate a user posting in a channel/thread (MESSAGE_CREATE reaches the bot)."""
        channel = self.channels[channel_id]
        if user_id not in self.users:
            raise ValueError(f"unknown user {user_id}")
        atts = [self._store_attachment(channel_id, f.filename, f.data, f.content_type) for f in files]
        ref = None
        if reply_to is not None:
            ref = {"type": 0, "message_id": str(reply_to), "channel_id": str(channel_id)}
            if channel.guild_id is not None:
                ref["guild_id"] = str(channel.guild_id)
        return self._add_message(
            channel,
            user_id,
            {"content": content},
            [],
            user_attachments=atts,
            mtype=MSG_REPLY if ref else MSG_DEFAULT,
            reference=ref,
        )

    # ------------------------------------------------------------------ HTTP plumbing

    def _build_routes(self) -> list[_Route]:
        # Templates use Discord's parameter names: they name the rate-limit buckets (major
        # parameters: channel_id, guild_id, webhook_id + webhook_token, interaction id + token).
        table: list[tuple[str, str, _Handler, bool]] = [
            ("GET", "/users/@me", self._h_me, True),
            ("GET", "/users/{user_id}", self._h_user, True),
            ("POST", "/users/@me/channels", self._h_create_dm, True),
            ("GET", "/oauth2/applications/@me", self._h_application, True),
            ("GET", "/applications/@me", self._h_application, True),
            ("GET", "/gateway", self._h_gateway_url, False),
            ("GET", "/gateway/bot", self._h_gateway_bot, True),
            ("GET", "/applications/{application_id}/commands", self._h_get_commands, True),
            ("PUT", "/applications/{application_id}/commands", self._h_put_commands, True),
            ("POST", "/applications/{application_id}/commands", self._h_post_command, True),
            ("GET", "/applications/{application_id}/commands/{command_id}", self._h_get_command, True),
            ("DELETE", "/applications/{application_id}/commands/{command_id}", self._h_delete_command, True),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._h_get_commands, True),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._h_put_commands, True),
            ("POST", "/applications/{application_id}/guilds/{guild_id}/commands", self._h_post_command, True),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self._h_get_command,
                True,
            ),
            (
                "DELETE",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self._h_delete_command,
                True,
            ),
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self._h_callback, False),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self._h_followup, False),
            ("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message}", self._h_webhook_get, False),
            (
                "PATCH",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message}",
                self._h_webhook_edit,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message}",
                self._h_webhook_delete,
                False,
            ),
            ("GET", "/channels/{channel_id}", self._h_get_channel, True),
            ("PATCH", "/channels/{channel_id}", self._h_edit_channel, True),
            ("DELETE", "/channels/{channel_id}", self._h_delete_channel, True),
            ("GET", "/channels/{channel_id}/messages", self._h_history, True),
            ("POST", "/channels/{channel_id}/messages", self._h_create_message, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._h_get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._h_edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._h_delete_message, True),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self._h_thread_from_message,
                True,
            ),
            ("POST", "/channels/{channel_id}/threads", self._h_create_thread, True),
            ("POST", "/channels/{channel_id}/typing", self._h_typing, True),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._h_add_reaction,
                True,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._h_remove_reaction,
                True,
            ),
            ("PUT", "/channels/{channel_id}/thread-members/{member}", self._h_thread_member_add, True),
            ("DELETE", "/channels/{channel_id}/thread-members/{member}", self._h_thread_member_remove, True),
            ("GET", "/guilds/{guild_id}", self._h_get_guild, True),
            ("GET", "/guilds/{guild_id}/channels", self._h_guild_channels, True),
            ("GET", "/guilds/{guild_id}/roles", self._h_guild_roles, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._h_guild_member, True),
            ("GET", "/guilds/{guild_id}/members", self._h_guild_members, True),
        ]
        return [_Route.build(m, t, h, a) for m, t, h, a in table]

    async def _read_body(self, request: web.Request) -> tuple[Any, list[_Upload]]:
        ctype = request.content_type
        files: list[_Upload] = []
        body: Any = None
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue  # nested multipart: discord.py never sends one
                data = await part.read(decode=False)
                if part.name == "payload_json":
                    try:
                        body = json.loads(data.decode())
                    except ValueError:
                        raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from None
                elif part.filename is not None:
                    files.append(
                        _Upload(part.name or "", part.filename, bytes(data), part.headers.get("Content-Type"))
                    )
            return body, files
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw.decode())
            except ValueError:
                raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from None
        return body, files

    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        prefix = _API_PREFIX.match(request.path)
        path = request.path[prefix.end() :] if prefix else request.path
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=None,
            files=[],
            headers={
                k: v
                for k, v in request.headers.items()
                if k.lower() in ("authorization", "content-type", "user-agent", "x-audit-log-reason")
            },
            at=time.monotonic(),
        )
        self.requests.append(record)
        body_error: DiscordAPIError | None = None
        body: Any = None
        files: list[_Upload] = []
        try:
            body, files = await self._read_body(request)
        except DiscordAPIError as exc:
            body_error = exc
        record.json = body
        record.files = [RecordedFile(f.field, f.filename, len(f.data), f.content_type) for f in files]

        if prefix is None:  # the CDN: not an API call, outside the rate limits and the counters
            if body_error is not None:
                record.status = body_error.status
                return _json_response(body_error.body(), body_error.status)
            failure = self._take_failure(request.method, path)
            if failure is not None:
                record.status, record.injected = failure.status, True
                return _json_response(failure.body, failure.status, failure.headers)
            response = await self._handle_cdn(request, path)
            record.status = response.status
            record.unknown_route = response.status == 404 and not path.startswith(
                ("/attachments/", "/media/")
            )
            return response

        await self._take_delay(request.method, path)
        route, match, path_known = self._match_route(request.method, path)
        kind = self._token_kind(request, route)
        record.token_kind = kind
        record.route = route.key if route is not None else None
        verdict = self.rate_limiter.check(
            counts_globally=kind == TOKEN_BOT,
            route_key=route.key if route is not None else None,
            major=route.major(match.groups()) if route is not None and match is not None else "",
        )
        if verdict.retry_after is not None:
            record.rate_limited = verdict.scope
            response = _json_response(verdict.response_body(), 429, verdict.headers)
        elif body_error is not None:
            response = _json_response(body_error.body(), body_error.status, verdict.headers)
        elif (failure := self._take_failure(request.method, path)) is not None:
            record.injected = True
            response = _json_response(failure.body, failure.status, {**verdict.headers, **failure.headers})
        elif route is None or match is None:
            record.unknown_route = True
            response = (
                _json_response({"message": "405: Method Not Allowed", "code": 0}, 405)
                if path_known
                else _json_response({"message": "404: Not Found", "code": 0}, 404)
            )
        else:
            held = self._take_hold(request.method, path, body)
            if held is not None and not held.applied:
                held.arrived.set()
                await held.released.wait()
                response = _json_response({"message": "502: Bad Gateway", "code": 0}, 502)
            else:
                response = await self._serve(request, route, match, body, files)
            if held is not None and held.applied:
                held.arrived.set()
                await held.released.wait()
            for name, value in verdict.headers.items():
                response.headers.setdefault(name, value)
        record.status = response.status
        # The limiter's decision time: the timeline then shows what the global limit saw.
        self.traffic.record(kind, response.status, verdict.at, scope=verdict.scope)
        return response

    def _match_route(self, method: str, path: str) -> tuple[_Route | None, re.Match[str] | None, bool]:
        """The route for this method and path, its match, and whether any method serves the path."""
        path_known = False
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            path_known = True
            if route.method == method:
                return route, match, True
        return None, None, path_known

    def _token_kind(self, request: web.Request, route: _Route | None) -> str:
        if route is not None and route.interaction_token:
            return TOKEN_INTERACTION
        if request.headers.get("Authorization") == f"Bot {self.token}":
            return TOKEN_BOT
        return TOKEN_OTHER

    async def _serve(
        self, request: web.Request, route: _Route, match: re.Match[str], body: Any, files: list[_Upload]
    ) -> web.StreamResponse:
        try:
            if route.auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise DiscordAPIError(401, 0, "401: Unauthorized")
            return await route.handler(_Ctx(request, match.groups(), body, files))
        except DiscordAPIError as exc:
            return _json_response(exc.body(), exc.status, exc.headers)

    async def _handle_cdn(self, request: web.Request, path: str) -> web.StreamResponse:
        match = re.fullmatch(r"(?:/media)?(/attachments/(\d+)/(\d+)/[^/]+)", request.raw_path.split("?")[0])
        gone = web.Response(status=404, text="This content is no longer available.")
        if request.method != "GET" or match is None:
            return web.Response(status=404, text="404: Not Found")
        att = self.attachments.get(int(match.group(3)))
        q = request.query
        if att is None or att.expired or not {"ex", "is", "hm"} <= q.keys():
            return gone
        expected = self._attachment_url(match.group(1), int(q["ex"], 16), int(q["is"], 16))
        if (
            not hmac.compare_digest(expected.split("hm=")[1].rstrip("&"), q["hm"])
            or int(q["ex"], 16) < time.time()
        ):
            return gone
        return web.Response(
            body=att.data, headers={"Content-Type": att.content_type or "application/octet-stream"}
        )

    # ------------------------------------------------------------------ REST: users, app, gateway

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.application_id:
            raise DiscordAPIError(
                403, 20012, "You are not authorized to perform this action on this application"
            )

    async def _h_me(self, ctx: _Ctx) -> web.Response:
        return _json_response(
            {
                **self._user_payload(self.bot_user_id),
                "verified": True,
                "mfa_enabled": False,
                "email": None,
                "locale": "en-US",
            }
        )

    async def _h_user(self, ctx: _Ctx) -> web.Response:
        uid = int(ctx.match[0])
        if uid not in self.users:
            raise unknown("User", 10013)
        return _json_response(self._user_payload(uid))

    async def _h_create_dm(self, ctx: _Ctx) -> web.Response:
        try:
            uid = snowflake(ctx.body().get("recipient_id"))
        except ValueError:
            raise form_error("recipient_id", "NUMBER_TYPE_COERCE", "Value is not snowflake.") from None
        if uid not in self.users:
            raise unknown("User", 10013)
        return _json_response(self._channel_payload(self.open_dm(uid)))

    async def _h_application(self, ctx: _Ctx) -> web.Response:
        owner = self.users.get(DEFAULT_OWNER_ID) or FakeUser(DEFAULT_OWNER_ID, "owner")
        return _json_response(
            {
                "id": str(self.application_id),
                "name": self.users[self.bot_user_id].username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": hashlib.sha256(str(self.application_id).encode()).hexdigest(),
                "owner": owner.payload(),
                "team": None,
                "flags": self._application_flags(),
                "hook": True,
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "tags": [],
                "redirect_uris": [],
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}},
                "bot": self._user_payload(self.bot_user_id),
            }
        )

    async def _h_gateway_url(self, ctx: _Ctx) -> web.Response:
        return _json_response({"url": self.gateway_url})

    async def _h_gateway_bot(self, ctx: _Ctx) -> web.Response:
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    # ------------------------------------------------------------------ REST: application commands

    def _scope(self, ctx: _Ctx) -> int | None:
        self._check_app(ctx.match[0])
        if "/guilds/" in ctx.request.path:
            guild_id = int(ctx.match[1])
            if guild_id not in self.guilds:
                raise DiscordAPIError(403, MISSING_ACCESS, "Missing Access")
            return guild_id
        return None

    def _command_echo(self, cmd: dict[str, Any], guild_id: int | None) -> dict[str, Any]:
        ctype = int(cmd.get("type", 1))
        key = (guild_id, cmd["name"], ctype)
        # Discord keeps a command's id across overwrites as long as name and type stay the same.
        cid = self._command_ids.setdefault(key, self.new_id())
        out = copy.deepcopy(cmd)
        out.update(
            id=str(cid), application_id=str(self.application_id), version=str(self.new_id()), type=ctype
        )
        out.setdefault("description", "")
        out.setdefault("options", [])
        out.setdefault("nsfw", False)
        out.setdefault("name_localizations", None)
        out.setdefault("description_localizations", None)
        out.setdefault("integration_types", [0])
        out.setdefault("contexts", None)
        perms = out.get("default_member_permissions")
        out["default_member_permissions"] = None if perms is None else str(perms)
        if guild_id is None:
            out.setdefault("dm_permission", True)
        else:
            out["guild_id"] = str(guild_id)
        return out

    async def _h_get_commands(self, ctx: _Ctx) -> web.Response:
        return _json_response(self.registered_commands.get(self._scope(ctx), []))

    async def _h_put_commands(self, ctx: _Ctx) -> web.Response:
        scope = self._scope(ctx)
        commands = ctx.json if ctx.json is not None else []
        validate_commands(commands)
        self.registered_commands[scope] = [self._command_echo(c, scope) for c in commands]
        return _json_response(self.registered_commands[scope])

    async def _h_post_command(self, ctx: _Ctx) -> web.Response:
        scope = self._scope(ctx)
        cmd = ctx.body()
        validate_commands([cmd])
        existing = self.registered_commands.setdefault(scope, [])
        echo = self._command_echo(cmd, scope)
        for i, old in enumerate(existing):
            if old["id"] == echo["id"]:
                existing[i] = echo
                return _json_response(echo, 200)
        existing.append(echo)
        return _json_response(echo, 201)

    def _find_registered(self, scope: int | None, command_id: int) -> tuple[list[dict[str, Any]], int]:
        cmds = self.registered_commands.get(scope, [])
        for i, cmd in enumerate(cmds):
            if int(cmd["id"]) == command_id:
                return cmds, i
        raise unknown("application command", 10063)

    async def _h_get_command(self, ctx: _Ctx) -> web.Response:
        cmds, i = self._find_registered(self._scope(ctx), int(ctx.match[-1]))
        return _json_response(cmds[i])

    async def _h_delete_command(self, ctx: _Ctx) -> web.Response:
        cmds, i = self._find_registered(self._scope(ctx), int(ctx.match[-1]))
        del cmds[i]
        return _no_content()

    # ------------------------------------------------------------------ REST: guilds

    def _guild_or_404(self, guild_id: str) -> FakeGuild:
        guild = self.guilds.get(int(guild_id))
        if guild is None:
            raise unknown("Guild", 10004)
        return guild

    async def _h_get_guild(self, ctx: _Ctx) -> web.Response:
        guild = self._guild_or_404(ctx.match[0])
        data = self._guild_payload(guild)
        if _truthy(ctx.query.get("with_counts")):
            data.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
        return _json_response(data)

    async def _h_guild_channels(self, ctx: _Ctx) -> web.Response:
        guild = self._guild_or_404(ctx.match[0])
        return _json_response([self._channel_payload(self.channels[c]) for c in guild.channel_ids])

    async def _h_guild_roles(self, ctx: _Ctx) -> web.Response:
        guild = self._guild_or_404(ctx.match[0])
        return _json_response([r.payload() for r in guild.roles.values()])

    async def _h_guild_member(self, ctx: _Ctx) -> web.Response:
        guild = self._guild_or_404(ctx.match[0])
        member = guild.members.get(int(ctx.match[1]))
        if member is None:
            raise unknown("Member", 10007)
        return _json_response(self._member_payload(guild, member))

    async def _h_guild_members(self, ctx: _Ctx) -> web.Response:
        guild = self._guild_or_404(ctx.match[0])
        limit = int(ctx.query.get("limit", "1"))
        after = int(ctx.query.get("after", "0"))
        members = sorted((m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id)
        return _json_response([self._member_payload(guild, m) for m in members[:limit]])

    # ------------------------------------------------------------------ REST: channels and messages

    def _channel_or_404(self, channel_id: str | int) -> FakeChannel:
        channel = self.channels.get(int(channel_id))
        if channel is None or channel.deleted:
            raise unknown("Channel", 10003)
        return channel

    def _message_or_404(self, channel: FakeChannel, message_id: str | int) -> FakeMessage:
        msg = self.messages.get(int(message_id))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise unknown("Message", 10008)
        return msg

    def _bot_perms(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return DM_PERMISSIONS
        return self.member_permissions(channel.guild_id, self.bot_user_id)

    def _require(self, channel: FakeChannel, *bits: int) -> None:
        perms = self._bot_perms(channel)
        if not perms & VIEW_CHANNEL:
            raise DiscordAPIError(403, MISSING_ACCESS, "Missing Access")
        if (
            channel.type == PRIVATE_THREAD
            and self.bot_user_id not in channel.member_ids
            and not perms & MANAGE_THREADS
        ):
            raise DiscordAPIError(403, MISSING_ACCESS, "Missing Access")
        for bit in bits:
            if not perms & bit:
                raise missing_permissions()

    def _unarchive_for_post(self, channel: FakeChannel) -> None:
        if not (channel.is_thread and channel.archived):
            return
        if channel.locked and not self._bot_perms(channel) & MANAGE_THREADS:
            raise DiscordAPIError(400, 50083, "Thread is archived")
        # Discord: "The API will helpfully automatically unarchive a thread when sending a message in it".
        channel.archived, channel.archive_timestamp = False, utcnow()
        self._broadcast(
            "THREAD_UPDATE", self._channel_payload(channel), guild_id=channel.guild_id, intent=INTENT_GUILDS
        )

    async def _h_get_channel(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        if channel.guild_id is not None:
            self._require(channel)
        return _json_response(self._channel_payload(channel))

    async def _h_edit_channel(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        body = ctx.body()
        if "name" in body and (not isinstance(body["name"], str) or not 1 <= len(body["name"]) <= 100):
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if channel.is_thread:
            owner = channel.owner_id == self.bot_user_id
            self._require(channel)
            if not owner and not self._bot_perms(channel) & MANAGE_THREADS:
                raise missing_permissions()
            if "locked" in body and not self._bot_perms(channel) & MANAGE_THREADS:
                raise missing_permissions()
            if (
                body.get("archived") is False
                and channel.locked
                and not self._bot_perms(channel) & MANAGE_THREADS
            ):
                raise missing_permissions()
            if (
                "auto_archive_duration" in body
                and body["auto_archive_duration"] not in AUTO_ARCHIVE_DURATIONS
            ):
                raise form_error(
                    "auto_archive_duration",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {60, 1440, 4320, 10080}.",
                )
            for key in (
                "name",
                "archived",
                "locked",
                "auto_archive_duration",
                "invitable",
                "rate_limit_per_user",
            ):
                if key in body:
                    setattr(channel, key, body[key])
            if "archived" in body:
                channel.archive_timestamp = utcnow()
            if "applied_tags" in body:
                channel.applied_tags = [snowflake(t) for t in body["applied_tags"]]
            event = "THREAD_UPDATE"
        else:
            self._require(channel, MANAGE_CHANNELS)
            for key in ("name", "topic", "rate_limit_per_user"):
                if key in body:
                    setattr(channel, key, body[key])
            event = "CHANNEL_UPDATE"
        self._broadcast(
            event, self._channel_payload(channel), guild_id=channel.guild_id, intent=INTENT_GUILDS
        )
        return _json_response(self._channel_payload(channel))

    async def _h_delete_channel(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        self._require(channel, MANAGE_THREADS if channel.is_thread else MANAGE_CHANNELS)
        channel.deleted = True
        data = self._channel_payload(channel)
        self._broadcast(
            "THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE",
            {k: data[k] for k in ("id", "guild_id", "parent_id", "type") if k in data}
            if channel.is_thread
            else data,
            guild_id=channel.guild_id,
            intent=INTENT_GUILDS,
        )
        return _json_response(data)

    async def _h_history(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        self._require(channel)
        if not self._bot_perms(channel) & READ_MESSAGE_HISTORY:  # Discord answers an empty list
            return _json_response([])
        limit = max(1, min(100, int(ctx.query.get("limit", "50"))))
        msgs = self.messages_in(channel.id, include_ephemeral=False)
        if "before" in ctx.query:
            msgs = [m for m in msgs if m.id < int(ctx.query["before"])]
            msgs = msgs[-limit:]
        elif "after" in ctx.query:
            msgs = [m for m in msgs if m.id > int(ctx.query["after"])][:limit]
        elif "around" in ctx.query:
            around = int(ctx.query["around"])
            older = [m for m in msgs if m.id <= around][-(limit // 2 + 1) :]
            newer = [m for m in msgs if m.id > around][: limit - len(older)]
            msgs = older + newer
        else:
            msgs = msgs[-limit:]
        return _json_response([self._message_payload(m) for m in reversed(msgs)])

    def _check_dm(self, channel: FakeChannel) -> None:
        if channel.type == DM and any(u in self._dms_closed for u in channel.recipient_ids):
            raise DiscordAPIError(403, 50007, "Cannot send messages to this user")

    async def _h_create_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        body = ctx.body()
        if channel.type in (GUILD_FORUM, GUILD_MEDIA):
            raise DiscordAPIError(400, 50008, "Cannot send messages in a non-text channel")
        if channel.guild_id is not None:
            self._require(
                channel,
                SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES,
                *([ATTACH_FILES] if ctx.files else []),
            )
        self._check_dm(channel)
        self._check_upload_size(ctx.files, self._limit_for(channel.guild_id))
        validate_message_payload(body, n_files=len(ctx.files), creating=True)
        nonce = body.get("nonce")
        key = (channel.id, self.bot_user_id, str(nonce))
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get(key)
            if seen is not None and time.monotonic() - seen[1] < self.nonce_window:
                existing = self.messages.get(seen[0])
                if existing is not None and not existing.deleted:
                    return _json_response(self._message_payload(existing))
        reference = self._reference(channel, body.get("message_reference"))
        self._unarchive_for_post(channel)
        if channel.is_thread:
            channel.member_ids.add(self.bot_user_id)
        msg = self._add_message(
            channel,
            self.bot_user_id,
            body,
            ctx.files,
            reference=reference,
            mtype=MSG_REPLY if reference and reference.get("type", 0) == 0 else MSG_DEFAULT,
        )
        if nonce is not None:
            self._nonces[key] = (msg.id, time.monotonic())
        return _json_response(self._message_payload(msg))

    def _reference(self, channel: FakeChannel, ref: Any) -> dict[str, Any] | None:
        if not ref:
            return None
        target = self.messages.get(snowflake(ref.get("message_id"))) if ref.get("message_id") else None
        if target is None or target.deleted or (ref.get("type", 0) == 0 and target.channel_id != channel.id):
            if ref.get("fail_if_not_exists", True):
                raise form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            return None
        out = {
            "type": int(ref.get("type", 0)),
            "message_id": str(target.id),
            "channel_id": str(target.channel_id),
        }
        if target.guild_id is not None:
            out["guild_id"] = str(target.guild_id)
        return out

    async def _h_get_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        self._require(channel)
        return _json_response(self._message_payload(self._message_or_404(channel, ctx.match[1])))

    async def _h_edit_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        msg = self._message_or_404(channel, ctx.match[1])
        body = ctx.body()
        if msg.author_id != self.bot_user_id or msg.webhook_id is not None:
            if set(body) - {"flags"}:
                raise DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")
            self._require(channel, MANAGE_MESSAGES)
        if channel.is_thread and channel.archived:
            raise DiscordAPIError(400, 50083, "Thread is archived")
        if ctx.files:
            self._require(channel, ATTACH_FILES)
        self._check_upload_size(ctx.files, self._limit_for(channel.guild_id))
        self._edit_message(msg, body, ctx.files)
        return _json_response(self._message_payload(msg))

    async def _h_delete_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        msg = self._message_or_404(channel, ctx.match[1])
        if msg.author_id != self.bot_user_id:
            self._require(channel, MANAGE_MESSAGES)
        if channel.is_thread and channel.archived:
            raise DiscordAPIError(400, 50083, "Thread is archived")
        self._delete_message(msg)
        return _no_content()

    async def _h_typing(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        if channel.guild_id is not None:
            self._require(channel, SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES)
        return _no_content()

    async def _h_add_reaction(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        msg = self._message_or_404(channel, ctx.match[1])
        if channel.guild_id is not None:
            self._require(channel, ADD_REACTIONS)
        emoji = ctx.match[2]
        if (emoji, self.bot_user_id) not in msg.reactions:
            msg.reactions.append((emoji, self.bot_user_id))
        return _no_content()

    async def _h_remove_reaction(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        msg = self._message_or_404(channel, ctx.match[1])
        with contextlib.suppress(ValueError):
            msg.reactions.remove((ctx.match[2], self.bot_user_id))
        return _no_content()

    async def _h_thread_member_add(self, ctx: _Ctx) -> web.Response:
        thread = self._channel_or_404(ctx.match[0])
        if not thread.is_thread:
            raise DiscordAPIError(400, 50024, "Cannot execute action on this channel type")
        uid = self.bot_user_id if ctx.match[1] == "@me" else int(ctx.match[1])
        if uid not in self.users:
            raise unknown("User", 10013)
        if thread.archived:
            raise DiscordAPIError(400, 50083, "Thread is archived")
        self._require(thread)
        thread.member_ids.add(uid)
        return _no_content()

    async def _h_thread_member_remove(self, ctx: _Ctx) -> web.Response:
        thread = self._channel_or_404(ctx.match[0])
        uid = self.bot_user_id if ctx.match[1] == "@me" else int(ctx.match[1])
        thread.member_ids.discard(uid)
        return _no_content()

    # ------------------------------------------------------------------ REST: threads

    def _thread_settings(self, body: Mapping[str, Any]) -> tuple[str, int]:
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        duration = body.get("auto_archive_duration") or 4320
        if duration not in AUTO_ARCHIVE_DURATIONS:
            raise form_error(
                "auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}."
            )
        return name, int(duration)

    def _new_thread(
        self,
        parent: FakeChannel,
        thread_id: int,
        ttype: int,
        name: str,
        duration: int,
        body: Mapping[str, Any],
    ) -> FakeChannel:
        thread = FakeChannel(
            thread_id,
            ttype,
            name,
            parent.guild_id,
            parent_id=parent.id,
            owner_id=self.bot_user_id,
            auto_archive_duration=duration,
            member_ids={self.bot_user_id},
            invitable=bool(body.get("invitable", True)),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
            applied_tags=[snowflake(t) for t in body.get("applied_tags") or []],
        )
        self._add_channel(thread)
        self._broadcast(
            "THREAD_CREATE",
            {**self._channel_payload(thread), "newly_created": True},
            guild_id=parent.guild_id,
            intent=INTENT_GUILDS,
        )
        return thread

    async def _h_thread_from_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        msg = self._message_or_404(channel, ctx.match[1])
        if channel.type not in (GUILD_TEXT, GUILD_ANNOUNCEMENT):
            # Threads cannot nest; DMs and forums have no message threads.
            raise DiscordAPIError(400, 50024, "Cannot execute action on this channel type")
        self._require(channel, CREATE_PUBLIC_THREADS)
        if msg.thread_id is not None:
            raise DiscordAPIError(400, 160004, "A thread has already been created for this message")
        body = ctx.body()
        name, duration = self._thread_settings(body)
        ttype = ANNOUNCEMENT_THREAD if channel.type == GUILD_ANNOUNCEMENT else PUBLIC_THREAD
        thread = self._new_thread(channel, msg.id, ttype, name, duration, body)
        msg.history.append(msg.snapshot())
        msg.thread_id, msg.flags = thread.id, msg.flags | FLAG_HAS_THREAD
        self._bump(msg)
        self._dispatch_message("MESSAGE_UPDATE", msg)
        return _json_response(self._channel_payload(thread), 201)

    async def _h_create_thread(self, ctx: _Ctx) -> web.Response:
        channel = self._channel_or_404(ctx.match[0])
        body = ctx.body()
        if channel.type in (GUILD_FORUM, GUILD_MEDIA):
            self._require(channel, SEND_MESSAGES, *([ATTACH_FILES] if ctx.files else []))
            name, duration = self._thread_settings(body)
            message = body.get("message")
            if not isinstance(message, dict):
                raise form_error("message", "BASE_TYPE_REQUIRED", "This field is required")
            self._check_upload_size(ctx.files, self._limit_for(channel.guild_id))
            with form_errors_under("message"):
                validate_message_payload(message, n_files=len(ctx.files), creating=True)
            thread = self._new_thread(channel, self.new_id(), PUBLIC_THREAD, name, duration, body)
            # A forum post's starter message has the thread's id.
            first = self._add_message(thread, self.bot_user_id, message, ctx.files, msg_id=thread.id)
            channel.last_message_id = thread.id
            return _json_response(
                {**self._channel_payload(thread), "message": self._message_payload(first)}, 201
            )
        if channel.type not in (GUILD_TEXT, GUILD_ANNOUNCEMENT):
            raise DiscordAPIError(400, 50024, "Cannot execute action on this channel type")
        # API v9+: without a type, a thread that starts from no message is private.
        ttype = int(body.get("type", PRIVATE_THREAD))
        allowed = (
            {ANNOUNCEMENT_THREAD} if channel.type == GUILD_ANNOUNCEMENT else {PUBLIC_THREAD, PRIVATE_THREAD}
        )
        if ttype not in allowed:
            raise form_error("type", "BASE_TYPE_CHOICES", f"Value must be one of {sorted(allowed)}.")
        self._require(channel, CREATE_PRIVATE_THREADS if ttype == PRIVATE_THREAD else CREATE_PUBLIC_THREADS)
        name, duration = self._thread_settings(body)
        thread = self._new_thread(channel, self.new_id(), ttype, name, duration, body)
        if ttype != PRIVATE_THREAD:
            # Public threads without a starter message leave a "started a thread" system message.
            notice = self._add_message(
                channel,
                self.bot_user_id,
                {"content": name},
                [],
                mtype=MSG_THREAD_CREATED,
                reference={
                    "type": 0,
                    "message_id": str(thread.id),
                    "channel_id": str(thread.id),
                    "guild_id": str(channel.guild_id),
                },
            )
            notice.thread_id = thread.id
        return _json_response(self._channel_payload(thread), 201)

    # ------------------------------------------------------------------ interactions: dispatch side

    def _interaction_metadata(self, inter: FakeInteraction) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(inter.id),
            "type": inter.type,
            "user": self._user_payload(inter.user_id),
            "authorizing_integration_owners": inter.payload.get("authorizing_integration_owners", {}),
        }
        if inter.type == APPLICATION_COMMAND:
            data["name"] = inter.payload["data"].get("name")
            data["command_type"] = inter.payload["data"].get("type", 1)
        if inter.original is not None:
            data["original_response_message_id"] = str(inter.original.id)
        if inter.source_message_id is not None:
            data["interacted_message_id"] = str(inter.source_message_id)
        return data

    def _target_session(self, guild_id: int | None) -> _Session:
        candidates = [s for s in reversed(self.sessions) if not s.invalidated and s.covers(guild_id)]
        # The newest live session; else the newest resumable one, whose buffer a RESUME will replay.
        session = next((s for s in candidates if s.live), candidates[0] if candidates else None)
        if session is None:
            raise RuntimeError(
                "no bot session is connected to FakeDiscord (await wait_until_identified() first)"
            )
        return session

    def _check_actor(self, guild_id: int | None, channel_id: int, user_id: int) -> FakeChannel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise ValueError(f"unknown channel {channel_id}")
        if guild_id is not None:
            if channel.guild_id != guild_id:
                raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
            if user_id not in self._guild(guild_id).members:
                raise ValueError(f"user {user_id} is not a member of guild {guild_id}; call add_member first")
        elif user_id not in channel.recipient_ids:
            raise ValueError(f"channel {channel_id} is not the DM with user {user_id}; use open_dm()")
        return channel

    def _dispatch_interaction(
        self,
        itype: int,
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        data: dict[str, Any],
        message: FakeMessage | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        channel = self._check_actor(guild_id, channel_id, user_id)
        if guild_id is None and channel.type != DM:
            raise ValueError("guild_id=None needs a DM channel")
        session = self._target_session(guild_id)
        iid = self.new_id()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": str(channel_id),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": self._limit_for(guild_id),
        }
        if guild_id is not None:
            guild = self._guild(guild_id)
            perms = self.member_permissions(guild_id, user_id)
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": guild.locale, "features": list(guild.features)},
                guild_locale=guild.locale,
                member=self._member_payload(guild, guild.members[user_id], permissions=perms),
                channel={**self._channel_payload(channel), "permissions": str(perms)},
                app_permissions=str(self.member_permissions(guild_id, self.bot_user_id)),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
        else:
            payload.update(
                user=self._user_payload(user_id),
                channel={**self._channel_payload(channel), "permissions": str(DM_PERMISSIONS)},
                app_permissions=str(DM_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        if message is not None:
            payload["message"] = self._message_payload(message)
        inter = FakeInteraction(
            iid,
            token,
            itype,
            guild_id,
            channel_id,
            user_id,
            payload,
            time.monotonic(),
            source_message_id=message.id if message is not None else None,
        )
        self.interactions[iid] = inter
        self._interactions_by_token[token] = inter
        session.dispatch("INTERACTION_CREATE", copy.deepcopy(payload))
        return inter

    def _find_command(
        self, guild_id: int | None, name: str, ctype: int = 1
    ) -> tuple[dict[str, Any] | None, int | None]:
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self.registered_commands.get(scope, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                    return cmd, scope
        return None, None

    def _resolve_user(self, value: object, guild_id: int | None, resolved: dict[str, dict[str, Any]]) -> str:
        uid = int(getattr(value, "id", value))  # type: ignore[call-overload]
        if uid not in self.users:
            raise ValueError(f"unknown user {uid} for a user option")
        resolved.setdefault("users", {})[str(uid)] = self._user_payload(uid)
        if guild_id is not None:
            guild = self._guild(guild_id)
            member = guild.members.get(uid)
            if member is not None:
                resolved.setdefault("members", {})[str(uid)] = self._member_payload(
                    guild, member, with_user=False, permissions=self.member_permissions(guild_id, uid)
                )
        return str(uid)

    def _resolve_role(self, value: object, guild_id: int | None, resolved: dict[str, dict[str, Any]]) -> str:
        rid = int(getattr(value, "id", value))  # type: ignore[call-overload]
        guild = self._guild(guild_id) if guild_id is not None else None
        if guild is None or rid not in guild.roles:
            raise ValueError(f"unknown role {rid} for a role option")
        resolved.setdefault("roles", {})[str(rid)] = guild.roles[rid].payload()
        return str(rid)

    def _resolve_channel(
        self, value: object, spec: Mapping[str, Any] | None, user_id: int, resolved: dict[str, dict[str, Any]]
    ) -> str:
        cid = int(getattr(value, "id", value))  # type: ignore[call-overload]
        channel = self.channels.get(cid)
        if channel is None:
            raise ValueError(f"unknown channel {cid} for a channel option")
        allowed = (spec or {}).get("channel_types")
        if allowed and channel.type not in allowed:
            raise ValueError(f"channel {cid} has type {channel.type}, option accepts {allowed}")
        data = self._channel_payload(channel)
        keep = ("id", "name", "type", "parent_id", "thread_metadata", "guild_id")
        perms = self.member_permissions(channel.guild_id, user_id) if channel.guild_id else DM_PERMISSIONS
        resolved.setdefault("channels", {})[str(cid)] = {
            **{k: data[k] for k in keep if k in data},
            "permissions": str(perms),
        }
        return str(cid)

    def _option_value(
        self,
        name: str,
        value: object,
        spec: Mapping[str, Any] | None,
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        resolved: dict[str, dict[str, Any]],
        validate: bool,
    ) -> dict[str, Any]:
        if spec is not None:
            otype = int(spec["type"])
        elif isinstance(value, FakeFile):
            otype = OPT_ATTACHMENT
        elif isinstance(value, bool):
            otype = OPT_BOOLEAN
        elif isinstance(value, int):
            otype = OPT_INTEGER
        elif isinstance(value, float):
            otype = OPT_NUMBER
        elif isinstance(value, str):
            otype = OPT_STRING
        else:
            raise TypeError(f"cannot infer the option type of {name}={value!r}; register the command first")
        out: dict[str, Any] = {"name": name, "type": otype}
        if otype == OPT_ATTACHMENT:
            if not isinstance(value, FakeFile):
                raise TypeError(f"option {name} is an attachment: pass a FakeFile")
            att = self._store_attachment(
                channel_id, value.filename, value.data, value.content_type, ephemeral=True
            )
            resolved.setdefault("attachments", {})[str(att.id)] = att.payload()
            out["value"] = str(att.id)
            return out
        if otype == OPT_USER:
            out["value"] = self._resolve_user(value, guild_id, resolved)
        elif otype == OPT_ROLE:
            out["value"] = self._resolve_role(value, guild_id, resolved)
        elif otype == OPT_MENTIONABLE:
            vid = int(getattr(value, "id", value))  # type: ignore[call-overload]
            if vid in self.users:
                out["value"] = self._resolve_user(vid, guild_id, resolved)
            else:
                out["value"] = self._resolve_role(vid, guild_id, resolved)
        elif otype == OPT_CHANNEL:
            out["value"] = self._resolve_channel(value, spec, user_id, resolved)
        elif otype == OPT_STRING:
            if not isinstance(value, str):
                raise TypeError(f"option {name} is a string, got {value!r}")
            if validate and spec is not None:
                if spec.get("min_length") is not None and len(value) < int(spec["min_length"]):
                    raise ValueError(f"option {name}: shorter than min_length {spec['min_length']}")
                if spec.get("max_length") is not None and len(value) > int(spec["max_length"]):
                    raise ValueError(f"option {name}: longer than max_length {spec['max_length']}")
            out["value"] = value
        elif otype == OPT_BOOLEAN:
            if not isinstance(value, bool):
                raise TypeError(f"option {name} is a boolean, got {value!r}")
            out["value"] = value
        elif otype in (OPT_INTEGER, OPT_NUMBER):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (otype == OPT_INTEGER and not isinstance(value, int))
            ):
                raise TypeError(f"option {name} has type {otype}, got {value!r}")
            if validate and spec is not None:
                if spec.get("min_value") is not None and value < spec["min_value"]:
                    raise ValueError(f"option {name}: below min_value {spec['min_value']}")
                if spec.get("max_value") is not None and value > spec["max_value"]:
                    raise ValueError(f"option {name}: above max_value {spec['max_value']}")
            out["value"] = value
        else:
            raise TypeError(f"unsupported option type {otype} for {name}")
        if validate and spec is not None and spec.get("choices"):
            values = [c["value"] for c in spec["choices"]]
            if out["value"] not in values:
                raise ValueError(f"option {name}={out['value']!r} is not one of the choices {values}")
        return out

    def _command_data(
        self,
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        command: str,
        options: Mapping[str, object],
        focused: str | None,
    ) -> dict[str, Any]:
        parts = command.split()
        if not parts:
            raise ValueError("empty command")
        cmd, scope = self._find_command(guild_id, parts[0])
        specs: list[dict[str, Any]] | None = None if cmd is None else list(cmd.get("options") or [])
        wrappers: list[tuple[str, int]] = []
        for depth, name in enumerate(parts[1:], start=1):
            if specs is None:
                wrappers.append((name, OPT_SUB_COMMAND_GROUP if depth < len(parts) - 1 else OPT_SUB_COMMAND))
                continue
            sub = next((o for o in specs if o["name"] == name and o["type"] in (1, 2)), None)
            if sub is None:
                raise ValueError(f"/{command}: {name!r} is not a sub-command of the registered command")
            wrappers.append((name, int(sub["type"])))
            specs = list(sub.get("options") or [])
        if specs is not None and any(o["type"] in (1, 2) for o in specs):
            raise ValueError(f"/{command} needs a sub-command: {[o['name'] for o in specs]}")
        resolved: dict[str, dict[str, Any]] = {}
        leaf: list[dict[str, Any]] = []
        validate = focused is None
        by_name = {o["name"]: o for o in specs or []}
        if specs is not None:
            unknown_names = set(options) - set(by_name)
            if unknown_names:
                raise ValueError(
                    f"/{command} has no options {sorted(unknown_names)}; it has {sorted(by_name)}"
                )
            if validate:
                missing = [o["name"] for o in specs if o.get("required") and o["name"] not in options]
                if missing:
                    raise ValueError(f"/{command}: required options missing: {missing}")
        order = [o["name"] for o in specs if o["name"] in options] if specs is not None else list(options)
        for name in order:
            spec = by_name.get(name)
            if name == focused:
                if spec is not None and not spec.get("autocomplete"):
                    raise ValueError(f"option {name} of /{command} has no autocomplete")
                otype = int(spec["type"]) if spec is not None else OPT_STRING
                leaf.append({"name": name, "type": otype, "value": options[name], "focused": True})
                continue
            opt = self._option_value(
                name,
                options[name],
                spec,
                guild_id=guild_id,
                channel_id=channel_id,
                user_id=user_id,
                resolved=resolved,
                validate=validate,
            )
            leaf.append(opt)
        if focused is not None and focused not in options:
            raise ValueError(f"focused option {focused!r} needs a (partial) value in options")
        nested: list[dict[str, Any]] = leaf
        for name, otype in reversed(wrappers):
            nested = [{"name": name, "type": otype, "options": nested}]
        data: dict[str, Any] = {
            "id": str(cmd["id"]) if cmd is not None else str(self.new_id()),
            "name": parts[0],
            "type": 1,
            "options": nested,
        }
        if resolved and focused is None:
            data["resolved"] = resolved
        if scope is not None:
            data["guild_id"] = str(scope)
        return data

    async def invoke_slash(
        self,
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        command: str,
        options: Mapping[str, object] | None = None,
        attachments: Mapping[str, FakeFile] | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user runs ``/command`` (full path, e.g. ``"video text"``): INTERACTION_CREATE type 2.

        Option types come from the registered command (the bot's PUT); unregistered commands fall back
        to Python types. Raises ValueError for what Discord's client would not let a user send
        (unknown or missing required options, values outside choices/min/max).
        """
        opts: dict[str, object] = dict(options or {})
        opts.update(attachments or {})
        data = self._command_data(
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            command=command,
            options=opts,
            focused=None,
        )
        return self._dispatch_interaction(
            APPLICATION_COMMAND,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            data=data,
            locale=locale,
        )

    async def invoke_autocomplete(
        self,
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        command: str,
        options: Mapping[str, object],
        focused: str,
        timeout: float = 10,
    ) -> list[dict[str, Any]]:
        """A user types in an autocomplete option: returns the choices the bot answered (callback 8)."""
        data = self._command_data(
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            command=command,
            options=options,
            focused=focused,
        )
        inter = self._dispatch_interaction(
            APPLICATION_COMMAND_AUTOCOMPLETE,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            data=data,
        )
        callback = await inter.wait_for_response(timeout)
        return list(callback.data.get("choices") or [])

    def _component_message(self, channel_id: int, message_id: int) -> FakeMessage:
        msg = self.messages.get(message_id)
        if msg is None or msg.deleted:
            raise ValueError(f"message {message_id} does not exist")
        if msg.channel_id != channel_id:
            raise ValueError(f"message {message_id} is in channel {msg.channel_id}, not {channel_id}")
        return msg

    async def click_button(
        self, *, guild_id: int | None, channel_id: int, user_id: int, message_id: int, custom_id: str
    ) -> FakeInteraction:
        """A user clicks a button of a message: INTERACTION_CREATE type 3 with the message object."""
        msg = self._component_message(channel_id, message_id)
        comp = next((c for c in walk_components(msg.components) if c.get("custom_id") == custom_id), None)
        if comp is None or comp.get("type") != 2:
            raise ValueError(f"message {message_id} has no button {custom_id!r}; it has {msg.custom_ids()}")
        if comp.get("disabled"):
            raise ValueError(f"button {custom_id!r} is disabled")
        data = {"custom_id": custom_id, "component_type": 2, "id": comp.get("id")}
        return self._dispatch_interaction(
            MESSAGE_COMPONENT,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            data=data,
            message=msg,
        )

    async def select_menu(
        self,
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        message_id: int,
        custom_id: str,
        values: list[str],
    ) -> FakeInteraction:
        """A user picks ``values`` in a select menu of a message (string selects are checked)."""
        msg = self._component_message(channel_id, message_id)
        comp = next((c for c in walk_components(msg.components) if c.get("custom_id") == custom_id), None)
        if comp is None or comp.get("type") not in (3, 5, 6, 7, 8):
            raise ValueError(f"message {message_id} has no select {custom_id!r}")
        if not int(comp.get("min_values", 1)) <= len(values) <= int(comp.get("max_values", 1)):
            raise ValueError(f"select {custom_id!r}: {len(values)} values outside min/max")
        data: dict[str, Any] = {
            "custom_id": custom_id,
            "component_type": comp["type"],
            "values": values,
            "id": comp.get("id"),
        }
        if comp["type"] == 3:
            allowed = [o["value"] for o in comp.get("options") or []]
            if any(v not in allowed for v in values):
                raise ValueError(f"select {custom_id!r}: values {values} not in options {allowed}")
        else:
            resolved: dict[str, dict[str, Any]] = {}
            for v in values:
                if comp["type"] == 8:
                    self._resolve_channel(int(v), comp, user_id, resolved)
                # 5: user select, 6: role select, 7: mentionable (user or role)
                elif comp["type"] == 5 or (comp["type"] == 7 and int(v) in self.users):
                    self._resolve_user(int(v), guild_id, resolved)
                else:
                    self._resolve_role(int(v), guild_id, resolved)
            data["resolved"] = resolved
        return self._dispatch_interaction(
            MESSAGE_COMPONENT,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            data=data,
            message=msg,
        )

    async def submit_modal(
        self, interaction: FakeInteraction, values: Mapping[str, str | list[str]]
    ) -> FakeInteraction:
        """The user fills in and submits the modal the bot opened for ``interaction`` (callback 9)."""
        if interaction.callback is None or interaction.callback.type != 9:
            raise ValueError("the bot did not answer this interaction with a modal")
        modal = interaction.callback.data
        unused = set(values)

        def submitted(comp: dict[str, Any]) -> dict[str, Any]:
            cid = comp.get("custom_id")
            if comp.get("type") == 4:
                value = values.get(cid or "", "")
                unused.discard(cid or "")
                if comp.get("required", True) and not value:
                    raise ValueError(f"modal field {cid!r} is required")
                if not isinstance(value, str) or len(value) > int(comp.get("max_length", 4000)):
                    raise ValueError(f"modal field {cid!r}: bad value {value!r}")
                return {"type": 4, "id": comp.get("id"), "custom_id": cid, "value": value}
            if cid is not None:
                unused.discard(cid)
                picked = values.get(cid, [])
                return {
                    "type": comp["type"],
                    "id": comp.get("id"),
                    "custom_id": cid,
                    "values": [picked] if isinstance(picked, str) else list(picked),
                }
            return {"type": comp.get("type"), "id": comp.get("id")}

        comps: list[dict[str, Any]] = []
        for top in number_components(copy.deepcopy(modal.get("components") or [])):
            if top.get("type") == 1:
                comps.append(
                    {
                        "type": 1,
                        "id": top.get("id"),
                        "components": [submitted(c) for c in top.get("components") or []],
                    }
                )
            elif top.get("type") == 18:
                comps.append({"type": 18, "id": top.get("id"), "component": submitted(top["component"])})
            else:
                comps.append({"type": top.get("type"), "id": top.get("id")})
        if unused:
            raise ValueError(f"the modal has no fields {sorted(unused)}")
        source = self.messages.get(interaction.source_message_id or 0)
        return self._dispatch_interaction(
            MODAL_SUBMIT,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user_id,
            data={"custom_id": modal.get("custom_id"), "components": comps},
            message=source,
        )

    # ------------------------------------------------------------------ interactions: bot side

    def _interaction_error(self, inter: FakeInteraction | None, exc: DiscordAPIError) -> DiscordAPIError:
        if inter is not None:
            inter.errors.append(exc)
            inter._notify()
        return exc

    async def _h_callback(self, ctx: _Ctx) -> web.Response:
        inter = self.interactions.get(int(ctx.match[0]))
        if inter is None or not hmac.compare_digest(inter.token, ctx.match[1]):
            raise unknown("interaction", 10062)
        try:
            return await self._callback(inter, ctx)
        except DiscordAPIError as exc:
            raise self._interaction_error(inter, exc) from None

    async def _callback(self, inter: FakeInteraction, ctx: _Ctx) -> web.Response:
        if inter.callback is not None:
            raise DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - inter.dispatched_at > self.ack_deadline:
            raise unknown("interaction", 10062)
        body = ctx.body()
        ctype = body.get("type")
        data = body.get("data") or {}
        if ctype not in ALLOWED_CALLBACKS.get(inter.type, frozenset()):
            raise form_error(
                "type", "INTERACTION_RESPONSE_TYPE_INVALID", "Interaction response type is invalid"
            )
        channel = self.channels[inter.channel_id]
        message: FakeMessage | None = None
        source = self.messages.get(inter.source_message_id or 0)
        if ctype == 4:
            self._check_upload_size(ctx.files, self._limit_for(inter.guild_id))
            with form_errors_under("data"):
                validate_message_payload(data, n_files=len(ctx.files), creating=True)
            message = self._interaction_message(
                inter, channel, data, ctx.files, int(data.get("flags") or 0) & FLAG_EPHEMERAL
            )
            inter.original = message
        elif ctype == 5:
            # The "thinking" placeholder: ephemeral is decided here, once and for all.
            message = self._interaction_message(
                inter, channel, {}, [], (int(data.get("flags") or 0) & FLAG_EPHEMERAL) | FLAG_LOADING
            )
            inter.original = message
        elif ctype in (6, 7):
            if source is None or source.deleted:
                raise unknown("Message", 10008)
            if ctype == 7:
                self._check_upload_size(ctx.files, self._limit_for(inter.guild_id))
                with form_errors_under("data"):
                    self._edit_message(source, data, ctx.files)
            inter.original = source
            message = source if ctype == 7 else None
        elif ctype == 8:
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                raise form_error("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            for i, ch in enumerate(choices):
                if not 1 <= len(str(ch.get("name", ""))) <= 100:
                    raise form_error(
                        f"data.choices.{i}.name",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                if isinstance(ch.get("value"), str) and len(ch["value"]) > 100:
                    raise form_error(
                        f"data.choices.{i}.value", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."
                    )
        elif ctype == 9:
            title = data.get("title")
            if not isinstance(title, str) or not 1 <= len(title) <= 45:
                raise form_error("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
            if not data.get("custom_id") or len(str(data["custom_id"])) > 100:
                raise form_error(
                    "data.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            if not 1 <= len(data.get("components") or []) <= 5:
                raise form_error(
                    "data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
                )
            validate_modal_components(data["components"])
        inter.callback = FakeCallback(int(ctype), copy.deepcopy(data), time.monotonic())
        inter._notify()
        if not _truthy(ctx.query.get("with_response")):
            return _no_content()
        interaction_info: dict[str, Any] = {"id": str(inter.id), "type": inter.type}
        resource: dict[str, Any] = {"type": ctype}
        if message is not None:
            interaction_info.update(
                response_message_id=str(message.id),
                response_message_loading=message.loading,
                response_message_ephemeral=message.ephemeral,
            )
            resource["message"] = self._message_payload(message)
        return _json_response({"interaction": interaction_info, "resource": resource})

    def _interaction_message(
        self,
        inter: FakeInteraction,
        channel: FakeChannel,
        data: Mapping[str, Any],
        files: list[_Upload],
        flags: int,
    ) -> FakeMessage:
        mtype = MSG_CHAT_INPUT_COMMAND if inter.type == APPLICATION_COMMAND else MSG_DEFAULT
        return self._add_message(
            channel, self.bot_user_id, data, files, mtype=mtype, extra_flags=flags, interaction=inter
        )

    def _webhook_interaction(self, ctx: _Ctx) -> FakeInteraction:
        if int(ctx.match[0]) != self.application_id:
            raise unknown("Webhook", 10015)
        inter = self._interactions_by_token.get(ctx.match[1])
        if inter is None or time.monotonic() - inter.dispatched_at > self.token_lifetime:
            raise self._interaction_error(inter, DiscordAPIError(401, 50027, "Invalid Webhook Token"))
        if inter.callback is None:
            # Followups and @original only exist once the interaction has been acknowledged.
            raise self._interaction_error(inter, unknown("Webhook", 10015))
        return inter

    def _webhook_message(self, inter: FakeInteraction, ref: str) -> FakeMessage:
        if ref == "@original":
            msg = inter.original
        else:
            msg = next((m for m in inter.messages if m.id == int(ref)), None)
        if msg is None or msg.deleted:
            raise self._interaction_error(inter, unknown("Message", 10008))
        return msg

    async def _h_followup(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        body = ctx.body()
        try:
            self._check_upload_size(ctx.files, self._limit_for(inter.guild_id))
            validate_message_payload(body, n_files=len(ctx.files), creating=True)
            original = inter.original
            if (
                inter.callback is not None
                and inter.callback.type == 5
                and original is not None
                and original.loading
            ):
                # The first followup after a thinking defer replaces the placeholder; its own ephemeral
                # flag is ignored (the defer decided it).
                self._edit_message(
                    original, {k: v for k, v in body.items() if k != "flags"}, ctx.files, clear_loading=True
                )
                msg = original
            else:
                channel = self.channels[inter.channel_id]
                msg = self._interaction_message(
                    inter, channel, body, ctx.files, int(body.get("flags") or 0) & FLAG_EPHEMERAL
                )
        except DiscordAPIError as exc:
            raise self._interaction_error(inter, exc) from None
        inter.followups.append(msg)
        inter._notify()
        if not _truthy(ctx.query.get("wait")):
            return _no_content()
        return _json_response(self._message_payload(msg))

    async def _h_webhook_get(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        return _json_response(self._message_payload(self._webhook_message(inter, ctx.match[2])))

    async def _h_webhook_edit(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        msg = self._webhook_message(inter, ctx.match[2])
        try:
            self._check_upload_size(ctx.files, self._limit_for(inter.guild_id))
            self._edit_message(msg, ctx.body(), ctx.files, clear_loading=True)
        except DiscordAPIError as exc:
            raise self._interaction_error(inter, exc) from None
        inter._notify()
        return _json_response(self._message_payload(msg))

    async def _h_webhook_delete(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        self._delete_message(self._webhook_message(inter, ctx.match[2]))
        inter._notify()
        return _no_content()
