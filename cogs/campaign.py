"""``/campaign``: server events with their own credits, gallery, votes and report."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui.access import post_audit, require_moderator
from cogs.ui.embeds import (
    campaign_embed,
    campaign_report_embed,
    campaigns_embed,
    clip_lines,
    escape,
    timestamp,
)
from cogs.ui.interaction import Interaction
from videobot import charts
from videobot.campaigns import CampaignSpec
from videobot.maxima import MAX_CAMPAIGN_ENTRIES, MAX_CREDITS

if TYPE_CHECKING:
    from bot import VideoBot


@app_commands.guild_only()
class CampaignCog(
    commands.GroupCog, name="campaign", group_name="campaign", group_description="Server events"
):
    """Discord glue for campaigns."""

    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="create", description="Start an event with its own credits (moderators)")
    @app_commands.describe(
        name="What it is called",
        end="When it ends: 2h, 7d, 1d12h, or a UTC time like 2026-10-31 18:00",
        credits="Credits each participant gets on joining",
        start="When it starts (default: now); same forms as end",
        models="Allowed models, comma-separated (default: all)",
        prefix="Added before every entry's prompt",
        suffix="Added after every entry's prompt",
        gallery="Where finished entries are posted for votes",
        budget="Total credits all entries together may spend",
        entries="Entries each member may make",
    )
    async def create(
        self,
        interaction: Interaction,
        name: app_commands.Range[str, 1, 100],
        end: str,
        credits: app_commands.Range[int, 0, MAX_CREDITS],
        start: str | None = None,
        models: str | None = None,
        prefix: app_commands.Range[str, 1, 300] | None = None,
        suffix: app_commands.Range[str, 1, 300] | None = None,
        gallery: discord.TextChannel | None = None,
        budget: app_commands.Range[int, 1, MAX_CREDITS] | None = None,
        entries: app_commands.Range[int, 1, MAX_CAMPAIGN_ENTRIES] | None = None,
    ) -> None:
        rules = await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None and interaction.channel_id is not None
        spec = CampaignSpec(
            name=name,
            ends=end,
            credits_per_member=credits,
            starts=start,
            allowed_models=models,
            prompt_prefix=prefix,
            prompt_suffix=suffix,
            gallery_channel_id=gallery.id if gallery else None,
            budget=budget,
            max_entries_per_member=entries,
        )
        campaign = await self.bot.campaigns.create(
            interaction.guild_id,
            actor_id=interaction.user.id,
            announce_channel_id=interaction.channel_id,
            spec=spec,
        )
        window = f"from {timestamp(campaign.starts_at, 'F')} to {timestamp(campaign.ends_at, 'F')}"
        await interaction.followup.send(
            f"Campaign **{escape(campaign.name)}** created, {window} ({timestamp(campaign.ends_at)}).",
            ephemeral=True,
        )
        await post_audit(
            interaction,
            rules,
            f"{interaction.user.mention} created the campaign {escape(campaign.name)} {window}.",
        )

    @app_commands.command(name="join", description="Join an event and get its credits")
    @app_commands.describe(name="Which event (default: the one running now)")
    async def join(self, interaction: Interaction, name: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        joined = await self.bot.campaigns.join(interaction.guild_id, interaction.user.id, name)
        c = joined.campaign
        if joined.already_joined:
            text = f"You already joined **{escape(c.name)}**; its credits are given once."
        else:
            text = (
                f"You joined **{escape(c.name)}** and got {joined.credits} campaign credits. They are spent "
                f"before your own on entries and expire {timestamp(c.ends_at)}."
            )
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="info", description="One event in full, with your campaign credits")
    @app_commands.describe(name="Which event (default: the one running now)")
    async def info(self, interaction: Interaction, name: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        campaign = await self.bot.campaigns.find(interaction.guild_id, name)
        views = await self.bot.campaigns.overview(interaction.guild_id, interaction.user.id)
        view = next(v for v in views if v.campaign.id == campaign.id)
        await interaction.followup.send(embed=campaign_embed(view), ephemeral=True)

    @app_commands.command(name="list", description="Running, upcoming and past events")
    async def list_campaigns(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        views = await self.bot.campaigns.overview(interaction.guild_id, interaction.user.id)
        await interaction.followup.send(embed=campaigns_embed(views), ephemeral=True)

    @app_commands.command(name="end", description="End an event now (moderators)")
    @app_commands.describe(name="Which event")
    async def end(self, interaction: Interaction, name: str) -> None:
        rules = await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        campaign = await self.bot.campaigns.end_now(interaction.guild_id, name, actor_id=interaction.user.id)
        await interaction.followup.send(
            f"**{escape(campaign.name)}** ends now; the summary follows.", ephemeral=True
        )
        await post_audit(
            interaction, rules, f"{interaction.user.mention} ended the campaign {escape(campaign.name)}."
        )

    @app_commands.command(name="report", description="Results so far, with a CSV of every entry (moderators)")
    @app_commands.describe(name="Which event (default: the one running now)")
    async def report(self, interaction: Interaction, name: str | None = None) -> None:
        await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        campaign = await self.bot.campaigns.find(interaction.guild_id, name)
        report = await self.bot.campaign_reports.report(campaign)
        table = await self.bot.campaign_reports.entries_csv(campaign)
        activity = await self.bot.campaign_reports.activity(campaign)
        embed = campaign_report_embed(report)
        files = [discord.File(io.BytesIO(table.encode()), filename=f"campaign-{campaign.id}-entries.csv")]
        if activity.days:  # nothing to draw before the campaign starts
            files.append(
                discord.File(
                    io.BytesIO(await charts.campaign_png(activity)),
                    filename=f"campaign-{campaign.id}.png",
                    description=charts.campaign_alt_text(activity),
                )
            )
            embed.set_image(url=f"attachment://campaign-{campaign.id}.png")
            embed.add_field(
                name="Per day (UTC), newest first",
                value=clip_lines(
                    [
                        f"`{d.day:%Y-%m-%d}` {d.entries} entries · {d.votes} votes"
                        for d in reversed(activity.days)
                    ],
                    more="…{n} earlier days in the chart",
                ),
                inline=False,
            )
        await interaction.followup.send(embed=embed, files=files, ephemeral=True)

    @join.autocomplete("name")
    @info.autocomplete("name")
    @end.autocomplete("name")
    @report.autocomplete("name")
    async def _names(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        views = await self.bot.campaigns.overview(interaction.guild_id, interaction.user.id)
        return [
            app_commands.Choice(name=f"{v.campaign.name} ({v.status.value})"[:100], value=v.campaign.name)
            for v in views
            if current.lower() in v.campaign.name.lower()
        ][:25]


async def setup(bot: VideoBot) -> None:
    """Extension entry point."""
    await bot.add_cog(CampaignCog(bot))
