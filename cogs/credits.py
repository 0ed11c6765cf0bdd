"""``/credits``: members' balances."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs.tree import Refusal

if TYPE_CHECKING:
    from bot import VideoBot

Interaction = discord.Interaction[Any]


@app_commands.guild_only()
class CreditsCog(commands.GroupCog, name="credits", group_name="credits", group_description="Video credits"):
    """Discord glue for credit balances."""

    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(
        name="balance", description="How many credits you (or, for moderators, a member) have"
    )
    @app_commands.describe(member="Another member (moderators only)")
    async def balance(self, interaction: Interaction, member: discord.Member | None = None) -> None:
        assert interaction.guild_id is not None
        target = member or interaction.user
        if target.id != interaction.user.id and not interaction.permissions.manage_guild:
            raise Refusal("Only moderators can see another member's balance.")
        await interaction.response.defer(ephemeral=True)
        balance = await self.bot.credits.balance(guild_id=interaction.guild_id, user_id=target.id)
        who = "You have" if target.id == interaction.user.id else f"{target.mention} has"
        await interaction.followup.send(f"{who} **{balance}** credits.", ephemeral=True)


async def setup(bot: VideoBot) -> None:
    """Extension entry point."""
    await bot.add_cog(CreditsCog(bot))
