"""Bases for buttons that always answer: whatever a press raises goes to the one error path.

discord.py logs and swallows what a `DynamicItem` callback raises, so without this a member who
pressed a button that failed after deferring would stare at "thinking…" forever.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

import discord

from cogs.ui.errors import answer_error
from cogs.ui.interaction import Interaction
from videobot import logcontext

# For the bases below, which are never registered: discord.py wants a template on every subclass.
_NEVER = r"(?!)"


class AnsweringButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_NEVER):
    """A button that survives restarts (its data lives in the custom id) and always answers."""

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        # discord.py runs each press in a task of its own: its log lines now name the server.
        logcontext.bind(guild=interaction.guild_id)
        try:
            await self.press(interaction)
        except Exception as error:
            await answer_error(interaction, error, source=f"button {self.custom_id}")

    async def press(self, interaction: Interaction) -> None:
        """What the button does; raise `videobot.errors.Refused` to refuse with a message."""
        raise NotImplementedError


class JobButton(AnsweringButton, template=_NEVER):
    """A button about one job, with the custom id ``<PREFIX>:<job id>``."""

    PREFIX: ClassVar[str]
    LABEL: ClassVar[str]
    EMOJI: ClassVar[str]
    STYLE: ClassVar[discord.ButtonStyle]

    def __init__(self, job_id: int, *, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or self.LABEL,
                emoji=self.EMOJI,
                style=self.STYLE,
                custom_id=f"{self.PREFIX}:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["job_id"]))
