"""How jobs look in Discord: the status message and the job list."""

from __future__ import annotations

from datetime import datetime

import discord

from storage.tables import Job
from videobot.catalog import Catalog, InvalidRequest, ValidatedVideo
from videobot.jobs import JobState

_COLOURS = {
    JobState.QUEUED: discord.Colour.light_grey(),
    JobState.SUBMITTING: discord.Colour.blurple(),
    JobState.PROCESSING: discord.Colour.blurple(),
    JobState.DELIVERING: discord.Colour.blurple(),
    JobState.DELIVERED: discord.Colour.green(),
    JobState.FAILED: discord.Colour.red(),
    JobState.CANCELLED: discord.Colour.dark_grey(),
    JobState.TIMED_OUT: discord.Colour.orange(),
}

_EMBED_TEXT_LIMIT = 1024


def timestamp(when: datetime, style: str = "R") -> str:
    """A Discord timestamp that every member sees in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


def status_embed(job: Job, catalog: Catalog, *, queue_position: int | None = None) -> discord.Embed:
    """The job's status message: prompt, model, settings, cost, owner and state."""
    state = JobState(job.state)
    embed = discord.Embed(
        title=f"Video #{job.id} · {state.label}",
        description=_clip(job.prompt, 4000),
        colour=_COLOURS[state],
    )
    embed.add_field(name="Owner", value=f"<@{job.user_id}>")
    embed.add_field(name="Cost", value=f"{job.cost} credits")
    for name, value in _settings(job, catalog):
        embed.add_field(name=name, value=value)
    if state is JobState.QUEUED and queue_position is not None:
        embed.add_field(name="In line", value=f"#{queue_position}", inline=False)
    if state in (JobState.FAILED, JobState.TIMED_OUT, JobState.CANCELLED) and job.failure_reason:
        embed.add_field(
            name="What happened",
            value=_clip(f"{job.failure_reason} {job.cost} credits refunded.", 1024),
            inline=False,
        )
    embed.set_footer(text=f"job {job.id}")
    embed.timestamp = job.created_at
    return embed


def job_list_embed(jobs: list[Job], guild_id: int) -> discord.Embed:
    """A member's recent jobs, newest first."""
    embed = discord.Embed(title="Your recent videos", colour=discord.Colour.blurple())
    if not jobs:
        embed.description = "You have no videos yet. Try `/video text`."
        return embed
    lines = []
    for job in jobs:
        state = JobState(job.state)
        line = f"**#{job.id}** · {job.model_id} · {state.label} · {job.cost} cr · {timestamp(job.created_at)}"
        where = job.thread_id or job.channel_id
        if job.result_message_id:
            line += f" · [video](https://discord.com/channels/{guild_id}/{where}/{job.result_message_id})"
        elif job.thread_id:
            line += f" · <#{job.thread_id}>"
        lines.append(line)
    embed.description = "\n".join(lines)
    return embed


def _settings(job: Job, catalog: Catalog) -> list[tuple[str, str]]:
    try:
        return ValidatedVideo.from_record(catalog, job.settings).settings_summary()
    except (InvalidRequest, ValueError):
        return [("Model", job.model_id)]


def _clip(text: str, limit: int = _EMBED_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
