"""``/credits``: balances, histories and prices for members; grants, revokes and sets for moderators."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui.access import acting_member, as_member, post_audit, require_moderator
from cogs.ui.buttons import history_view
from cogs.ui.embeds import escape, history_embed, prices_embed
from cogs.ui.interaction import Interaction
from videobot.credits import Member, ModeratorChange
from videobot.maxima import MAX_CREDITS, MAX_REASON

if TYPE_CHECKING:
    from bot import VideoBot

Amount = app_commands.Range[int, 1, MAX_CREDITS]
Reason = app_commands.Range[str, 1, MAX_REASON]


@app_commands.guild_only()
class CreditsCog(commands.GroupCog, name="credits", group_name="credits", group_description="Video credits"):
    """Discord glue for credits."""

    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot
        super().__init__()

    # -- members ----------------------------------------------------------------------------

    @app_commands.command(
        name="balance", description="How many credits you (or, for moderators, a member) have"
    )
    @app_commands.describe(member="Another member (moderators only)")
    async def balance(self, interaction: Interaction, member: discord.Member | None = None) -> None:
        target = await self._target(interaction, member)
        await interaction.response.defer(ephemeral=True)
        balance = await self.bot.credits.balance(target)
        who = "You have" if target.user_id == interaction.user.id else f"<@{target.user_id}> has"
        await interaction.followup.send(f"{who} **{balance}** credits.", ephemeral=True)

    @app_commands.command(
        name="history", description="Where your (or, for moderators, a member's) credits went"
    )
    @app_commands.describe(member="Another member (moderators only)")
    async def history(self, interaction: Interaction, member: discord.Member | None = None) -> None:
        target = await self._target(interaction, member)
        await interaction.response.defer(ephemeral=True)
        page = await self.bot.credits.history(target, page=0)
        await interaction.followup.send(
            embed=history_embed(page, target.user_id), view=history_view(target.user_id, page), ephemeral=True
        )

    @app_commands.command(name="prices", description="What each model costs in this server")
    async def prices(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True)
        rules = await self.bot.rulebook.rules(interaction.guild_id)
        lines = self.bot.catalog.price_list(rules.price_overrides)
        await interaction.followup.send(embed=prices_embed(lines), ephemeral=True)

    # -- moderators -------------------------------------------------------------------------

    @app_commands.command(name="grant", description="Give a member credits (moderators)")
    @app_commands.describe(
        member="Who gets the credits", amount="How many", reason="Why (shown in their history)"
    )
    async def grant(
        self, interaction: Interaction, member: discord.Member, amount: Amount, reason: Reason | None = None
    ) -> None:
        await self._moderate(interaction, member, amount, reason, "grant")

    @app_commands.command(
        name="revoke", description="Take credits from a member, never below zero (moderators)"
    )
    @app_commands.describe(member="Whose credits", amount="How many", reason="Why (shown in their history)")
    async def revoke(
        self, interaction: Interaction, member: discord.Member, amount: Amount, reason: Reason | None = None
    ) -> None:
        await self._moderate(interaction, member, amount, reason, "revoke")

    @app_commands.command(name="set", description="Set a member's balance to an exact amount (moderators)")
    @app_commands.describe(
        member="Whose balance", amount="The new balance", reason="Why (shown in their history)"
    )
    async def set_balance(
        self,
        interaction: Interaction,
        member: discord.Member,
        amount: app_commands.Range[int, 0, MAX_CREDITS],
        reason: Reason | None = None,
    ) -> None:
        await self._moderate(interaction, member, amount, reason, "set")

    async def _moderate(
        self, interaction: Interaction, member: discord.Member, amount: int, reason: str | None, action: str
    ) -> None:
        rules = await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        target = as_member(interaction.guild_id, member)
        operations = {
            "grant": self.bot.credits.grant,
            "revoke": self.bot.credits.revoke,
            "set": self.bot.credits.set_balance,
        }
        change = await operations[action](target, amount, actor_id=interaction.user.id, reason=reason)
        summary = _describe(action, change, member.id)
        await interaction.followup.send(summary, ephemeral=True)
        why = f" Reason: {escape(reason)}" if reason else ""
        await post_audit(interaction, rules, f"{interaction.user.mention} · {summary}{why}")

    async def _target(self, interaction: Interaction, member: discord.Member | None) -> Member:
        """The member asked about: oneself, or (for moderators only) someone else."""
        if member is None or member.id == interaction.user.id:
            return acting_member(interaction)
        await require_moderator(interaction, "Only moderators can look at another member's credits.")
        assert interaction.guild_id is not None
        return as_member(interaction.guild_id, member)


def _describe(action: str, change: ModeratorChange, user_id: int) -> str:
    who = f"<@{user_id}>"
    if action == "grant":
        return f"Granted {change.changed_by} credits to {who}; balance now {change.balance_after}."
    if action == "revoke":
        taken = -change.changed_by
        short = "" if taken == change.requested else f" (asked for {change.requested}; that was all they had)"
        return f"Took {taken} credits from {who}{short}; balance now {change.balance_after}."
    return f"Set {who}'s balance to {change.balance_after} ({change.changed_by:+d})."


async def setup(bot: VideoBot) -> None:
    """Extension entry point."""
    await bot.add_cog(CreditsCog(bot))
