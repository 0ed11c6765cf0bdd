"""The command tree: one place for errors nothing else handled, and for refusals shared by all commands."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)


class Refusal(app_commands.CheckFailure):
    """An expected refusal raised from a check or a command; ``str()`` is shown to the member."""


class VideoBotTree(app_commands.CommandTree[Any]):
    """Answers every failed interaction, deferred or not, and logs the unexpected with context."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, Refusal):
            message = str(error)
        elif isinstance(error, app_commands.NoPrivateMessage):
            message = "This command works in a server only."
        elif isinstance(error, app_commands.MissingPermissions | app_commands.BotMissingPermissions):
            message = str(error)
        elif isinstance(error, app_commands.CommandOnCooldown):
            message = f"Slow down: try again in {error.retry_after:.0f} s."
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error(
                "command %s failed (guild=%s channel=%s user=%s interaction=%s)",
                command,
                interaction.guild_id,
                interaction.channel_id,
                interaction.user.id,
                interaction.id,
                exc_info=error,
            )
            message = "Something went wrong on our side while handling this. It has been logged."
        await reply(interaction, message)


async def reply(interaction: discord.Interaction[Any], message: str) -> None:
    """Answer privately, whether or not the interaction was already deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not answer interaction %s", interaction.id, exc_info=True)
