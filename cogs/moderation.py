"""The moderation part of ``/videobot``: blocked terms, blocking members, and the moderation log.

Not an extension of its own: `cogs.server.ServerCog` mixes these commands into ``/videobot`` (one
command family, one group). Every command is for moderators (Manage Server or the moderator role),
checked on every call, and every change is in the moderation log and the audit channel.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui.access import is_moderator, post_audit, require_moderator
from cogs.ui.buttons import log_view
from cogs.ui.embeds import block_end, blocklist_embed, moderation_log_embed
from cogs.ui.interaction import Interaction
from cogs.ui.moderation import cancelled_note, show_cancelled
from videobot.errors import Refused
from videobot.moderation import TERM_MAX

if TYPE_CHECKING:
    from bot import VideoBot

Reason = app_commands.Range[str, 1, 200]


def _quoted(text: str) -> str:
    return f"“{discord.utils.escape_markdown(text)}”"


def _why(reason: str | None) -> str:
    return f" ({_quoted(reason)})" if reason else ""


class ModerationCommands(commands.Cog):
    """``/videobot blocklist …``, ``/videobot block``, ``/videobot unblock``, ``/videobot moderation log``.

    A base of `cogs.server.ServerCog`, which puts these commands in its ``/videobot`` group; never
    added as a cog by itself.
    """

    bot: VideoBot

    blocklist = app_commands.Group(
        name="blocklist", description="Words and phrases this server does not allow in prompts"
    )
    moderation = app_commands.Group(name="moderation", description="What moderators did")

    @blocklist.command(name="add", description="Refuse prompts that contain this word or phrase (moderators)")
    @app_commands.describe(
        term="A word or phrase; matched as whole words, ignoring case, accents and invisible characters",
        reason="Why (shown to moderators)",
    )
    async def blocklist_add(
        self,
        interaction: Interaction,
        term: app_commands.Range[str, 1, TERM_MAX],
        reason: Reason | None = None,
    ) -> None:
        rules = await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        row = await self.bot.moderation.add_term(
            interaction.guild_id, term, actor_id=interaction.user.id, reason=reason
        )
        await interaction.followup.send(
            f"Blocked {_quoted(row.term)}: prompts, negative prompts and campaign themes that contain it "
            "are refused from now on, re-rolls included.",
            ephemeral=True,
        )
        await post_audit(
            interaction,
            rules,
            f"{interaction.user.mention} blocked the term {_quoted(row.term)}{_why(row.reason)}.",
        )

    @blocklist.command(name="remove", description="Allow a blocked word or phrase again (moderators)")
    @app_commands.describe(term="The blocked word or phrase")
    async def blocklist_remove(
        self, interaction: Interaction, term: app_commands.Range[str, 1, TERM_MAX]
    ) -> None:
        rules = await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        row = await self.bot.moderation.remove_term(interaction.guild_id, term, actor_id=interaction.user.id)
        await interaction.followup.send(f"{_quoted(row.term)} is allowed again.", ephemeral=True)
        await post_audit(
            interaction, rules, f"{interaction.user.mention} allowed the term {_quoted(row.term)} again."
        )

    @blocklist_remove.autocomplete("term")
    async def _blocked_terms(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        # Members must not learn the list by typing here.
        if interaction.guild_id is None:
            return []
        if not is_moderator(await self.bot.rulebook.rules(interaction.guild_id), interaction):
            return []
        terms = await self.bot.moderation.terms(interaction.guild_id)
        return [
            app_commands.Choice(name=t.term[:100], value=t.term)
            for t in terms
            if current.casefold() in t.term.casefold()
        ][:25]

    @blocklist.command(name="show", description="This server's blocked words and phrases (moderators)")
    async def blocklist_show(self, interaction: Interaction) -> None:
        await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        terms = await self.bot.moderation.terms(interaction.guild_id)
        embed, complete = blocklist_embed(terms)
        if not complete:
            # Too many for one message: the whole list as a file.
            text = "\n".join(f"{t.term}\t{t.reason or ''}" for t in terms)
            file = discord.File(io.BytesIO(text.encode()), filename="blocked-terms.txt")
            await interaction.followup.send(embed=embed, file=file, ephemeral=True)
            return
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="block", description="Stop a member from using the bot here (moderators)")
    @app_commands.describe(
        member="Who to block",
        reason="Why (shown to moderators)",
        duration="How long: 30m, 2h, 7d, 1w, 1d12h (empty: until unblocked)",
    )
    async def block(
        self,
        interaction: Interaction,
        member: discord.User,
        reason: Reason | None = None,
        duration: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        rules = await require_moderator(interaction)
        if member.bot:
            raise Refused("Bots don't use the video bot; there is nothing to block. Nothing was changed.")
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        result = await self.bot.moderation.block(
            interaction.guild_id, member.id, actor_id=interaction.user.id, reason=reason, duration=duration
        )
        await show_cancelled(interaction, result.cancelled)
        until = block_end(result.block.expires_at)
        replaced = (
            f" (this replaces their block {block_end(result.previous_until)})" if result.replaced else ""
        )
        summary = f"blocked {member.mention} from the video bot {until}{replaced}{cancelled_note(result)}"
        await interaction.followup.send(f"Done: {summary}.", ephemeral=True)
        await post_audit(
            interaction, rules, f"{interaction.user.mention} {summary}{_why(result.block.reason)}."
        )

    @app_commands.command(name="unblock", description="Let a blocked member use the bot again (moderators)")
    @app_commands.describe(member="Who to unblock")
    async def unblock(self, interaction: Interaction, member: discord.User) -> None:
        rules = await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        await self.bot.moderation.unblock(interaction.guild_id, member.id, actor_id=interaction.user.id)
        await interaction.followup.send(
            f"Done: {member.mention} can use the video bot again.", ephemeral=True
        )
        await post_audit(interaction, rules, f"{interaction.user.mention} unblocked {member.mention}.")

    @moderation.command(name="log", description="What moderators did, newest first (moderators)")
    @app_commands.describe(member="Only actions by or about this member")
    async def moderation_log(self, interaction: Interaction, member: discord.User | None = None) -> None:
        await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        user_id = member.id if member else None
        page = await self.bot.moderation.log(interaction.guild_id, user_id=user_id)
        await interaction.followup.send(
            embed=moderation_log_embed(page, user_id), view=log_view(user_id, page), ephemeral=True
        )
