"""Data model, limits and validation rules of the fake Discord server (see ``discord_server.py``).

Everything here is plain data and pure functions: the server keeps the state, this module knows what a
Discord object looks like and which payloads Discord refuses. Limits follow Discord's documentation and
the numbers discord.py 2.7 itself uses (``Guild.filesize_limit``, ``Interaction.filesize_limit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

_T = TypeVar("_T")

# --------------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------------

DISCORD_EPOCH_MS = 1_420_070_400_000
MIB = 1024 * 1024

# Upload limit per file by boost tier, as discord.py's Guild._PREMIUM_GUILD_LIMITS (10 MiB since 2025).
FILESIZE_LIMITS: dict[int, int] = {0: 10 * MIB, 1: 10 * MIB, 2: 50 * MIB, 3: 100 * MIB}
DM_FILESIZE_LIMIT = 10 * MIB

# Channel types
GUILD_TEXT = 0
DM = 1
GUILD_ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15
GUILD_MEDIA = 16
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})

# Message flags
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_HAS_THREAD = 1 << 5
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_COMPONENTS_V2 = 1 << 15
# Flags a bot may set itself when creating a message (others are ignored by Discord).
SETTABLE_MESSAGE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_COMPONENTS_V2

# Permission bits (https://discord.com/developers/docs/topics/permissions)
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 53) - 1

# What @everyone gets in a freshly created guild (close to Discord's default role).
DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
)
# The bot's managed role: what a typical invite link for a video bot grants.
DEFAULT_BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
)
# What Discord reports as app_permissions in a DM with the bot.
DM_PERMISSIONS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
)

# Gateway intents
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Interaction types / callback types
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9
ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    APPLICATION_COMMAND: frozenset({4, 5, 9}),
    MESSAGE_COMPONENT: frozenset({4, 5, 6, 7, 9}),
    APPLICATION_COMMAND_AUTOCOMPLETE: frozenset({8}),
    MODAL_SUBMIT: frozenset({4, 5, 6, 7}),
}

# Application command option types
OPT_SUB_COMMAND = 1
OPT_SUB_COMMAND_GROUP = 2
OPT_STRING = 3
OPT_INTEGER = 4
OPT_BOOLEAN = 5
OPT_USER = 6
OPT_CHANNEL = 7
OPT_ROLE = 8
OPT_MENTIONABLE = 9
OPT_NUMBER = 10
OPT_ATTACHMENT = 11

# Message types
MSG_DEFAULT = 0
MSG_THREAD_CREATED = 18
MSG_REPLY = 19
MSG_CHAT_INPUT_COMMAND = 20

AUTO_ARCHIVE_DURATIONS = frozenset({60, 1440, 4320, 10080})


def filesize_limit(premium_tier: int | None) -> int:
    """Per-file upload limit in bytes for a guild of that boost tier (``None``: DMs, no guild)."""
    if premium_tier is None:
        return DM_FILESIZE_LIMIT
    return FILESIZE_LIMITS.get(premium_tier, FILESIZE_LIMITS[0])


# --------------------------------------------------------------------------------------------------
# Ids and times
# --------------------------------------------------------------------------------------------------


class SnowflakeGenerator:
    """Makes increasing snowflakes whose timestamps are the current time, like Discord's.

    discord.py derives ``created_at`` from ids, so they must decode to "now".
    """

    def __init__(self) -> None:
        self._last = 0
        self._counter = itertools.count()
        self._lock = threading.Lock()  # the fake is single-loop, but helpers may be called from threads

    def __call__(self) -> int:
        with self._lock:
            ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
            value = (ms << 22) | (1 << 17) | (next(self._counter) & 0xFFF)
            self._last = value = max(value, self._last + 1)
            return value


def utcnow() -> datetime:
    """Timezone-aware now (Discord timestamps always carry an offset)."""
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with offset, as Discord sends it (``2025-01-01T00:00:00.000000+00:00``)."""
    return None if dt is None else dt.isoformat()


