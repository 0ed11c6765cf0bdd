"""What the job runner needs from the chat side: the interface the Discord layer implements.

The runner never imports discord; it calls these methods with job rows and files.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import aiohttp

from storage.tables import Campaign, Job

# Errors of a connection itself (reset, refused, timed out), from the chat service's client or the
# provider's: the same call may work later.
NETWORK_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class DeliveryError(Exception):
    """Posting failed in a way that retrying later may fix (chat service down, rate limited)."""


class UploadTooLarge(DeliveryError):
    """The chat service refused the file as too large: post a link instead."""


class DeliveryImpossible(DeliveryError):
    """The destination is gone or forbidden for good (channel deleted, permissions removed)."""


@dataclass(frozen=True)
class FoundDelivery:
    """A result (and gallery entry) already posted for a job: the message ids, None where none is."""

    result_message_id: int | None
    gallery_message_id: int | None


class JobPresenter(Protocol):
    """Shows a job's progress and result to its owner."""

    async def show_state(self, job: Job) -> None:
        """Have the job's status message show its current state (best effort, in the background)."""

    async def deliver_file(self, job: Job, video: Path) -> int:
        """Post the video file with a mention of the owner; return the message id.

        Must be idempotent per job (a retried delivery must not post twice).
        Raises `UploadTooLarge`, `DeliveryImpossible` or `DeliveryError`.
        """

    async def deliver_link(self, job: Job, url: str, expires_at: datetime) -> int:
        """Post a link to the video (too large to upload) saying when it expires; return the message id."""

    async def announce_failure(self, job: Job) -> None:
        """Tell the owner the job failed or timed out and that the credits are back.

        Raises `DeliveryError` when it may work later, `DeliveryImpossible` when nowhere reaches them.
        """

    async def find_delivery(self, job: Job, gallery_channel_id: int | None) -> FoundDelivery:
        """The job's result and gallery entry if a previous attempt already posted them.

        Raises `DeliveryError` when the chat cannot be read now.
        """

    async def post_gallery_entry(self, job: Job, campaign: Campaign, *, video: Path | None, url: str) -> int:
        """Post a campaign entry in the campaign's gallery with a vote button; return the message id.

        ``video`` is the file when it could be uploaded, else ``url`` is the link. Idempotent per job.
        """
