"""``/video``: make videos from text or an image, list and cancel jobs, and the result buttons."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.buttons import DeleteButton, RerollButton
from cogs.embeds import job_list_embed, status_embed, timestamp
from cogs.moderation import acting_member
from cogs.tree import reply
from storage.tables import Job
from videobot.catalog import InvalidRequest, VideoChoices
from videobot.jobs import CapReached, ChannelNotAllowed, InputFile, JobError, JobRequest, JobState
from videobot.media import AUDIO_RULE, IMAGE_RULE, MediaRule, RejectedFile, check_declared_size, check_file

if TYPE_CHECKING:
    from bot import VideoBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
EXPECTED_ERRORS = (InvalidRequest, RejectedFile, JobError)
# Discord caps string options at 6000 characters; the catalog's per-model limit is checked too.
PROMPT_MAX = 2000
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440


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
        await self._make(interaction, choices, image=None, audio=audio, campaign=campaign)

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
        await self._make(interaction, choices, image=image, audio=audio, campaign=campaign)

    async def _make(
        self,
        interaction: Interaction,
        choices: VideoChoices,
        *,
        image: discord.Attachment | None,
        audio: discord.Attachment | None,
        campaign: str | None,
    ) -> None:
        # Defer before anything else: validation and downloads can outlast Discord's 3 seconds.
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        try:
            rules = await self.bot.jobs.rules(interaction.guild_id, _channel_ids(interaction))
            self._check_bot_can_post(interaction)
            video = self.bot.jobs.price(rules, choices)
            inputs: list[InputFile] = []
            if image is not None:
                inputs.append(await _read_attachment(image, IMAGE_RULE, "init_image"))
            if audio is not None:
                inputs.append(await _read_attachment(audio, AUDIO_RULE, "init_audio"))
            request = JobRequest(
                interaction_id=interaction.id,
                guild_id=interaction.guild_id,
                channel_id=_channel_id(interaction),
                user_id=interaction.user.id,
                video=video,
                upload_limit=interaction.filesize_limit,
                inputs=tuple(inputs),
                role_ids=acting_member(interaction).role_ids,
                campaign=campaign,
            )
            await self._launch(interaction, request)
        except CapReached as exc:
            await reply(interaction, f"{exc} ({timestamp(exc.resets_at)})")
        except ChannelNotAllowed as exc:
            await reply(interaction, f"{exc} Try {', '.join(f'<#{c}>' for c in exc.allowed)}.")
        except EXPECTED_ERRORS as exc:
            await reply(interaction, str(exc))

    async def _launch(self, interaction: Interaction, request: JobRequest) -> None:
        """Charge and queue the job, post its status message and thread, tell the member."""
        created = await self.bot.jobs.create(request)
        job = created.job
        assert job.id is not None
        presented: tuple[int | None, int | None, int | None]
        try:
            presented = await self._present(interaction, job, created.queue_position)
        except discord.HTTPException:
            # The job is charged and queued; it will be delivered in the channel instead.
            log.warning("job %s: could not post its status message", job.id, exc_info=True)
            presented = (None, None, None)
        status_channel_id, status_message_id, thread_id = presented
        await self.bot.jobs.set_presentation(
            job.id,
            status_channel_id=status_channel_id,
            status_message_id=status_message_id,
            thread_id=thread_id,
        )
        where = f" Follow it in <#{thread_id}>." if thread_id else ""
        line = f" It is #{created.queue_position} in line." if created.queue_position > 1 else ""
        charged = f"{job.cost} credits charged, {created.balance_after} left"
        if created.campaign is not None:
            own = job.cost - created.from_campaign
            charged = (
                f"entered in **{created.campaign.name}**: {created.from_campaign} campaign credits and "
                f"{own} of yours charged, {created.balance_after} of yours left"
            )
        await interaction.followup.send(f"Video #{job.id} accepted: {charged}.{line}{where}", ephemeral=True)

    async def _present(
        self, interaction: Interaction, job: Job, position: int
    ) -> tuple[int, int, int | None]:
        """Post the status message and open the job's thread.

        Returns the ids of the status message's channel, the status message and the thread.
        """
        channel = interaction.channel
        embed = status_embed(job, self.catalog, queue_position=position)
        name = f"Video #{job.id} · {job.prompt}"[:100]
        if isinstance(channel, discord.Thread):
            message = await channel.send(embed=embed)
            return channel.id, message.id, channel.id
        if isinstance(channel, discord.ForumChannel):
            post = await channel.create_thread(
                name=name, embed=embed, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
            return post.thread.id, post.message.id, post.thread.id
        assert isinstance(channel, discord.abc.Messageable)
        message = await channel.send(embed=embed)
        thread_id: int | None = None
        if interaction.app_permissions.create_public_threads:
            try:
                thread = await message.create_thread(name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
                thread_id = thread.id
            except discord.HTTPException:
                log.info("job %s: no thread (Discord refused); results go to the channel", job.id)
        return message.channel.id, message.id, thread_id

    @staticmethod
    def _check_bot_can_post(interaction: Interaction) -> None:
        perms = interaction.app_permissions
        in_thread = isinstance(interaction.channel, discord.Thread)
        needed = {
            "Send Messages in Threads" if in_thread else "Send Messages": (
                perms.send_messages_in_threads if in_thread else perms.send_messages
            ),
            "Embed Links": perms.embed_links,
            "Attach Files": perms.attach_files,
        }
        missing = [name for name, granted in needed.items() if not granted]
        if missing:
            raise JobError(
                f"I can't post videos here: I'm missing {', '.join(missing)} in this channel. "
                "Nothing was charged; ask a moderator to fix my permissions or try another channel."
            )

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
        cog = self.bot.get_cog("campaign")
        if cog is None or interaction.guild_id is None:
            return []
        return await cog.running_joined(interaction.guild_id, interaction.user.id, current)  # type: ignore[attr-defined, no-any-return]

    @text.autocomplete("aspect_ratio")
    async def _aspect_ratios(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _filtered(self.catalog.aspect_ratio_choices("text", _picked_model(interaction)), current)

    @image.autocomplete("resolution")
    async def _resolutions(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _filtered(self.catalog.resolution_choices("image", _picked_model(interaction)), current)

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
    async def cancel(self, interaction: Interaction, job: int) -> None:
        await interaction.response.defer(ephemeral=True)
        assert interaction.guild_id is not None
        try:
            cancelled = await self.bot.jobs.cancel(
                job, guild_id=interaction.guild_id, user_id=interaction.user.id
            )
        except JobError as exc:
            await reply(interaction, str(exc))
            return
        await self.bot.presenter.show_state(cancelled)
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

    # -- result buttons ---------------------------------------------------------------------

    async def reroll(self, interaction: Interaction, job_id: int) -> None:
        """The re-roll button: same settings and files, a new job charged to whoever clicked."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            original = await self.bot.jobs.get(job_id)
            if original is None or original.guild_id != interaction.guild_id:
                raise JobError("That video no longer exists.")
            self._check_bot_can_post(interaction)
            request = await self.bot.jobs.reroll_request(
                job_id,
                interaction_id=interaction.id,
                user_id=interaction.user.id,
                upload_limit=interaction.filesize_limit,
                role_ids=acting_member(interaction).role_ids,
            )
            await self._launch(interaction, request)
        except CapReached as exc:
            await reply(interaction, f"{exc} ({timestamp(exc.resets_at)})")
        except EXPECTED_ERRORS as exc:
            await reply(interaction, str(exc))

    async def delete_result(self, interaction: Interaction, job_id: int) -> None:
        """The delete button: the owner or a moderator removes the result message."""
        job = await self.bot.jobs.get(job_id)
        perms = interaction.permissions
        is_owner = job is not None and job.user_id == interaction.user.id
        if not (is_owner or perms.manage_guild or perms.manage_messages):
            await reply(interaction, "Only the video's owner or a moderator can delete it.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        if interaction.message is not None:
            await interaction.message.delete()
        log.info("job %s result deleted by %s", job_id, interaction.user.id)
        await interaction.followup.send("Deleted.", ephemeral=True)


def _picked_model(interaction: Interaction) -> str | None:
    model = getattr(interaction.namespace, "model", None)
    return model if isinstance(model, str) and model else None


_ChoiceT = TypeVar("_ChoiceT", str, int)


def _filtered(pairs: list[tuple[str, _ChoiceT]], current: str) -> list[app_commands.Choice[_ChoiceT]]:
    needle = current.lower()
    return [
        app_commands.Choice(name=n, value=v) for n, v in pairs if needle in n.lower() or needle in str(v)
    ][:25]


def _channel_ids(interaction: Interaction) -> tuple[int, ...]:
    """The channel, and for a thread its parent too (an allowed channel's threads are allowed)."""
    channel = interaction.channel
    parent = getattr(channel, "parent_id", None)
    return tuple(c for c in (interaction.channel_id, parent) if c is not None)


def _channel_id(interaction: Interaction) -> int:
    assert interaction.channel_id is not None
    return interaction.channel_id


async def _read_attachment(attachment: discord.Attachment, rule: MediaRule, role: str) -> InputFile:
    """Download a member's attachment and check it by its bytes."""
    check_declared_size(rule, attachment.filename, attachment.size)
    try:
        data = await attachment.read()
    except discord.HTTPException:
        raise RejectedFile(
            f"I couldn't download `{attachment.filename}` from Discord. Attach it again and retry."
        ) from None
    kind = check_file(rule, attachment.filename, data)
    return InputFile(role=role, mime=kind.mime, filename=attachment.filename, data=data)


async def setup(bot: VideoBot) -> None:
    """Extension entry point."""
    bot.add_dynamic_items(RerollButton, DeleteButton)
    await bot.add_cog(VideoCog(bot))
