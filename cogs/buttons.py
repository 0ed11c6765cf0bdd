"""The buttons under a finished video. They survive restarts: the job id lives in the custom id,
and the classes are registered with ``bot.add_dynamic_items`` when the video cog loads."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from cogs.video import VideoCog


def result_view(job_id: int | None) -> discord.ui.View:
    """The row of buttons posted with a result: re-roll and delete."""
    assert job_id is not None
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job_id))
    view.add_item(DeleteButton(job_id))
    return view


def vote_view(job_id: int, *, votes: int) -> discord.ui.View:
    """The vote button under a gallery entry, showing the current count."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(job_id, votes=votes))
    return view


def _video_cog(interaction: discord.Interaction[Any]) -> VideoCog:
    cog = interaction.client.get_cog("video")
    assert cog is not None, "the video cog handles result buttons"
    return cog  # type: ignore[no-any-return]


class RerollButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"video:reroll:(?P<job_id>\d+)"):
    """Make the same video again with the same settings; charged again to whoever clicks."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Re-roll",
                emoji="🎲",
                style=discord.ButtonStyle.primary,
                custom_id=f"video:reroll:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RerollButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _video_cog(interaction).reroll(interaction, self.job_id)


class DeleteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"video:delete:(?P<job_id>\d+)"):
    """Delete the result message; for the video's owner or a moderator."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Delete",
                emoji="🗑️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"video:delete:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> DeleteButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _video_cog(interaction).delete_result(interaction, self.job_id)


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"campaign:vote:(?P<job_id>\d+)"):
    """Vote for a campaign entry (a second press takes the vote back)."""

    def __init__(self, job_id: int, *, votes: int = 0) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Vote · {votes}",
                emoji="⭐",
                style=discord.ButtonStyle.success,
                custom_id=f"campaign:vote:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        cog = interaction.client.get_cog("campaign")
        assert cog is not None, "the campaign cog handles votes"
        await cog.vote(interaction, self.job_id)