def snowflake(value: object) -> int:
    """Parse an id sent by a client as ``str`` or ``int``."""
    if isinstance(value, bool):
        raise ValueError(f"not a snowflake: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError(f"not a snowflake: {value!r}")


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


class DiscordAPIError(Exception):
    """An error the fake answers with: HTTP status plus Discord's JSON error body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body Discord sends for this error."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def form_error(path: str, code: str, message: str) -> DiscordAPIError:
    """A ``50035 Invalid Form Body`` error for the field at dotted ``path`` (``embeds.0.title``)."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return DiscordAPIError(400, 50035, "Invalid Form Body", errors=errors)


@contextlib.contextmanager
def form_errors_under(prefix: str) -> Iterator[None]:
    """Report the 50035 errors raised inside under ``prefix``, as Discord nests them.

    An interaction callback's message is its ``data`` (``data.embeds.0.title``), a forum post's is
    its ``message`` (``message.content``).
    """
    try:
        yield
    except DiscordAPIError as exc:
        if exc.code != 50035 or exc.errors is None:
            raise
        raise DiscordAPIError(
            exc.status, exc.code, exc.message, errors={prefix: exc.errors}, headers=exc.headers
        ) from None


def unknown(kind: str, code: int) -> DiscordAPIError:
    """``404 Unknown <kind>`` with Discord's JSON error code."""
    return DiscordAPIError(404, code, f"Unknown {kind}")


MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013


def missing_permissions() -> DiscordAPIError:
    """Discord's 403 for a permission the bot lacks."""
    return DiscordAPIError(403, MISSING_PERMISSIONS, "Missing Permissions")


# --------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeFile:
    """A file a simulated user uploads (slash-command attachment option or a user message)."""

    filename: str
    data: bytes
    content_type: str | None = None


@dataclass
class FakeUser:
    """A Discord user known to the fake (members, the bot itself)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None

    def payload(self) -> dict[str, Any]:
        """User object as Discord serialises it."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "bot": self.bot,
            "system": False,
            "collectibles": None,
            "primary_guild": None,
        }


@dataclass
class FakeRole:
    """A guild role; the @everyone role has ``id == guild_id``."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    bot_id: int | None = None
    color: int = 0
    hoist: bool = False
    mentionable: bool = False

    def payload(self) -> dict[str, Any]:
        """Role object as Discord serialises it."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeMember:
    """A user's membership in a guild. ``permissions`` overrides the role-computed value when set."""

    guild_id: int
    user_id: int
    roles: list[int] = field(default_factory=list)
    permissions: int | None = None
    nick: str | None = None
    joined_at: datetime = field(default_factory=utcnow)


@dataclass
class FakeGuild:
    """A guild (server) with its roles, members and channel ids."""

    id: int
    name: str
    owner_id: int
    premium_tier: int = 0
    roles: dict[int, FakeRole] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    locale: str = "en-US"
    joined_at: datetime = field(default_factory=utcnow)

    @property
    def filesize_limit(self) -> int:
        """Per-file upload limit of this guild in bytes."""
        return filesize_limit(self.premium_tier)


@dataclass
class FakeChannel:
    """A channel or thread. Threads have ``parent_id``, ``owner_id`` and archive state."""

    id: int
    type: int
    name: str
    guild_id: int | None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    archive_timestamp: datetime = field(default_factory=utcnow)
    created_at: datetime = field(default_factory=utcnow)
    member_ids: set[int] = field(default_factory=set)
    message_count: int = 0
    total_message_sent: int = 0
    last_message_id: int | None = None
    rate_limit_per_user: int = 0
    recipient_ids: list[int] = field(default_factory=list)
    applied_tags: list[int] = field(default_factory=list)
    deleted: bool = False

    @property
    def is_thread(self) -> bool:
        """Whether this channel is a thread (types 10, 11, 12)."""
        return self.type in THREAD_TYPES


@dataclass
class FakeAttachment:
    """A stored upload, served by the fake's CDN routes until expired."""

    id: int
    channel_id: int
    filename: str
    data: bytes
    content_type: str | None
    url: str
    proxy_url: str
    description: str | None = None
    ephemeral: bool = False
    expired: bool = False

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def payload(self) -> dict[str, Any]:
        """Attachment object as Discord serialises it."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.proxy_url,
        }
        if self.content_type is not None:
            data["content_type"] = self.content_type
        if self.description is not None:
            data["description"] = self.description
        if self.ephemeral:
            data["ephemeral"] = True
        return data


@dataclass(frozen=True)
class FakeMessageVersion:
    """A message's state before one of its edits."""

    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    attachments: list[FakeAttachment]
    flags: int
    replaced_at: datetime


