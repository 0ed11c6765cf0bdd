"""The Discord side of job delivery: status edits, the video upload, links and failure notes.

Everything here uses the bot token (never the interaction token, which dies after 15 minutes), so a
job that rendered for an hour is still delivered. Status edits run in the background, one job at a
time and only the latest state, so Discord's rate limits on edits never hold up a delivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import discord

from cogs.ui.buttons import result_view, vote_view
from cogs.ui.embeds import Phase, StatusView, campaign_report_embed, clip, escape, status_embed, timestamp
from videobot.campaigns import Campaign, CampaignReport
from videobot.catalog import Catalog
from videobot.jobs import Job
from videobot.jobs.delivery import (
    NETWORK_ERRORS,
    DeliveryError,
    DeliveryImpossible,
    FoundDelivery,
    UploadTooLarge,
)
from videobot.moderation import DeletedVideo

log = logging.getLogger(__name__)

# Discord JSON error codes we act on.
_TOO_LARGE = 40005
_THREAD_ARCHIVED = 50083
_MISSING_ACCESS = {50001, 50013, 10003}  # missing access, missing permissions, unknown channel
_UNKNOWN_MESSAGE = 10008
# A final state that cannot be shown (rate limits, outages) is tried again this often before giving up.
FINAL_EDIT_ATTEMPTS = 8
# How far back in a thread to look for a delivery that may already have been posted.
HISTORY_SCAN = 50


class DiscordPresenter:
    """Implements `videobot.jobs.delivery.JobPresenter`, `videobot.campaigns.CampaignPresenter` and
    `videobot.alerts.AlertSink`."""

    def __init__(self, client: discord.Client, catalog: Catalog, *, retry_base: float = 1.0) -> None:
        self._client = client
        self._catalog = catalog
        self._retry_base = retry_base
        # The newest state waiting to be shown, and the task showing it, per job.
        self._pending: dict[int, Job] = {}
        self._editors: dict[int, asyncio.Task[None]] = {}
        # What each unfinished job's status message shows now, so that no edit repeats it.
        self._last_phase: dict[int, Phase] = {}
        # Whether submitting is paused (the ModelsLab account has no funds): waiting jobs say so.
        self.paused: Callable[[], bool] = lambda: False

    def shown(self, job_id: int, phase: Phase) -> None:
        """The status message was posted showing ``phase`` (by the command that made the job)."""
        self._last_phase[job_id] = phase

    async def show_state(self, job: Job) -> None:
        """Have the status message show the job's state, in the background; returns at once.

        Only the newest state is shown when several arrive during one edit; a final state is tried
        again through rate limits and outages, an intermediate one is not.
        """
        if job.status_message_id is None or job.status_channel_id is None or job.id is None:
            return
        phase = Phase.of(job)
        if phase is not Phase.ENDED and self._last_phase.get(job.id) is phase:
            return  # already showing it: "sending" and "uploading" read "rendering" too
        self._pending[job.id] = job
        if job.id not in self._editors:
            self._editors[job.id] = asyncio.create_task(
                self._edit_until_shown(job.id), name=f"status-{job.id}"
            )

    async def close(self, *, grace: float = 5.0) -> None:
        """Give pending status edits a moment to finish, then stop them (at shutdown)."""
        editors = list(self._editors.values())
        if editors:
            _done, late = await asyncio.wait(editors, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _edit_until_shown(self, job_id: int) -> None:
        failures = 0
        try:
            while (job := self._pending.pop(job_id, None)) is not None:
                try:
                    await self._edit_status(job)
                    failures = 0
                    phase = Phase.of(job)
                    if phase is Phase.ENDED:
                        self._last_phase.pop(job_id, None)
                    else:
                        self._last_phase[job_id] = phase
                except discord.NotFound:
                    log.info("job %s: its status message is gone; not showing its state", job_id)
                    return
                except (discord.HTTPException, *NETWORK_ERRORS) as exc:
                    failures += 1
                    if not job.state.is_final or failures >= FINAL_EDIT_ATTEMPTS:
                        log.warning("job %s: status not shown (%s)", job_id, exc)
                        continue
                    self._pending.setdefault(job_id, job)  # unless a newer state arrived meanwhile
                    await asyncio.sleep(self._retry_base * 2 ** min(failures, 6))
        finally:
            self._editors.pop(job_id, None)

    async def _edit_status(self, job: Job) -> None:
        assert job.status_channel_id is not None and job.status_message_id is not None
        channel = self._client.get_partial_messageable(job.status_channel_id)
        view = replace(StatusView.for_job(job, self._catalog), paused=self.paused())
        embed = status_embed(job, self._catalog, view=view)
        await channel.get_partial_message(job.status_message_id).edit(embed=embed)

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
        """Tell the owner what went wrong and that the credits are back: in the thread, else the
        channel, else in a direct message."""
        reason = job.failure_reason or "The video could not be made."
        opening = f"<@{job.user_id}> video #{job.id} did not work out"
        content = f"{opening}: {reason} Your {job.cost} credits are back."
        # A process may have died after Discord took the note and before it was recorded; resumed
        # after the nonce window, only the thread's history tells.
        for target in _targets(job):
            if await self._find_own_message(target, lambda m: m.content.startswith(opening)) is not None:
                log.info("job %s: the failure note was already posted", job.id)
                return
        try:
            await self._send(job, content, video=None, with_buttons=False, nonce=f"fail{job.id}")
        except DeliveryImpossible:
            await self._direct_message(job, content)

    async def find_delivery(self, job: Job, gallery_channel_id: int | None) -> FoundDelivery:
        """Look for the job's result (and gallery entry) among the bot's recent messages.

        Discord's nonce stops a repeated post for a few minutes only; a job resumed later asks here
        before posting again. The bot's own buttons carry the job id, which marks its messages.
        """
        result = None
        for target in _targets(job):
            result = await self._find_own_message(target, _has_button(f"video:delete:{job.id}"))
            if result is not None:
                break
        gallery = None
        if gallery_channel_id is not None:
            gallery = await self._find_own_message(gallery_channel_id, _has_button(f"campaign:vote:{job.id}"))
        return FoundDelivery(result, gallery)

    async def post_gallery_entry(self, job: Job, campaign: Campaign, *, video: Path | None, url: str) -> int:
        """Post an entry in the campaign's gallery, with its vote button."""
        assert campaign.gallery_channel_id is not None and job.id is not None
        name, prompt = escape(campaign.name), clip(escape(job.prompt), 300)
        content = f"**{name}** · entry #{job.id} by <@{job.user_id}>\n> {prompt}"
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
            f"**{escape(campaign.name)}** has ended. Thank you all!",
            embed=campaign_report_embed(report),
            nonce=f"sum{campaign.id}",
            allowed_mentions=discord.AllowedMentions.none(),
        )
        return message.id

    async def _find_own_message(
        self, channel_id: int, matches: Callable[[discord.Message], bool]
    ) -> int | None:
        """The newest of the bot's recent messages in the channel for which ``matches`` holds."""
        channel = self._client.get_partial_messageable(channel_id)
        me = self._client.user
        try:
            async for message in channel.history(limit=HISTORY_SCAN):
                if me is not None and message.author.id != me.id:
                    continue
                if matches(message):
                    return message.id
        except discord.HTTPException as exc:
            if exc.code in _MISSING_ACCESS or exc.status in (403, 404):
                return None  # nothing can have been posted where the bot cannot read
            raise DeliveryError(f"could not read channel {channel_id}: {exc}") from exc
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"could not read channel {channel_id}: {exc!r}") from exc
        return None

    async def _direct_message(self, job: Job, content: str) -> None:
        try:
            user = self._client.get_user(job.user_id) or await self._client.fetch_user(job.user_id)
            await user.send(content, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            raise DeliveryImpossible(
                f"no channel, thread or direct message reaches the owner: {exc}"
            ) from exc
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"direct message failed: {exc!r}") from exc

    async def remove_video(self, deleted: DeletedVideo) -> None:
        """Remove a deleted video from Discord: its message and gallery post (raises if Discord refuses,
        so that the member hears it and can press again), then, best effort, say "deleted" on its
        status message and in its thread's name (both showed the prompt)."""
        job = deleted.job
        if job.result_message_id:
            await self._delete_message(job.result_message_id, [job.thread_id, job.channel_id])
        if job.gallery_message_id and deleted.gallery_channel_id:
            await self._delete_message(job.gallery_message_id, [deleted.gallery_channel_id])
        try:
            await self.show_state(job)
        except discord.HTTPException:
            log.warning("job %s: could not mark its status message deleted", job.id, exc_info=True)
        # A thread opened from the status message has its id and is named after the prompt; a thread
        # the member was already in is theirs and keeps its name.
        if job.thread_id is not None and job.thread_id == job.status_message_id:
            try:
                await self._client.http.edit_channel(job.thread_id, name=f"Video #{job.id} · deleted")
            except discord.HTTPException:
                log.warning("job %s: could not rename its thread", job.id, exc_info=True)

    async def _delete_message(self, message_id: int, channel_ids: list[int | None]) -> None:
        """Delete a message that is in one of ``channel_ids``; already gone counts as deleted."""
        for channel_id in dict.fromkeys(c for c in channel_ids if c is not None):
            message = self._client.get_partial_messageable(channel_id).get_partial_message(message_id)
            for _attempt in range(2):
                try:
                    await message.delete()
                except discord.NotFound:
                    break  # not in this channel (or already deleted): look in the next one
                except discord.HTTPException as exc:
                    if exc.code == _THREAD_ARCHIVED and await self._unarchive(channel_id):
                        continue
                    raise
                return

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
        last_error: discord.HTTPException | None = None
        for target in _targets(job):
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
                    if exc.code == _THREAD_ARCHIVED:
                        if await self._unarchive(target):
                            continue
                        log.info("job %s: thread %s is archived and locked; trying elsewhere", job.id, target)
                        break
                    if exc.code in _MISSING_ACCESS or exc.status in (403, 404):
                        log.info("job %s: cannot post in %s (%s); trying elsewhere", job.id, target, exc.code)
                        break
                    raise DeliveryError(str(exc)) from exc
                except NETWORK_ERRORS as exc:
                    raise DeliveryError(f"posting failed: {exc!r}") from exc
                return message.id
        raise DeliveryImpossible(str(last_error))

    async def _unarchive(self, thread_id: int) -> bool:
        try:
            await self._client.http.edit_channel(thread_id, archived=False)
        except discord.HTTPException:
            return False
        return True


def _targets(job: Job) -> list[int]:
    """Where a job's messages go: its thread, then its channel."""
    return list(dict.fromkeys([job.thread_id, job.channel_id] if job.thread_id else [job.channel_id]))


def _has_button(custom_id: str) -> Callable[[discord.Message], bool]:
    """A message carrying the button with this custom id (the bot's buttons name their job)."""
    return lambda message: any(getattr(c, "custom_id", None) == custom_id for c in _walk(message.components))


def _walk(components: list[discord.Component]) -> list[discord.Component]:
    """Every component of a message, rows opened up."""
    found: list[discord.Component] = []
    for component in components:
        found.append(component)
        found.extend(_walk(list(getattr(component, "children", []))))
    return found
