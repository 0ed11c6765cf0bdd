"""Moderation on the Discord side, shared by ``/videobot`` and the buttons: deleting a video (the
database first, then its messages), reports reaching the audit channel, and the moderators' decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import discord

from cogs.ui.access import is_moderator, post_audit, require_moderator
from cogs.ui.embeds import clip, timestamp
from cogs.ui.interaction import Interaction
from videobot.jobs import Job
from videobot.moderation import BlockResult, DeletedVideo, FiledReport, ModerationError

log = logging.getLogger(__name__)

REPORT_PROMPT_LIMIT = 1000  # the report message stays well under Discord's 2,000 characters


async def delete_video(interaction: Interaction, job_id: int) -> DeletedVideo:
    """The Delete button: for the owner or a moderator. The video is marked deleted and its files
    purged first, then its messages go; a moderator's deletion is posted to the audit channel."""
    bot = interaction.client
    assert interaction.guild_id is not None
    rules = await bot.rulebook.rules(interaction.guild_id)
    await interaction.response.defer(ephemeral=True, thinking=True)
    deleted = await bot.moderation.delete_video(
        job_id,
        guild_id=interaction.guild_id,
        actor_id=interaction.user.id,
        moderator=is_moderator(rules, interaction),
    )
    await bot.presenter.remove_video(deleted)
    if deleted.by_moderator and deleted.first_time:
        await post_audit(
            interaction,
            rules,
            f"{interaction.user.mention} deleted video #{job_id} by <@{deleted.job.user_id}>.",
        )
    return deleted


async def report_video(
    interaction: Interaction, job_id: int, *, decisions: Callable[[int], discord.ui.View]
) -> None:
    """The Report button: the report goes to the audit channel with the moderators' decision buttons
    (``decisions`` makes them for a report id). The owner is never told who reported."""
    bot = interaction.client
    assert interaction.guild_id is not None
    await interaction.response.defer(ephemeral=True, thinking=True)
    rules = await bot.rulebook.rules(interaction.guild_id)
    if rules.audit_channel_id is None:
        raise ModerationError(
            "This server has no audit channel, so reports can't reach its moderators. Tell a moderator "
            "directly."
        )
    filed = await bot.reports.file(job_id, guild_id=interaction.guild_id, reporter_id=interaction.user.id)
    report_id = filed.report.id
    assert report_id is not None
    try:
        message = await bot.get_partial_messageable(rules.audit_channel_id).send(
            report_text(filed),
            view=decisions(report_id),
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except discord.HTTPException:
        log.warning("report %s: could not post it in audit channel %s", report_id, rules.audit_channel_id)
        await bot.reports.withdraw(report_id)
        raise ModerationError(
            "I couldn't post your report in the moderators' channel, so it was not recorded. Try again "
            "later or tell a moderator."
        ) from None
    await bot.reports.posted(report_id, channel_id=rules.audit_channel_id, message_id=message.id)
    await interaction.followup.send(
        f"Thank you: the moderators have your report of video #{job_id}. Its owner is not told who "
        "reported it.",
        ephemeral=True,
    )


def report_text(filed: FiledReport) -> str:
    """The report as moderators read it: the video's links, prompt, owner and the reporter."""
    job = filed.job
    links = [f"[video]({message_link(job.guild_id, job.thread_id or job.channel_id, job.result_message_id)})"]
    if job.gallery_message_id and filed.gallery_channel_id:
        links.append(
            f"[gallery post]({message_link(job.guild_id, filed.gallery_channel_id, job.gallery_message_id)})"
        )
    prompt = discord.utils.escape_markdown(clip(job.prompt, REPORT_PROMPT_LIMIT)).replace("\n", " ")
    return (
        f"🚩 **Report #{filed.report.id}**: video #{job.id} by <@{job.user_id}>, reported by "
        f"<@{filed.report.reporter_id}>\n> {prompt}\n{' · '.join(links)}"
    )


def message_link(guild_id: int, channel_id: int, message_id: int | None) -> str:
    """A link to a message (to its channel when the message id is unknown)."""
    tail = f"/{message_id}" if message_id else ""
    return f"https://discord.com/channels/{guild_id}/{channel_id}{tail}"


@dataclass(frozen=True)
class Decision:
    """What a moderator's decision on a report did: the line added to the report, the answer to the
    moderator, and whether the report stays open (after blocking the owner)."""

    line: str
    answer: str
    still_open: bool


async def decide_report(interaction: Interaction, report_id: int, decision: str) -> Decision:
    """A moderator pressed Delete, Block or Dismiss under a report (moderators only)."""
    bot = interaction.client
    await require_moderator(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    assert interaction.guild_id is not None
    guild_id, actor = interaction.guild_id, interaction.user
    when = timestamp(discord.utils.utcnow())
    if decision == "delete":
        deleted = await bot.reports.delete_video(report_id, guild_id=guild_id, actor_id=actor.id)
        await bot.presenter.remove_video(deleted)
        done = "deleted" if deleted.first_time else "was already deleted; its messages are gone"
        return Decision(
            f"🗑️ Video deleted by {actor.mention} {when}.", f"Video #{deleted.job.id} {done}.", False
        )
    if decision == "block":
        result = await bot.reports.block_owner(report_id, guild_id=guild_id, actor_id=actor.id)
        await show_cancelled(interaction, result.cancelled)
        owner = result.block.user_id
        return Decision(
            f"⛔ <@{owner}> blocked by {actor.mention} {when}{cancelled_note(result)}.",
            f"<@{owner}> is blocked from the bot until you unblock them{cancelled_note(result)}.",
            True,
        )
    await bot.reports.dismiss(report_id, guild_id=guild_id, actor_id=actor.id)
    return Decision(f"✅ Dismissed by {actor.mention} {when}.", f"Report #{report_id} dismissed.", False)


def with_outcome(content: str, line: str) -> str:
    """A report message with one more decision line (clipped to Discord's 2,000 characters)."""
    return clip(content, 2000 - len(line) - 1) + "\n" + line


def cancelled_note(result: BlockResult) -> str:
    """``; 2 waiting videos cancelled and refunded (#12, #13)``, or nothing."""
    if not result.cancelled:
        return ""
    count = len(result.cancelled)
    ids = ", ".join(f"#{job.id}" for job in result.cancelled)
    return f"; {count} waiting video{'s' if count != 1 else ''} cancelled and refunded ({ids})"


async def show_cancelled(interaction: Interaction, jobs: Iterable[Job]) -> None:
    """Show the cancelled state on each job's status message (best effort)."""
    for job in jobs:
        try:
            await interaction.client.presenter.show_state(job)
        except discord.HTTPException:
            log.warning("job %s: could not show that it was cancelled", job.id, exc_info=True)
