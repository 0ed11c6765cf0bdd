"""The command tree: every command error, expected or not, goes to the one error path."""

from __future__ import annotations

from typing import Any

from discord import app_commands

from cogs.ui.errors import answer_error
from cogs.ui.interaction import Interaction
from videobot import logcontext


class VideoBotTree(app_commands.CommandTree[Any]):
    """Answers every failed command, deferred or not, and logs the unexpected with context."""

    async def interaction_check(self, interaction: Interaction) -> bool:
        # Each command runs in a task of its own: every log line of it now names the server.
        logcontext.bind(guild=interaction.guild_id)
        return True

    async def on_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        command = interaction.command.qualified_name if interaction.command else "?"
        await answer_error(interaction, error, source=f"/{command}")
