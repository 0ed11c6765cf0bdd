"""``/videobot``: the setup check and the server's settings (Manage Server), the usage report and the
moderation tools (moderators; the latter in `cogs.moderation`), and the bot's status (moderators and
the bot's owner)."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from cogs.moderation import ModerationCommands
from cogs.ui.access import post_audit, require_manage_guild, require_moderator, require_moderator_or_owner
from cogs.ui.embeds import bot_status_embed, settings_embed, setup_embed, usage_embed
from cogs.ui.interaction import Interaction
from cogs.ui.readiness import setup_checks
from videobot import charts
from videobot.errors import Refused
from videobot.first_run import default_videos
from videobot.maxima import MAX_CREDITS, MAX_MEMBER_JOBS, MAX_USAGE_DAYS
from videobot.rulebook import ServerRules

if TYPE_CHECKING:
    from bot import VideoBot

Credits = app_commands.Range[int, 0, MAX_CREDITS]
PositiveCredits = app_commands.Range[int, 1, MAX_CREDITS]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ServerCog(
    ModerationCommands,
    commands.GroupCog,
    name="videobot",
    group_name="videobot",
    group_description="Set up the video bot here",
):
    """Discord glue for server settings, usage and moderation."""

    settings = app_commands.Group(name="settings", description="This server's rules for credits and videos")

    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot
        super().__init__()

    @settings.command(name="show", description="Show every setting")
    async def show(self, interaction: Interaction) -> None:
        await self._change(interaction, None, None)

    @settings.command(name="starting_balance", description="Credits a member starts with")
    @app_commands.describe(amount="Credits each member gets on their first action here")
    async def starting_balance(self, interaction: Interaction, amount: Credits) -> None:
        await self._change(
            interaction,
            lambda: self._update(interaction, starting_balance=amount),
            f"set the starting balance to {amount}",
        )

    @settings.command(name="allowance", description="A daily allowance, given on a member's next action")
    @app_commands.describe(
        mode="floor: top balances up to the amount; add: add the amount each day; off: none",
        amount="Credits per day (floor: the level to top up to)",
        cap="For add: the balance the allowance stops at",
    )
    async def allowance(
        self,
        interaction: Interaction,
        mode: Literal["off", "floor", "add"],
        amount: Credits = 0,
        cap: PositiveCredits | None = None,
    ) -> None:
        await self._change(
            interaction,
            lambda: self._update(
                interaction, allowance_mode=mode, allowance_amount=amount, allowance_cap=cap
            ),
            f"set the daily allowance to {mode} {amount}" + (f" (cap {cap})" if cap else ""),
        )

    @settings.command(
        name="role_bonus", description="Extra daily credits for members with a role (0 removes)"
    )
    @app_commands.describe(role="Members with this role get the bonus", amount="Extra credits per day")
    async def role_bonus(self, interaction: Interaction, role: discord.Role, amount: Credits) -> None:
        await self._change(
            interaction,
            lambda: self.bot.rulebook.set_role_bonus(
                role.guild.id, role.id, amount, actor_id=interaction.user.id
            ),
            f"set the daily bonus of {role.mention} to {amount}",
        )

    @settings.command(
        name="price", description="This server's price for a model (leave credits empty to reset)"
    )
    @app_commands.describe(
        model="The model", credits="Its price here, for any duration (empty: the catalog's)"
    )
    async def price(
        self, interaction: Interaction, model: str, credits: PositiveCredits | None = None
    ) -> None:
        assert interaction.guild_id is not None
        guild_id = interaction.guild_id
        await self._change(
            interaction,
            lambda: self.bot.rulebook.set_price(guild_id, model, credits, actor_id=interaction.user.id),
            f"set the price of {model} to {credits}" if credits else f"reset the price of {model}",
        )

    @price.autocomplete("model")
    async def _models(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=f"{m.id} ({m.kind})", value=m.id)
            for m in self.bot.catalog.models()
            if current.lower() in m.id.lower()
        ][:25]

    @settings.command(
        name="moderator_role", description="Members with this role count as moderators (empty: none)"
    )
    @app_commands.describe(role="The moderator role (leave empty to remove it)")
    async def moderator_role(self, interaction: Interaction, role: discord.Role | None = None) -> None:
        await self._change(
            interaction,
            lambda: self._update(interaction, moderator_role_id=role.id if role else None),
            f"set the moderator role to {role.mention}" if role else "removed the moderator role",
        )

    @settings.command(name="audit_channel", description="Where moderator actions are posted (empty: nowhere)")
    @app_commands.describe(channel="The audit channel (leave empty to stop posting)")
    async def audit_channel(
        self, interaction: Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        await self._change(
            interaction,
            lambda: self._update(interaction, audit_channel_id=channel.id if channel else None),
            f"set the audit channel to {channel.mention}" if channel else "removed the audit channel",
        )

    @settings.command(name="channels", description="Where videos may be made (an empty list: everywhere)")
    @app_commands.describe(
        action="allow or remove a channel, or clear the list", channel="The channel to allow or remove"
    )
    async def channels(
        self,
        interaction: Interaction,
        action: Literal["allow", "remove", "clear"],
        channel: discord.TextChannel | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        guild_id = interaction.guild_id
        channel_id = channel.id if channel else None
        if action != "clear" and channel_id is None:
            raise Refused("Name the channel to allow or remove. Nothing was changed.")
        await self._change(
            interaction,
            lambda: self.bot.rulebook.set_channel(
                guild_id,
                None if action == "clear" else channel_id,
                allowed=action == "allow",
                actor_id=interaction.user.id,
            ),
            f"{action} {channel.mention if channel else 'all channels'} for videos",
        )

    @settings.command(
        name="member_jobs",
        description="Videos in progress a member may have at once (0: no limit; empty: the bot's default)",
    )
    @app_commands.describe(limit="Videos in progress at once (leave empty for no limit)")
    async def member_jobs(
        self, interaction: Interaction, limit: app_commands.Range[int, 0, MAX_MEMBER_JOBS] | None = None
    ) -> None:
        if limit is None:
            summary = "set the per-member limit back to the bot's default"
        else:
            summary = f"set the per-member limit to {limit}" if limit else "removed the per-member limit"
        await self._change(interaction, lambda: self._update(interaction, max_jobs_per_member=limit), summary)

    @settings.command(
        name="daily_cap", description="Credits this server may spend per UTC day (empty: no cap)"
    )
    @app_commands.describe(credits="Credits per UTC day (leave empty for no cap)")
    async def daily_cap(self, interaction: Interaction, credits: PositiveCredits | None = None) -> None:
        await self._change(
            interaction,
            lambda: self._update(interaction, daily_credit_cap=credits),
            f"set the daily cap to {credits} credits" if credits else "removed the daily cap",
        )

    @app_commands.command(
        name="setup", description="Check what the bot needs in this channel and server, with the fixes"
    )
    async def setup(self, interaction: Interaction) -> None:
        require_manage_guild(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        rules = await self.bot.rulebook.rules(interaction.guild_id)
        checks = setup_checks(interaction, rules, default_videos(self.bot.catalog, rules.price_overrides))
        await interaction.followup.send(embed=setup_embed(checks, interaction.channel_id), ephemeral=True)

    @app_commands.command(
        name="status", description="Queue, jobs at ModelsLab, the last 24 hours and the ModelsLab wallet"
    )
    async def status(self, interaction: Interaction) -> None:
        await require_moderator_or_owner(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        report = await self.bot.status_reports.report(interaction.guild_id)
        await interaction.followup.send(embed=bot_status_embed(report), ephemeral=True)

    @app_commands.command(
        name="usage", description="Jobs and credits per day, top members, failures, running now"
    )
    @app_commands.describe(days="How many UTC days back, today included (default 7)")
    async def usage(
        self, interaction: Interaction, days: app_commands.Range[int, 1, MAX_USAGE_DAYS] = 7
    ) -> None:
        await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        report = await self.bot.usage.report(interaction.guild_id, days=days)
        embed = usage_embed(report, days)
        chart = discord.File(
            io.BytesIO(await charts.usage_png(report.days)),
            filename="usage.png",
            description=charts.usage_alt_text(report.days),
        )
        embed.set_image(url="attachment://usage.png")
        await interaction.followup.send(embed=embed, file=chart, ephemeral=True)

    async def _update(self, interaction: Interaction, **changes: Any) -> ServerRules:
        assert interaction.guild_id is not None
        return await self.bot.rulebook.update(interaction.guild_id, actor_id=interaction.user.id, **changes)

    async def _change(
        self,
        interaction: Interaction,
        change: Callable[[], Awaitable[ServerRules]] | None,
        summary: str | None,
    ) -> None:
        """Check Manage Server, apply the change, show the settings and log it to the audit channel."""
        require_manage_guild(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        rules = await change() if change else await self.bot.rulebook.rules(interaction.guild_id)
        embed = settings_embed(
            rules,
            default_starting_balance=self.bot.config.starting_balance,
            blocks=await self.bot.moderation.blocks(interaction.guild_id),
        )
        await interaction.followup.send(f"Done: {summary}." if summary else "", embed=embed, ephemeral=True)
        if summary:
            await post_audit(interaction, rules, f"{interaction.user.mention} {summary}.")


async def setup(bot: VideoBot) -> None:
    """Extension entry point."""
    await bot.add_cog(ServerCog(bot))
