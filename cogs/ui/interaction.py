"""The interaction type every cog and component receives: ``interaction.client`` is our `VideoBot`."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import discord

if TYPE_CHECKING:
    from bot import VideoBot

    Interaction: TypeAlias = discord.Interaction[VideoBot]
else:
    # At run time the parameter is only a hint; discord.py never resolves the interaction's annotation.
    Interaction = discord.Interaction
