"""The buttons the bot posts. They survive restarts: their data lives in the custom id, and the
classes are registered with ``bot.add_dynamic_items`` when the extensions load. Each press answers
the member, also when it fails (see `cogs.ui.components`)."""

from __future__ import annotations

import logging
import re
from typing import Any, Self

import discord

from cogs.ui import launch
from cogs.ui.access import is_moderator, require_moderator
from cogs.ui.components import AnsweringButton, JobButton
from cogs.ui.embeds import history_embed
from cogs.ui.interaction import Interaction
from videobot.credits import HistoryPage, Member
from videobot.jobs import JobError

log = logging.getLogger(__name__)


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
    view.add_item(VoteButton(job_id, label=f"Vote · {votes}"))
    return view


def history_view(user_id: int, page: HistoryPage) -> discord.ui.View:
    """Newer and Older under a page of a member's credit history."""
    view = discord.ui.View(timeout=None)
    view.add_item(HistoryButton(user_id, max(page.page - 1, 0), "newer", disabled=page.page <= 0))
    view.add_item(HistoryButton(user_id, page.page + 1, "older", disabled=page.page >= page.pages - 1))
    return view


class RerollButton(JobButton, template=r"video:reroll:(?P<job_id>\d+)"):
    """Make the same video again with the same settings; charged again to whoever clicks."""

    PREFIX = "video:reroll"
    LABEL = "Re-roll"
    EMOJI = "🎲"
    STYLE = discord.ButtonStyle.primary

    async def press(self, interaction: Interaction) -> None:
        await launch.reroll(interaction, self.job_id)


class DeleteButton(JobButton, template=r"video:delete:(?P<job_id>\d+)"):
    """Delete the result message; for the video's owner or a moderator."""

    PREFIX = "video:delete"
    LABEL = "Delete"
    EMOJI = "🗑️"
    STYLE = discord.ButtonStyle.secondary

    async def press(self, interaction: Interaction) -> None:
        bot = interaction.client
        assert interaction.guild_id is not None
        job = await bot.jobs.get(self.job_id)
        is_owner = job is not None and job.user_id == interaction.user.id
        if not is_owner and not is_moderator(await bot.rulebook.rules(interaction.guild_id), interaction):
            raise JobError("Only the video's owner or a moderator can delete it.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        if interaction.message is not None:
            await interaction.message.delete()
        log.info("job %s result deleted by %s", self.job_id, interaction.user.id)
        await interaction.followup.send("Deleted.", ephemeral=True)


class VoteButton(JobButton, template=r"campaign:vote:(?P<job_id>\d+)"):
    """Vote for a campaign entry (a second press takes the vote back)."""

    PREFIX = "campaign:vote"
    LABEL = "Vote · 0"
    EMOJI = "⭐"
    STYLE = discord.ButtonStyle.success

    async def press(self, interaction: Interaction) -> None:
        result = await interaction.client.campaigns.vote(self.job_id, interaction.user.id)
        await interaction.response.edit_message(view=vote_view(self.job_id, votes=result.votes))
        said = "Your vote counts." if result.counted else "Your vote was taken back."
        await interaction.followup.send(said, ephemeral=True)


class HistoryButton(
    AnsweringButton, template=r"credits:history:(?P<user_id>\d+):(?P<page>\d+):(?P<which>newer|older)"
):
    """Turns the pages of a credit history (the message is private to whoever asked)."""

    def __init__(self, user_id: int, page: int, which: str, *, disabled: bool = False) -> None:
        newer = which == "newer"
        super().__init__(
            discord.ui.Button(
                label="Newer" if newer else "Older",
                emoji="◀️" if newer else "▶️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"credits:history:{user_id}:{page}:{which}",
                disabled=disabled,
            )
        )
        self.user_id = user_id
        self.page = page

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["user_id"]), int(match["page"]), match["which"])

    async def press(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        if self.user_id != interaction.user.id:
            await require_moderator(interaction, "Only moderators can look at another member's credits.")
        history = await interaction.client.credits.history(
            Member(interaction.guild_id, self.user_id), page=self.page
        )
        await interaction.response.edit_message(
            embed=history_embed(history, self.user_id), view=history_view(self.user_id, history)
        )


DYNAMIC_ITEMS = (RerollButton, DeleteButton, VoteButton, HistoryButton)
