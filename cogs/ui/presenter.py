"""The Discord side of job delivery: status edits, the video upload, links and failure notes.

Everything here uses the bot token (never the interaction token, which dies after 15 minutes), so a
job that rendered for an hour is still delivered.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import discord

from cogs.ui.buttons import result_view, vote_view
from cogs.ui.embeds import campaign_report_embed, clip, status_embed, timestamp
from videobot.campaigns import Campaign, CampaignReport
from videobot.catalog import Catalog
from videobot.jobs import Job
from videobot.jobs.delivery import DeliveryError, DeliveryImpossible, UploadTooLarge

log = logging.getLogger(__name__)

# Discord JSON error codes we act on.
_TOO_LARGE = 40005
_THREAD_ARCHIVED = 50083
_MISSING_ACCESS = {50001, 50013, 10003}  # missing access, missing permissions, unknown channel


class DiscordPresenter:
    """Implements `videobot.jobs.delivery.JobPresenter`, `videobot.campaigns.CampaignPresenter` and
    `videobot.alerts.AlertSink`."""

    def __init__(self, client: discord.Client, catalog: Catalog) -> None:
        self._client = client
        self._catalog = catalog

    async def show_state(self, job: Job) -> None:
        """Edit the status message (state changes only; the runner calls this on transitions)."""
        if job.status_message_id is None or job.status_channel_id is None:
            return
        channel = self._client.get_partial_messageable(job.status_channel_id)
        await channel.get_partial_message(job.status_message_id).edit(embed=status_embed(job, self._catalog))

    async def deliver_file(self, job: Job, video: Path) -> int:
        """Upload the video with a mention of its owner and the result buttons."""
        return await self._post(job, f"<@{job.user_id}> your video #{job.id} is ready.", video=video)

    async def deliver_link(self, job: Job, url: str, expires_at: datetime) -> int:
        """Post the video as a link (Discord plays MP4 links inline) and say when it stops working."""
        content = (
            f"<@{job.user_id}> your video #{job.id} is ready. It is larger than this server's upload "
            f"limit, so here is a link; it stops working {timestamp(expires_at)}, so save it before then.\n"
            f"{url}"
        )
        return await self._post(job, content)

    async def announce_failure(self, job: Job) -> None:
        """Tell the owner what went wrong and that the credits are back."""
        reason = job.failure_reason or "The video could not be made."
        content = (
            f"<@{job.user_id}> video #{job.id} did not work out: {reason} Your {job.cost} credits are back."
        )
        await self._send(job, content, video=None, with_buttons=False, nonce=f"fail{job.id}")

    async def post_gallery_entry(self, job: Job, campaign: Campaign, *, video: Path | None, url: str) -> int:
        """Post an entry in the campaign's gallery, with its vote button."""
        assert campaign.gallery_channel_id is not None and job.id is not None
        content = f"**{campaign.name}** · entry #{job.id} by <@{job.user_id}>\n> {clip(job.prompt, 300)}"
        if video is None:
            content += f"\n{url}"
        channel = self._client.get_partial_messageable(campaign.gallery_channel_id)
        file = discord.File(video, filename=f"entry-{job.id}.mp4") if video else discord.utils.MISSING
        message = await channel.send(
            content,
            file=file,
            view=vote_view(job.id, votes=0),
            nonce=f"gal{job.id}",
            allowed_mentions=discord.AllowedMentions.none(),
        )
        return message.id

    async def announce_campaign_end(self, campaign: Campaign, report: CampaignReport) -> int:
        """Post the summary where the campaign lives: its gallery, else where it was created."""
        channel_id = campaign.gallery_channel_id or campaign.announce_channel_id
        channel = self._client.get_partial_messageable(channel_id)
        message = await channel.send(
            f"**{campaign.name}** has ended. Thank you all!",
            embed=campaign_report_embed(report),
            nonce=f"sum{campaign.id}",
            allowed_mentions=discord.AllowedMentions.none(),
        )
        return message.id

    async def post_alert(self, channel_id: int, text: str) -> None:
        """Post an owner alert (`videobot.alerts.AlertSink`); nobody is pinged."""
        await self._client.get_partial_messageable(channel_id).send(
            text, allowed_mentions=discord.AllowedMentions.none()
        )

    async def _post(self, job: Job, content: str, *, video: Path | None = None) -> int:
        # The nonce makes Discord return the first message if a crashed delivery is retried.
        return await self._send(job, content, video=video, with_buttons=True, nonce=f"job{job.id}")

    async def _send(
        self, job: Job, content: str, *, video: Path | None, with_buttons: bool, nonce: str
    ) -> int:
        """Post in the job's thread, falling back to its channel; the message id."""
        targets = [job.thread_id, job.channel_id] if job.thread_id else [job.channel_id]
        last_error: discord.HTTPException | None = None
        for target in dict.fromkeys(targets):
            channel = self._client.get_partial_messageable(target)
            for _attempt in range(2):
                # A fresh File each attempt: discord.py closes the one it sent.
                file = discord.File(video, filename=f"video-{job.id}.mp4") if video else discord.utils.MISSING
                try:
                    message = await channel.send(
                        content,
                        file=file,
                        view=result_view(job.id) if with_buttons else discord.utils.MISSING,
                        nonce=nonce,
                        allowed_mentions=discord.AllowedMentions(users=[discord.Object(job.user_id)]),
                    )
                except discord.HTTPException as exc:
                    last_error = exc
                    if exc.code == _TOO_LARGE or exc.status == 413:
                        raise UploadTooLarge(str(exc)) from exc
                    if exc.code == _THREAD_ARCHIVED and await self._unarchive(target):
                        continue
                    if exc.code in _MISSING_ACCESS or exc.status in (403, 404):
                        log.info("job %s: cannot post in %s (%s); trying elsewhere", job.id, target, exc.code)
                        break
                    raise DeliveryError(str(exc)) from exc
                return message.id
        raise DeliveryImpossible(str(last_error))

    async def _unarchive(self, thread_id: int) -> bool:
        try:
            await self._client.http.edit_channel(thread_id, archived=False)
        except discord.HTTPException:
            return False
        return True
