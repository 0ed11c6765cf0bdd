"""Launching a job from Discord, shared by ``/video`` and the re-roll button: the checks before any
charge, the charge itself (in the domain), the status message and thread, and the member's answer."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Literal

import discord

from cogs.ui.access import acting_member, is_moderator
from cogs.ui.embeds import PAUSED_NOTE, StatusView, escape, status_embed
from cogs.ui.interaction import Interaction
from videobot.catalog import VideoChoices
from videobot.jobs import CreatedJob, InputFile, Job, JobError, JobRequest
from videobot.media import AUDIO_RULE, IMAGE_RULE, MediaRule, RejectedFile, check_declared_size, check_file

log = logging.getLogger(__name__)

THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440


async def make_video(
    interaction: Interaction,
    choices: VideoChoices,
    *,
    image: discord.Attachment | None,
    audio: discord.Attachment | None,
    campaign: str | None,
) -> None:
    """``/video text`` and ``/video image``: check, download the attachments, charge and queue."""
    # Defer before anything else: validation and downloads can outlast Discord's 3 seconds.
    await interaction.response.defer(ephemeral=True, thinking=True)
    bot = interaction.client
    assert interaction.guild_id is not None
    rules = await bot.rulebook.rules(interaction.guild_id)
    bot.jobs.check_channel(rules, channel_ids(interaction))
    check_bot_can_post(interaction)
    request = JobRequest(
        interaction_id=interaction.id,
        guild_id=interaction.guild_id,
        channel_id=channel_id(interaction),
        user_id=interaction.user.id,
        video=bot.jobs.price(rules, choices),
        upload_limit=interaction.filesize_limit,
        role_ids=acting_member(interaction).role_ids,
        campaign=campaign,
    )
    if image is not None or audio is not None:
        # Nothing is downloaded for a video the member cannot pay for or may not make now (without
        # files, `create` refuses the same things, in its own transaction, at no extra cost).
        await bot.jobs.precheck(request)
    inputs: list[InputFile] = []
    if image is not None:
        inputs.append(await read_attachment(image, IMAGE_RULE, "init_image"))
    if audio is not None:
        inputs.append(await read_attachment(audio, AUDIO_RULE, "init_audio"))
    await launch(interaction, replace(request, inputs=tuple(inputs)))


async def reroll(interaction: Interaction, job_id: int) -> None:
    """The re-roll button: same settings and files, a new job for the video's owner (or a
    moderator), charged to whoever clicked, under today's prices and channel and campaign rules."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    bot = interaction.client
    assert interaction.guild_id is not None
    original = await bot.jobs.get(job_id)
    if original is None or original.guild_id != interaction.guild_id:
        raise JobError("That video no longer exists.")
    rules = await bot.rulebook.rules(interaction.guild_id)
    await bot.jobs.check_not_blocked(interaction.guild_id, interaction.user.id)
    if original.user_id != interaction.user.id and not is_moderator(rules, interaction):
        # The files are the owner's: nobody else renders them again, or enters them anywhere.
        raise JobError("Only the video's owner (or a moderator) can re-roll it. Nothing was charged.")
    bot.jobs.check_channel(rules, channel_ids(interaction))
    check_bot_can_post(interaction)
    request = await bot.jobs.reroll_request(
        job_id,
        interaction_id=interaction.id,
        user_id=interaction.user.id,
        upload_limit=interaction.filesize_limit,
        role_ids=acting_member(interaction).role_ids,
    )
    await launch(interaction, request)


async def launch(interaction: Interaction, request: JobRequest) -> None:
    """Charge and queue the job, tell the member, then post its status message and thread.

    The member's answer goes first, through the interaction token (outside Discord's global limit
    and the channel's buckets), so a busy channel never keeps them waiting on "thinking…"; the
    thread's link is added to it once the thread exists.
    """
    bot = interaction.client
    created = await bot.jobs.create(request)
    job = created.job
    assert job.id is not None
    paused = bot.runner.pause.paused
    await interaction.followup.send(_accepted(created, thread_id=None, paused=paused), ephemeral=True)
    view = StatusView.for_new(
        created, bot.catalog, provider_limit=bot.runner.provider_limit.value, paused=paused
    )
    presented: tuple[int | None, int | None, int | None]
    try:
        presented = await _present(interaction, job, view)
    except discord.HTTPException:
        # The job is charged and queued; it will be delivered in the channel instead.
        log.warning("job %s: could not post its status message", job.id, exc_info=True)
        presented = (None, None, None)
    status_channel_id, status_message_id, thread_id = presented
    now = await bot.jobs.set_presentation(
        job.id,
        status_channel_id=status_channel_id,
        status_message_id=status_message_id,
        thread_id=thread_id,
    )
    if status_message_id is not None:
        bot.presenter.shown(job.id, view.phase)
        if now is not None and now.state.is_final:
            # Ended (cancelled, its member blocked) while its status message was being posted.
            await bot.job_presenter.show_state(now)
    if thread_id is not None:
        try:
            await interaction.edit_original_response(
                content=_accepted(created, thread_id=thread_id, paused=paused)
            )
        except discord.HTTPException:
            log.info("job %s: could not add the thread to the member's answer", job.id)


def _accepted(created: CreatedJob, *, thread_id: int | None, paused: bool = False) -> str:
    """The member's answer: the job's number, what was charged, its place in line, its thread."""
    job = created.job
    where = f" Follow it in <#{thread_id}>." if thread_id else ""
    line = f" It is #{created.queue_position} in line." if created.queue_position > 1 else ""
    charged = f"{job.cost} credits charged, {created.balance_after} left"
    if created.campaign is not None:
        own = job.cost - created.from_campaign
        charged = (
            f"entered in **{escape(created.campaign.name)}**: {created.from_campaign} campaign credits and "
            f"{own} of yours charged, {created.balance_after} of yours left"
        )
    note = f"\n{PAUSED_NOTE}" if paused else ""
    return f"Video #{job.id} accepted: {charged}.{line}{where}{note}"


async def _present(interaction: Interaction, job: Job, view: StatusView) -> tuple[int, int, int | None]:
    """Post the status message and open the job's thread.

    Returns the ids of the status message's channel, the status message and the thread.
    """
    channel = interaction.channel
    embed = status_embed(job, interaction.client.catalog, view=view)
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


def check_bot_can_post(interaction: Interaction) -> None:
    """Refuse before charging when the bot could not post the video where the member asked."""
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


def channel_ids(interaction: Interaction) -> tuple[int, ...]:
    """The channel, and for a thread its parent too (an allowed channel's threads are allowed)."""
    parent = getattr(interaction.channel, "parent_id", None)
    return tuple(c for c in (interaction.channel_id, parent) if c is not None)


def channel_id(interaction: Interaction) -> int:
    """The channel the command was used in."""
    assert interaction.channel_id is not None
    return interaction.channel_id


async def read_attachment(attachment: discord.Attachment, rule: MediaRule, role: str) -> InputFile:
    """Download a member's attachment and check it by its bytes."""
    check_declared_size(rule, attachment.filename, attachment.size)
    try:
        data = await attachment.read()
    except discord.HTTPException:
        raise RejectedFile(
            f"I couldn't download `{attachment.filename}` from Discord. Attach it again and retry."
        ) from None
    kind = check_file(rule, attachment.filename, data)
    return InputFile.attached(role, kind.mime, attachment.filename, data)