def _component_texts(components: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    for comp in components:
        if comp.get("type") == 10 and isinstance(comp.get("content"), str):  # components v2 text display
            yield comp["content"]
        for key in ("components",):
            children = comp.get(key)
            if isinstance(children, list):
                yield from _component_texts(children)
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            yield from _component_texts([accessory])


def embed_texts(embed: Mapping[str, Any]) -> Iterator[str]:
    """Every human-readable string of an embed: title, description, fields, footer, author."""
    for key in ("title", "description"):
        if embed.get(key):
            yield str(embed[key])
    for fld in embed.get("fields") or []:
        yield str(fld.get("name", ""))
        yield str(fld.get("value", ""))
    if (embed.get("footer") or {}).get("text"):
        yield str(embed["footer"]["text"])
    if (embed.get("author") or {}).get("name"):
        yield str(embed["author"]["name"])


@dataclass(eq=False)
class FakeMessage:
    """A message as the fake stores it. ``history`` holds previous versions, oldest first."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[FakeAttachment] = field(default_factory=list)
    nonce: str | None = None
    flags: int = 0
    type: int = MSG_DEFAULT
    tts: bool = False
    pinned: bool = False
    message_reference: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    thread_id: int | None = None
    reactions: list[tuple[str, int]] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    edited_at: datetime | None = None
    history: list[FakeMessageVersion] = field(default_factory=list)
    deleted: bool = False
    # Global change counter value of the last create/edit; orders "latest" matches.
    revision: int = 0

    @property
    def ephemeral(self) -> bool:
        """Only the interaction's user sees it (flag 64)."""
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred "Bot is thinking..." placeholder (flag 128)."""
        return bool(self.flags & FLAG_LOADING)

    @property
    def embed_text(self) -> str:
        """Titles, descriptions, fields, footers and authors of all embeds, one per line."""
        return "\n".join(t for e in self.embeds for t in embed_texts(e))

    @property
    def text(self) -> str:
        """What a user reads: content, embed texts and components-v2 text displays, one per line."""
        parts = [self.content] if self.content else []
        parts.extend(t for e in self.embeds for t in embed_texts(e))
        parts.extend(_component_texts(self.components))
        return "\n".join(parts)

    def custom_ids(self) -> list[str]:
        """custom_ids of all interactive components, in display order."""
        return [c["custom_id"] for c in walk_components(self.components) if "custom_id" in c]

    def snapshot(self) -> FakeMessageVersion:
        """The current state, to be pushed to ``history`` before an edit."""
        return FakeMessageVersion(
            content=self.content,
            embeds=list(self.embeds),
            components=list(self.components),
            attachments=list(self.attachments),
            flags=self.flags,
            replaced_at=utcnow(),
        )


@dataclass(frozen=True)
class FakeCallback:
    """The bot's answer to an interaction: callback ``type`` (4-9) and its ``data``."""

    type: int
    data: dict[str, Any]
    at: float


@dataclass
class RecordedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    size: int
    content_type: str | None


@dataclass
class RecordedRequest:
    """One HTTP request the fake received (REST, webhook or CDN)."""

    method: str
    path: str  # without the /api/v10 prefix for API routes
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    headers: dict[str, str]
    at: float
    status: int = 0
    unknown_route: bool = False
    injected: bool = False
    # TOKEN_BOT, TOKEN_INTERACTION or TOKEN_OTHER ("" for CDN downloads, which are not API calls).
    token_kind: str = ""
    # "global" or "user" when the fake's own rate limiter answered 429 (injected 429s: None).
    rate_limited: str | None = None
    # "METHOD /path/{template}" of the route that served it (None: CDN or unknown route).
    route: str | None = None


class _Changes:
    """A broadcast "something changed" signal that any number of waiters can poll."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def until(self, check: Callable[[], _T | None], timeout: float, what: Callable[[], str]) -> _T:
        """Return ``check()`` as soon as it is truthy; TimeoutError (with ``what()``) after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(what())
            await self.wait(remaining)


@dataclass(eq=False)
class FakeInteraction:
    """An interaction the fake dispatched, and everything the bot did with its token."""

    id: int
    token: str
    type: int
    guild_id: int | None
    channel_id: int
    user_id: int
    payload: dict[str, Any]
    dispatched_at: float
    source_message_id: int | None = None
    callback: FakeCallback | None = None
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    errors: list[DiscordAPIError] = field(default_factory=list)
    _changes: _Changes = field(default_factory=_Changes, repr=False)

    @property
    def ack_seconds(self) -> float | None:
        """Seconds from the fake queueing INTERACTION_CREATE to the bot's callback arriving."""
        return None if self.callback is None else self.callback.at - self.dispatched_at

    @property
    def deferred(self) -> bool:
        """The bot answered with a deferral (5: thinking, 6: deferred update)."""
        return self.callback is not None and self.callback.type in (5, 6)

    @property
    def ephemeral(self) -> bool:
        """The response (or the deferral) was marked ephemeral."""
        if self.callback is None:
            return False
        return bool(int(self.callback.data.get("flags") or 0) & FLAG_EPHEMERAL)

    @property
    def messages(self) -> list[FakeMessage]:
        """The original response (if any) and the followups, without duplicates or deleted ones."""
        out: list[FakeMessage] = []
        for msg in [self.original, *self.followups]:
            if msg is not None and not msg.deleted and msg not in out:
                out.append(msg)
        return out

    @property
    def text(self) -> str:
        """All text the user can see from this interaction (original + followups), one part per line."""
        return "\n".join(m.text for m in self.messages if m.text)

    def _notify(self) -> None:
        self._changes.notify()

    async def wait_for_response(self, timeout: float = 10) -> FakeCallback:
        """Wait for the bot's callback (``POST /interactions/{id}/{token}/callback``)."""
        return await self._changes.until(
            lambda: self.callback,
            timeout,
            lambda: f"the bot did not answer interaction {self.id} within {timeout}s (errors: {self.errors})",
        )

    async def wait_for_followup_or_edit(
        self, predicate: Callable[[FakeMessage], bool] | None = None, timeout: float = 10
    ) -> FakeMessage:
        """Wait until the original response or a followup satisfies ``predicate``; return it.

        Without a predicate: the first message the user can read (a followup, or an original that is not
        a "thinking..." placeholder). Existing state counts, so call it after the bot may already have
        answered. When several match, the most recently changed one wins.
        """
        check = predicate or (lambda m: not m.loading)

        def find() -> FakeMessage | None:
            matches = [m for m in self.messages if check(m)]
            return max(matches, key=lambda m: m.revision) if matches else None

        return await self._changes.until(
            find,
            timeout,
            lambda: (
                f"no matching response for interaction {self.id} within {timeout}s; "
                f"callback={self.callback}, messages={[m.text for m in self.messages]!r}, "
                f"errors={self.errors}"
            ),
        )


# --------------------------------------------------------------------------------------------------
# Rate limits
# --------------------------------------------------------------------------------------------------

# Who a request spoke as. Discord's global limit counts bot-token requests only; interaction
# callbacks and the interaction-token webhook routes are exempt from it.
TOKEN_BOT = "bot"  # Authorization: Bot <the fake's token>
TOKEN_INTERACTION = "interaction"  # /interactions/{id}/{token}/callback and /webhooks/{app_id}/{token}...
TOKEN_OTHER = "other"  # no or a wrong Authorization header (answered 401), GET /gateway without one
TOKEN_KINDS = (TOKEN_BOT, TOKEN_INTERACTION, TOKEN_OTHER)

# Path parameters that give a route a bucket of its own, as Discord's "major parameters" do (the
# interaction id and token play the webhook id and token for callbacks, as in discord.py).
MAJOR_PARAMETERS = frozenset(
    {"channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id", "interaction_token"}
)

RATE_LIMITED_MESSAGE = "You are being rate limited."
# Discord bans an IP for a while after this many 401/403/429 answers within the window.
INVALID_REQUEST_BAN = 10_000
INVALID_REQUEST_WINDOW = 600.0


@dataclass(frozen=True)
class RouteLimit:
    """A per-route bucket: ``limit`` requests per ``per`` seconds.

    The window is fixed: it opens with the first request after the previous one reset, as Discord's
    ``X-RateLimit-Reset-After`` counts down from there.
    """

    limit: int
    per: float


DEFAULT_GLOBAL_LIMIT = 50  # requests per second per bot token
DEFAULT_GLOBAL_WINDOW = 1.0
DEFAULT_ROUTE_LIMIT = RouteLimit(50, 1.0)
# Keys are "METHOD /template" with Discord's parameter names. Sending, editing and deleting
# messages have small per-channel buckets on Discord (observed 5 per 5 s, 5 per 5 s, 5 per 1 s);
# thread creation is not documented: 10 per 10 s per parent channel, each route its own bucket.
DEFAULT_ROUTE_LIMITS: Mapping[str, RouteLimit] = {
    "POST /channels/{channel_id}/messages": RouteLimit(5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": RouteLimit(5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": RouteLimit(5, 1.0),
    "POST /channels/{channel_id}/messages/{message_id}/threads": RouteLimit(10, 10.0),
    "POST /channels/{channel_id}/threads": RouteLimit(10, 10.0),
}


def bucket_hash(route_key: str) -> str:
    """The opaque ``X-RateLimit-Bucket`` of a route: the same for every major parameter value."""
    return hashlib.sha256(route_key.encode()).hexdigest()[:32]


@dataclass
class _Bucket:
    limit: int
    per: float
    used: int = 0
    resets_at: float = -math.inf  # time.monotonic()


@dataclass(frozen=True)
class RateLimitVerdict:
    """What the limiter decided for one request.

    ``headers`` go on the answer whatever it is (the bucket's state); when ``retry_after`` is set the
    request is refused with 429 and ``scope`` says by which limit ("global" or "user").
    """

    headers: dict[str, str]
    retry_after: float | None = None
    scope: str | None = None
    at: float = 0.0  # the limiter's clock when it decided

    def response_body(self) -> dict[str, Any]:
        """The JSON body of the 429, as Discord sends it."""
        assert self.retry_after is not None
        return {
            "message": RATE_LIMITED_MESSAGE,
            "retry_after": round(self.retry_after, 3),
            "global": self.scope == "global",
        }


class RateLimiter:
    """Discord's global limit per bot token and its per-route buckets, with the headers it sends.

    The global limit is a fixed window, as Discord's behaves: the first bot-token request after a
    window ended opens a new one of ``global_window`` seconds, which lets ``global_limit`` requests
    through; past it the answer is a 429 with ``"global": true`` whose ``retry_after`` is the time
    left in the window. (A sliding 1 s span can thus see up to twice the limit across a window edge.)
    ``global_sliding = True`` makes it a sliding window instead: never more than ``global_limit`` in
    any ``global_window`` seconds, ``retry_after`` until the oldest request leaves it.
    Requests refused by the global limit do not count; requests refused by a bucket do.

    ``time_scale`` multiplies every window (global and buckets) and so every ``Reset-After`` and
    ``retry_after``: 0.2 turns Discord's 5 s message buckets into 1 s ones, keeping the counts, the
    headers and the 429s, for a test that wants Discord's rules but not its wall-clock waits.

    Every attribute may be changed while the fake runs; a bucket picks up a new limit when its
    window next opens. ``enabled = False`` switches all of it off (no headers, no 429s).
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        global_limit: int = DEFAULT_GLOBAL_LIMIT,
        global_window: float = DEFAULT_GLOBAL_WINDOW,
        global_sliding: bool = False,
        route_limits: Mapping[str, RouteLimit] | None = None,
        default_limit: RouteLimit = DEFAULT_ROUTE_LIMIT,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.enabled = enabled
        self.global_limit = global_limit
        self.global_window = global_window
        self.global_sliding = global_sliding
        self.route_limits: dict[str, RouteLimit] = {**DEFAULT_ROUTE_LIMITS, **(route_limits or {})}
        self.default_limit = default_limit
        self.time_scale = time_scale
        self._clock = clock
        self._wall_clock = wall_clock
        self._recent: deque[float] = deque()  # sliding: bot-token requests let through, oldest first
        self._global = _Bucket(global_limit, global_window)  # fixed window
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def limit_for(self, route_key: str) -> RouteLimit:
        """The bucket size of a route (``"PATCH /channels/{channel_id}/messages/{message_id}"``)."""
        return self.route_limits.get(route_key, self.default_limit)

    def reset(self) -> None:
        """Forget every window: the next requests start with full buckets."""
        self._recent.clear()
        self._global = _Bucket(self.global_limit, self.global_window)
        self._buckets.clear()

    def check(self, *, counts_globally: bool, route_key: str | None, major: str) -> RateLimitVerdict:
        """Count one request and say whether it may be served, with the headers to send."""
        now = self._clock()
        if not self.enabled:
            return RateLimitVerdict({}, at=now)
        if counts_globally:
            retry = self._take_global(now)
            if retry is not None:
                headers = {
                    "Retry-After": str(math.ceil(retry)),
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    "Via": "1.1 google",
                }
                return RateLimitVerdict(headers, retry, "global", at=now)
        if route_key is None:
            return RateLimitVerdict({}, at=now)
        key = (route_key, major)
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.resets_at:
            spec = self.limit_for(route_key)
            per = spec.per * self.time_scale
            bucket = self._buckets[key] = _Bucket(spec.limit, per, 0, now + per)
        reset_after = bucket.resets_at - now
        headers = {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Reset": f"{self._wall_clock() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(route_key),
        }
        if bucket.used >= bucket.limit:
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "Retry-After": str(math.ceil(reset_after)),
                    "X-RateLimit-Scope": "user",
                    "Via": "1.1 google",
                }
            )
            return RateLimitVerdict(headers, max(0.001, reset_after), "user", at=now)
        bucket.used += 1
        headers["X-RateLimit-Remaining"] = str(bucket.limit - bucket.used)
        return RateLimitVerdict(headers, at=now)

    def _take_global(self, now: float) -> float | None:
        """Count a bot-token request against the global limit; the retry_after when over it."""
        if self.global_sliding:
            while self._recent and self._recent[0] <= now - self.global_window * self.time_scale:
                self._recent.popleft()
            if len(self._recent) >= self.global_limit:
                return max(0.001, self._recent[0] + self.global_window * self.time_scale - now)
            self._recent.append(now)
            return None
        window = self._global
        if now >= window.resets_at:
            span = self.global_window * self.time_scale
            window = self._global = _Bucket(self.global_limit, span, 0, now + span)
        if window.used >= window.limit:
            return max(0.001, window.resets_at - now)
        window.used += 1
        return None


@dataclass
class TrafficCounters:
    """What the fake answered, for tests and benchmarks.

    ``served`` and ``rate_limited`` count answers per token kind (``TOKEN_BOT``, ``TOKEN_INTERACTION``,
    ``TOKEN_OTHER``): every answer other than 429 is "served" (2xx, 4xx and injected 5xx), every 429
    is "rate limited" (the fake's own and injected ones). ``bot_timeline`` has the monotonic time
    and status of every bot-token request, in the order they were decided.
    """

    served: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_KINDS, 0))
    rate_limited: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_KINDS, 0))
    global_rate_limited: int = 0  # 429s of the fake's global limit (a part of rate_limited["bot"])
    route_rate_limited: int = 0  # 429s of the fake's per-route buckets
    bot_timeline: list[tuple[float, int]] = field(default_factory=list)
    invalid_window: float = INVALID_REQUEST_WINDOW
    _invalid: deque[float] = field(default_factory=deque, repr=False)

    def record(self, kind: str, status: int, at: float, *, scope: str | None = None) -> None:
        """Count one answer (``scope``: "global"/"user" when the fake's own limiter refused it)."""
        if status == 429:
            self.rate_limited[kind] += 1
        else:
            self.served[kind] += 1
        if scope == "global":
            self.global_rate_limited += 1
        elif scope == "user":
            self.route_rate_limited += 1
        if kind == TOKEN_BOT:
            self.bot_timeline.append((at, status))
        if status in (401, 403, 429):
            self._invalid.append(at)

    def invalid_requests(self, now: float | None = None) -> int:
        """401, 403 and 429 answers within the last ``invalid_window`` seconds (Discord bans at 10,000)."""
        now = time.monotonic() if now is None else now
        while self._invalid and self._invalid[0] <= now - self.invalid_window:
            self._invalid.popleft()
        return len(self._invalid)

    def peak_bot_requests(self, window: float = 1.0, *, include_429: bool = False) -> int:
        """The most bot-token requests in any ``window`` seconds (served only, unless ``include_429``)."""
        times = sorted(t for t, status in self.bot_timeline if include_429 or status != 429)
        best = start = 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def reset(self) -> None:
        """Zero every counter."""
        for kind in TOKEN_KINDS:
            self.served[kind] = self.rate_limited[kind] = 0
        self.global_rate_limited = self.route_rate_limited = 0
        self.bot_timeline.clear()
        self._invalid.clear()


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def walk_components(components: Sequence[Any]) -> Iterator[dict[str, Any]]:
    """Every component, depth first (rows, containers, sections and their accessories)."""
    for comp in components:
        if not isinstance(comp, dict):
            continue
        yield comp
        children = comp.get("components")
        if isinstance(children, list):
            yield from walk_components(children)
        for key in ("accessory", "component"):
            child = comp.get(key)
            if isinstance(child, dict):
                yield from walk_components([child])


def number_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Discord gives every component a numeric ``id`` (unique in the message) when the bot sends none."""
    used = {c["id"] for c in walk_components(components) if isinstance(c.get("id"), int)}
    counter = itertools.count(1)
    for comp in walk_components(components):
        if not isinstance(comp.get("id"), int):
            nxt = next(counter)
            while nxt in used:
                nxt = next(counter)
            comp["id"] = nxt
            used.add(nxt)
    return components


def _max_len(value: object, limit: int, path: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        raise form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def validate_embed(embed: Any, path: str) -> int:
    """Check one embed against Discord's limits; return its character count (for the 6000 total)."""
    if not isinstance(embed, dict):
        raise form_error(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    _max_len(embed.get("title"), 256, f"{path}.title")
    _max_len(embed.get("description"), 4096, f"{path}.description")
    fields = embed.get("fields") or []
    if len(fields) > 25:
        raise form_error(f"{path}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for i, fld in enumerate(fields):
        name, value = str(fld.get("name") or ""), str(fld.get("value") or "")
        if not name:
            raise form_error(f"{path}.fields.{i}.name", "BASE_TYPE_REQUIRED", "This field is required")
        if not value:
            raise form_error(f"{path}.fields.{i}.value", "BASE_TYPE_REQUIRED", "This field is required")
        _max_len(name, 256, f"{path}.fields.{i}.name")
        _max_len(value, 1024, f"{path}.fields.{i}.value")
        total += len(name) + len(value)
    footer = (embed.get("footer") or {}).get("text")
    _max_len(footer, 2048, f"{path}.footer.text")
    author = (embed.get("author") or {}).get("name")
    _max_len(author, 256, f"{path}.author.name")
    return total + len(footer or "") + len(author or "")


def validate_components(components: Any, *, v2: bool) -> None:
    """Check rows, buttons, selects and custom_ids against Discord's limits."""
    if not isinstance(components, list):
        raise form_error("components", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if not v2:
        if len(components) > 5:
            raise form_error("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
        for i, row in enumerate(components):
            if not isinstance(row, dict) or row.get("type") != 1:
                raise form_error(f"components.{i}", "UNION_TYPE_CHOICES", "Value of field 'type' must be 1.")
            children = row.get("components") or []
            if not 1 <= len(children) <= 5:
                raise form_error(
                    f"components.{i}.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
                )
            if any(c.get("type") in (3, 5, 6, 7, 8) for c in children) and len(children) > 1:
                raise form_error(
                    f"components.{i}.components",
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "The specified component exceeds the maximum width",
                )
    elif sum(1 for _ in walk_components(components)) > 40:
        raise form_error("components", "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")
    seen: set[str] = set()
    for comp in walk_components(components):
        ctype = comp.get("type")
        if ctype == 2:  # button
            style = comp.get("style")
            _max_len(comp.get("label"), 80, "components.label")
            if style == 5:
                if not comp.get("url") or "custom_id" in comp:
                    raise form_error("components", "BUTTON_COMPONENT_URL_REQUIRED", "A url is required")
            elif style != 6 and not comp.get("custom_id"):
                raise form_error(
                    "components", "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED", "A custom id is required"
                )
        custom_id = comp.get("custom_id")
        if custom_id is not None:
            if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
                raise form_error(
                    "components.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            if custom_id in seen:
                raise form_error(
                    "components", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
                )
            seen.add(custom_id)


def validate_modal_components(components: Any) -> None:
    """Check a modal's fields: custom_ids of 1-100 characters, labels ≤ 45, text inputs ≤ 4000."""
    fields: list[tuple[str, dict[str, Any]]] = []
    for i, top in enumerate(components if isinstance(components, list) else []):
        if not isinstance(top, dict):
            continue
        if top.get("type") == 1:  # action row
            children = top.get("components") or []
            fields += [(f"data.components.{i}.components.{j}", c) for j, c in enumerate(children)]
        elif top.get("type") == 18:  # label
            _max_len(top.get("label"), 45, f"data.components.{i}.label")
            if isinstance(top.get("component"), dict):
                fields.append((f"data.components.{i}.component", top["component"]))
        else:
            fields.append((f"data.components.{i}", top))
    for path, comp in fields:
        custom_id = comp.get("custom_id")
        if custom_id is not None and (not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100):
            raise form_error(
                f"{path}.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        if comp.get("type") == 4:  # text input
            _max_len(comp.get("label"), 45, f"{path}.label")
            _max_len(comp.get("value"), 4000, f"{path}.value")
            _max_len(comp.get("placeholder"), 100, f"{path}.placeholder")
            for key in ("min_length", "max_length"):
                if comp.get(key) is not None and not 0 <= int(comp[key]) <= 4000:
                    raise form_error(
                        f"{path}.{key}", "NUMBER_TYPE_MAX", "int value should be between 0 and 4000."
                    )


def validate_message_payload(data: Mapping[str, Any], *, n_files: int, creating: bool) -> None:
    """Raise the error Discord returns for an invalid message body (create or edit)."""
    content = data.get("content")
    if content is not None and not isinstance(content, str):
        raise form_error("content", "STRING_TYPE_CONVERT", "Could not interpret the value as string.")
    _max_len(content, 2000, "content")
    embeds = data.get("embeds") or []
    if not isinstance(embeds, list):
        raise form_error("embeds", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(embeds) > 10:
        raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = sum(validate_embed(e, f"embeds.{i}") for i, e in enumerate(embeds))
    if total > 6000:
        raise form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    flags = int(data.get("flags") or 0)
    v2 = bool(flags & FLAG_IS_COMPONENTS_V2)
    if v2 and (content or embeds):
        raise form_error(
            "content",
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        )
    if data.get("components") is not None:
        validate_components(data["components"], v2=v2)
    if n_files > 10:
        raise form_error("attachments", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    nonce = data.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        raise form_error("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    if creating and not (
        content or embeds or n_files or data.get("components") or data.get("sticker_ids") or data.get("poll")
    ):
        raise DiscordAPIError(400, 50006, "Cannot send an empty message")


_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def _validate_option_list(options: Any, path: str, *, depth: int) -> None:
    if not isinstance(options, list):
        raise form_error(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(options) > 25:
        raise form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    names: set[str] = set()
    for i, opt in enumerate(options):
        p = f"{path}.{i}"
        name = opt.get("name", "")
        if not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
            raise form_error(f"{p}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        if name in names:
            raise form_error(
                f"{p}.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name already exists"
            )
        names.add(name)
        desc = opt.get("description", "")
        if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
            raise form_error(
                f"{p}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        otype = opt.get("type")
        if otype in (OPT_SUB_COMMAND, OPT_SUB_COMMAND_GROUP):
            if otype == OPT_SUB_COMMAND_GROUP and depth >= 1:
                raise form_error(
                    f"{p}.type",
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Sub-command groups cannot be nested",
                )
            if otype == OPT_SUB_COMMAND_GROUP and any(
                o.get("type") != OPT_SUB_COMMAND for o in opt.get("options") or []
            ):
                raise form_error(
                    f"{p}.options", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Groups hold sub-commands only"
                )
            _validate_option_list(opt.get("options") or [], f"{p}.options", depth=depth + 1)
            continue
        if otype not in range(3, 12):
            raise form_error(f"{p}.type", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Option type is invalid")
        if opt.get("required"):
            if seen_optional:
                raise form_error(
                    f"{p}.required",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        choices = opt.get("choices") or []
        if len(choices) > 25:
            raise form_error(f"{p}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        if choices and opt.get("autocomplete"):
            raise form_error(
                f"{p}.autocomplete", "AUTOCOMPLETE_AND_CHOICES", "Autocomplete cannot be used with choices"
            )
        for j, ch in enumerate(choices):
            if not 1 <= len(str(ch.get("name", ""))) <= 100:
                raise form_error(
                    f"{p}.choices.{j}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            _max_len(ch.get("value"), 100, f"{p}.choices.{j}.value")
        for key in ("min_length", "max_length"):
            if opt.get(key) is not None and not 0 <= int(opt[key]) <= 6000:
                raise form_error(f"{p}.{key}", "NUMBER_TYPE_MAX", "int value should be between 0 and 6000.")


def validate_commands(commands: Any) -> None:
    """Raise the 400 Discord returns for an invalid bulk-overwrite payload."""
    if not isinstance(commands, list):
        raise form_error("_root", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    seen: set[tuple[str, int]] = set()
    for i, cmd in enumerate(commands):
        ctype = int(cmd.get("type", 1))
        name = cmd.get("name", "")
        key = (name, ctype)
        if key in seen:
            raise form_error(
                f"{i}.name",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {name}",
            )
        seen.add(key)
        if ctype == 1:
            if not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
                raise form_error(f"{i}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
            desc = cmd.get("description", "")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
                raise form_error(
                    f"{i}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            _validate_option_list(cmd.get("options") or [], f"{i}.options", depth=0)
        elif not 1 <= len(str(name)) <= 32:
            raise form_error(f"{i}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    if sum(1 for c in commands if int(c.get("type", 1)) == 1) > 100:
        raise form_error("_root", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")


# --------------------------------------------------------------------------------------------------
# Mentions
# --------------------------------------------------------------------------------------------------

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def compute_mentions(
    content: str,
    allowed_mentions: Mapping[str, Any] | None,
    *,
    known_users: Callable[[int], bool],
    known_roles: Callable[[int], bool],
    may_mention_everyone: bool,
    replied_user: int | None,
) -> tuple[list[int], list[int], bool]:
    """Users, roles and @everyone a message actually mentions, honouring ``allowed_mentions``.

    Without ``allowed_mentions`` Discord parses everything and pings the replied-to author.
    """
    if allowed_mentions is None:
        parse = {"users", "roles", "everyone"}
        allowed_users: set[int] = set()
        allowed_roles: set[int] = set()
        ping_reply = True
    else:
        parse = set(allowed_mentions.get("parse") or [])
        allowed_users = {snowflake(u) for u in allowed_mentions.get("users") or []}
        allowed_roles = {snowflake(r) for r in allowed_mentions.get("roles") or []}
        ping_reply = bool(allowed_mentions.get("replied_user", False))
    users: list[int] = []
    for uid in map(int, _USER_MENTION.findall(content)):
        if uid not in users and known_users(uid) and ("users" in parse or uid in allowed_users):
            users.append(uid)
    if replied_user is not None and ping_reply and replied_user not in users and known_users(replied_user):
        users.append(replied_user)
    roles: list[int] = []
    for rid in map(int, _ROLE_MENTION.findall(content)):
        if rid not in roles and known_roles(rid) and ("roles" in parse or rid in allowed_roles):
            roles.append(rid)
    everyone = ("@everyone" in content or "@here" in content) and "everyone" in parse and may_mention_everyone
    return users, roles, everyone
