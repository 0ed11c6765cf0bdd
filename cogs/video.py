"""``/video``: make videos from text or an image, list and cancel jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui import launch
from cogs.ui.access import acting_member
from cogs.ui.embeds import help_embed, job_list_embed
from cogs.ui.interaction import Interaction
from videobot.campaigns import CampaignStatus
from videobot.catalog import VideoChoices
from videobot.first_run import default_videos
from videobot.jobs import JobState
from videobot.maxima import MAX_JOB_ID

if TYPE_CHECKING:
    from bot import VideoBot

# Discord caps string options at 6000 characters; the catalog's per-model limit is checked too.
PROMPT_MAX = 2000


@app_commands.guild_only()
class VideoCog(commands.GroupCog, name="video", group_name="video", group_description="Make AI videos"):
    """Discord glue for videos: turns commands into jobs and jobs into messages."""

    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot
        self.catalog = bot.catalog
        super().__init__()

    # -- making videos ----------------------------------------------------------------------

    @app_commands.command(name="text", description="Make a video from a text prompt")
    @app_commands.describe(
        prompt="What should happen in the video",
        model="Which video model (default: veo-3.1-fast)",
        duration="Length in seconds (the model decides which lengths it offers)",
        aspect_ratio="Frame shape, e.g. 16:9 landscape or 9:16 portrait",
        generate_audio="Let the model add sound (models that support it)",
        negative_prompt="What the video should avoid",
        enhance_prompt="Let the model polish your prompt first",
        audio="An MP3 or WAV track to follow (models that take audio)",
        campaign="Enter this video in a campaign you joined",
    )
    async def text(
        self,
        interaction: Interaction,
        prompt: app_commands.Range[str, 1, PROMPT_MAX],
        model: str | None = None,
        duration: int | None = None,
        aspect_ratio: str | None = None,
        generate_audio: bool | None = None,
        negative_prompt: app_commands.Range[str, 1, PROMPT_MAX] | None = None,
        enhance_prompt: bool | None = None,
        audio: discord.Attachment | None = None,
        campaign: str | None = None,
    ) -> None:
        choices = VideoChoices(
            kind="text",
            prompt=prompt,
            model_id=model,
            duration=duration,
            aspect_ratio=aspect_ratio,
            generate_audio=generate_audio,
            negative_prompt=negative_prompt,
            enhance_prompt=enhance_prompt,
            has_audio=audio is not None,
        )
        await launch.make_video(interaction, choices, image=None, audio=audio, campaign=campaign)

    @app_commands.command(name="image", description="Bring an image to life")
    @app_commands.describe(
        image="The start image (PNG, JPEG or WebP)",
        prompt="What the image should do",
        audio="An MP3 or WAV track for rhythm and lip movement",
        model="Which video model (default: wan2.6-i2v)",
        duration="Length in seconds (the model decides which lengths it offers)",
        resolution="Output resolution",
        campaign="Enter this video in a campaign you joined",
    )
    async def image(
        self,
        interaction: Interaction,
        image: discord.Attachment,
        prompt: app_commands.Range[str, 1, PROMPT_MAX],
        audio: discord.Attachment | None = None,
        model: str | None = None,
        duration: int | None = None,
        resolution: str | None = None,
        campaign: str | None = None,
    ) -> None:
        choices = VideoChoices(
            kind="image",
            prompt=prompt,
            model_id=model,
            duration=duration,
            resolution=resolution,
            has_image=True,
            has_audio=audio is not None,
        )
        await launch.make_video(interaction, choices, image=image, audio=audio, campaign=campaign)

    # -- autocomplete from the catalog ------------------------------------------------------

    @text.autocomplete("model")
    async def _text_models(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _filtered(self.catalog.model_choices("text"), current)

    @image.autocomplete("model")
    async def _image_models(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _filtered(self.catalog.model_choices("image"), current)

    @text.autocomplete("duration")
    async def _text_durations(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return _filtered(
            self.catalog.duration_choices("text", _picked_model(interaction)), str(current or "")
        )

    @image.autocomplete("duration")
    async def _image_durations(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return _filtered(
            self.catalog.duration_choices("image", _picked_model(interaction)), str(current or "")
        )

    @text.autocomplete("campaign")
    @image.autocomplete("campaign")
    async def _campaigns(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        views = await self.bot.campaigns.overview(interaction.guild_id, interaction.user.id)
        return [
            app_commands.Choice(name=v.campaign.name[:100], value=v.campaign.name)
            for v in views
            if v.status is CampaignStatus.RUNNING
            and v.wallet is not None
            and current.lower() in v.campaign.name.lower()
        ][:25]

    @text.autocomplete("aspect_ratio")
    async def _aspect_ratios(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _filtered(self.catalog.aspect_ratio_choices("text", _picked_model(interaction)), current)

    @image.autocomplete("resolution")
    async def _resolutions(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _filtered(self.catalog.resolution_choices("image", _picked_model(interaction)), current)

    # -- help -------------------------------------------------------------------------------

    @app_commands.command(
        name="help", description="What this bot does, its commands, the prices here and your balance"
    )
    async def help(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        rules = await self.bot.rulebook.rules(interaction.guild_id)
        balance = await self.bot.credits.balance(acting_member(interaction))
        embed = help_embed(
            commands=command_families(self.bot.tree.get_commands()),
            defaults=default_videos(self.catalog, rules.price_overrides),
            prices=self.catalog.price_list(rules.price_overrides),
            balance=balance,
        )
        await interaction.followup.send(embed=embed, ephemeral=True)

    # -- jobs -------------------------------------------------------------------------------

    @app_commands.command(name="jobs", description="Your recent and running videos")
    async def jobs(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        recent = await self.bot.jobs.recent(guild_id=interaction.guild_id, user_id=interaction.user.id)
        await interaction.followup.send(embed=job_list_embed(recent, interaction.guild_id), ephemeral=True)

    @app_commands.command(
        name="cancel", description="Cancel a video that is still waiting in line (refunded)"
    )
    @app_commands.describe(job="The video number, e.g. 12")
    async def cancel(self, interaction: Interaction, job: app_commands.Range[int, 1, MAX_JOB_ID]) -> None:
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        cancelled = await self.bot.jobs.cancel(
            job, guild_id=interaction.guild_id, user_id=interaction.user.id
        )
        await self.bot.job_presenter.show_state(cancelled)
        await interaction.followup.send(
            f"Video #{job} cancelled; {cancelled.cost} credits are back on your balance.", ephemeral=True
        )

    @cancel.autocomplete("job")
    async def _cancellable(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        recent = await self.bot.jobs.recent(
            guild_id=interaction.guild_id, user_id=interaction.user.id, limit=25
        )
        return [
            app_commands.Choice(name=f"#{j.id} · {j.prompt}"[:100], value=j.id)
            for j in recent
            if j.state == JobState.QUEUED and j.id is not None and str(current or "") in str(j.id)
        ]


def command_families(
    tree_commands: Sequence[
        app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu
    ],
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The slash commands by family, as ``[("video", [("video text", "Make a video ..."), ...]), ...]``.

    Read from the command tree, so help lists exactly what the bot offers; a nested group (such as
    ``/videobot settings``) is one line, ``settings …``.
    """
    families: list[tuple[str, list[tuple[str, str]]]] = []
    for command in tree_commands:
        if isinstance(command, app_commands.Group):
            entries = [
                (
                    f"{child.qualified_name}{' …' if isinstance(child, app_commands.Group) else ''}",
                    child.description,
                )
                for child in command.commands
            ]
            families.append((command.name, entries))
        elif isinstance(command, app_commands.Command):
            families.append((command.name, [(command.qualified_name, command.description)]))
    return families


def _picked_model(interaction: Interaction) -> str | None:
    model = getattr(interaction.namespace, "model", None)
    return model if isinstance(model, str) and model else None


_ChoiceT = TypeVar("_ChoiceT", str, int)


def _filtered(pairs: list[tuple[str, _ChoiceT]], current: str) -> list[app_commands.Choice[_ChoiceT]]:
    needle = current.lower()
    return [
        app_commands.Choice(name=n, value=v) for n, v in pairs if needle in n.lower() or needle in str(v)
    ][:25]


async def setup(bot: VideoBot) -> None:
    """Extension entry point."""
    await bot.add_cog(VideoCog(bot))
