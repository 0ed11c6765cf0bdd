"""Acting as Discord members against the fake Discord: shared by the in-process and process suites."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from tests.fakes.discord_payloads import FakeFile, FakeMessage
from tests.fakes.discord_server import FakeDiscord

GUILD = 800_000_000_000_000_001
CHANNEL = 800_000_000_000_000_002
MEMBER = 800_000_000_000_000_003
OTHER_MEMBER = 800_000_000_000_000_004
MODERATOR = 800_000_000_000_000_009
# VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31)
MANAGE_GUILD = 1 << 5

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + bytes(400)


def populate(discord: FakeDiscord) -> None:
    """The test server: one text channel, two members and a moderator."""
    discord.add_guild(GUILD, "Test Guild")
    discord.add_text_channel(GUILD, CHANNEL, "videos")
    discord.add_member(GUILD, MEMBER, "alice", permissions=MEMBER_PERMISSIONS)
    discord.add_member(GUILD, OTHER_MEMBER, "bob", permissions=MEMBER_PERMISSIONS)
    discord.add_member(GUILD, MODERATOR, "mod", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)


class Members:
    """What members do and see: commands, buttons, balances and delivered videos."""

    def __init__(self, discord: FakeDiscord) -> None:
        self.discord = discord

    async def run(
        self,
        command: str,
        *,
        user: int = MEMBER,
        where: int = CHANNEL,
        until: Callable[[str], bool] = bool,
        **options: object,
    ) -> str:
        """Run a slash command in channel ``where`` and return the (private) answer the member reads
        (the first one for which ``until`` holds: an answer may be edited, e.g. to add a thread)."""
        files = {k: v for k, v in options.items() if isinstance(v, FakeFile)}
        plain = {k: v for k, v in options.items() if not isinstance(v, FakeFile)}
        inter = await self.discord.invoke_slash(
            guild_id=GUILD,
            channel_id=where,
            user_id=user,
            command=command,
            options=plain,
            attachments=files,
        )
        message = await inter.wait_for_followup_or_edit(lambda m: not m.loading and until(m.text), timeout=30)
        assert inter.ephemeral, f"/{command} answered publicly: {message.text!r}"
        return message.text

    async def click(self, message: FakeMessage, custom_id: str, *, user: int = MEMBER) -> str:
        """Click a button and return the private answer."""
        inter = await self.discord.click_button(
            guild_id=GUILD,
            channel_id=message.channel_id,
            user_id=user,
            message_id=message.id,
            custom_id=custom_id,
        )
        answer = await inter.wait_for_followup_or_edit(lambda m: m.ephemeral and not m.loading, timeout=30)
        return answer.text

    async def balance(self, user: int = MEMBER) -> int:
        """The member's balance as ``/credits balance`` tells it."""
        text = await self.run("credits balance", user=user)
        match = re.search(r"\*\*(\d+)\*\*", text)
        assert match, text
        return int(match.group(1))

    async def video(self, job_id: int, timeout: float = 60) -> FakeMessage:
        """Wait for the finished video of a job."""
        return await self.discord.wait_for_message(
            lambda m: f"video #{job_id} is ready" in m.content and not m.deleted, timeout=timeout
        )

    def videos(self, job_id: int) -> list[FakeMessage]:
        """Every live message carrying the video of a job, in any channel or thread."""
        return [
            m
            for channel in [CHANNEL, *self.discord.threads]
            for m in self.discord.messages_in(channel)
            if m.attachments and f"video #{job_id} is ready" in m.content
        ]


def with_thread(text: str) -> bool:
    """An answer that names the job's thread (added once the thread exists)."""
    return "Follow it in <#" in text or not text.startswith("Video #")


def job_number(text: str) -> int:
    """The job number in a "Video #12 accepted" answer."""
    match = re.search(r"Video #(\d+) accepted", text)
    assert match, f"not an acceptance: {text!r}"
    return int(match.group(1))


async def eventually(check: Callable[[], object], timeout: float = 30, what: str = "condition") -> None:
    """Wait until ``check()`` is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
