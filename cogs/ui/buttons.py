"""The buttons the bot posts. They survive restarts: their data lives in the custom id, and the
classes are registered with ``bot.add_dynamic_items`` when the extensions load. Each press answers
the member, also when it fails (see `cogs.ui.components`)."""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar, Self

import discord

from cogs.ui import launch, moderation
from cogs.ui.access import require_moderator
from cogs.ui.components import AnsweringButton, JobButton
from cogs.ui.embeds import history_embed, moderation_log_embed
from cogs.ui.interaction import Interaction
from videobot.credits import HistoryPage, Member
from videobot.moderation import ActionLogPage

log = logging.getLogger(__name__)


def result_view(job_id: int | None) -> discord.ui.View:
    """The row of buttons posted with a result: re-roll, delete and report."""
    assert job_id is not None
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job_id))
    view.add_item(DeleteButton(job_id))
    view.add_item(ReportButton(job_id))
    return view


def vote_view(job_id: int, *, votes: int) -> discord.ui.View:
    """The buttons under a gallery entry: vote (showing the current count) and report."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(job_id, label=f"Vote · {votes}"))
    view.add_item(ReportButton(job_id))
    return view


def report_view(report_id: int, *, owner_blocked: bool = False) -> discord.ui.View:
    """The moderators' decisions under a report in the audit channel."""
    view = discord.ui.View(timeout=None)
    for decision in ("delete", "block", "dismiss"):
        if decision != "block" or not owner_blocked:
            view.add_item(ReportDecisionButton(report_id, decision))
    return view


def log_view(user_id: int | None, page: ActionLogPage) -> discord.ui.View:
    """Newer and Older under a page of the moderation log."""
    view = discord.ui.View(timeout=None)
    view.add_item(ModerationLogButton(user_id, max(page.page - 1, 0), "newer", disabled=page.page <= 0))
    view.add_item(ModerationLogButton(user_id, page.page + 1, "older", disabled=page.page >= page.pages - 1))
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
    """Delete the video (its message, its gallery post, its prompt on the status message, its stored
    files); for the video's owner or a moderator."""

    PREFIX = "video:delete"
    LABEL = "Delete"
    EMOJI = "🗑️"
    STYLE = discord.ButtonStyle.secondary

    async def press(self, interaction: Interaction) -> None:
        await moderation.delete_video(interaction, self.job_id)
        await interaction.followup.send("Deleted.", ephemeral=True)


class ReportButton(JobButton, template=r"video:report:(?P<job_id>\d+)"):
    """Report the video to the server's moderators (once per member; its owner is not told who)."""

    PREFIX = "video:report"
    LABEL = "Report"
    EMOJI = "🚩"
    STYLE = discord.ButtonStyle.secondary

    async def press(self, interaction: Interaction) -> None:
        await moderation.report_video(interaction, self.job_id, decisions=report_view)


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


class ReportDecisionButton(
    AnsweringButton, template=r"mod:report:(?P<report_id>\d+):(?P<decision>delete|block|dismiss)"
):
    """A moderator's decision on a report, under the report in the audit channel."""

    _LOOK: ClassVar[dict[str, tuple[str, str, discord.ButtonStyle]]] = {
        "delete": ("Delete video", "🗑️", discord.ButtonStyle.danger),
        "block": ("Block owner", "⛔", discord.ButtonStyle.secondary),
        "dismiss": ("Dismiss", "✅", discord.ButtonStyle.secondary),
    }

    def __init__(self, report_id: int, decision: str) -> None:
        label, emoji, style = self._LOOK[decision]
        super().__init__(
            discord.ui.Button(
                label=label, emoji=emoji, style=style, custom_id=f"mod:report:{report_id}:{decision}"
            )
        )
        self.report_id = report_id
        self.decision = decision

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["report_id"]), match["decision"])

    async def press(self, interaction: Interaction) -> None:
        outcome = await moderation.decide_report(interaction, self.report_id, self.decision)
        view = report_view(self.report_id, owner_blocked=True) if outcome.still_open else None
        if interaction.message is not None:
            await interaction.message.edit(
                content=moderation.with_outcome(interaction.message.content, outcome.line),
                view=view,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        await interaction.followup.send(outcome.answer, ephemeral=True)


class ModerationLogButton(
    AnsweringButton, template=r"mod:log:(?P<user_id>\d+):(?P<page>\d+):(?P<which>newer|older)"
):
    """Turns the pages of the moderation log (moderators only; user id 0: the whole server)."""

    def __init__(self, user_id: int | None, page: int, which: str, *, disabled: bool = False) -> None:
        newer = which == "newer"
        super().__init__(
            discord.ui.Button(
                label="Newer" if newer else "Older",
                emoji="◀️" if newer else "▶️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"mod:log:{user_id or 0}:{page}:{which}",
                disabled=disabled,
            )
        )
        self.user_id = user_id or None
        self.page = page

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["user_id"]), int(match["page"]), match["which"])

    async def press(self, interaction: Interaction) -> None:
        await require_moderator(interaction)
        assert interaction.guild_id is not None
        page = await interaction.client.moderation.log(
            interaction.guild_id, user_id=self.user_id, page=self.page
        )
        await interaction.response.edit_message(
            embed=moderation_log_embed(page, self.user_id), view=log_view(self.user_id, page)
        )


DYNAMIC_ITEMS = (
    RerollButton,
    DeleteButton,
    ReportButton,
    VoteButton,
    HistoryButton,
    ReportDecisionButton,
    ModerationLogButton,
)
