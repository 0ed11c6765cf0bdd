"""What a new job is made from, and what the member hears when it is accepted."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from storage.tables import Campaign, Job
from videobot.catalog import ValidatedVideo


@dataclass(frozen=True)
class InputFile:
    """A checked file for a job (``role`` is ``init_image`` or ``init_audio``): bytes a member just
    attached, or (``data`` None) a file already stored, which a re-roll uses again."""

    role: str
    mime: str
    filename: str
    sha256: str
    data: bytes | None = field(default=None, repr=False)

    @classmethod
    def attached(cls, role: str, mime: str, filename: str, data: bytes) -> InputFile:
        """A file a member attached, identified by its content."""
        return cls(role, mime, filename, hashlib.sha256(data).hexdigest(), data)


@dataclass(frozen=True)
class JobRequest:
    """Everything needed to charge for and queue one job."""

    interaction_id: int
    guild_id: int
    channel_id: int
    user_id: int
    video: ValidatedVideo
    upload_limit: int
    inputs: tuple[InputFile, ...] = ()
    reroll_of: int | None = None
    role_ids: tuple[int, ...] = ()
    campaign: str | None = None  # the campaign the member named for this entry


@dataclass(frozen=True)
class CreatedJob:
    """A job just accepted, with what the member needs to hear about it."""

    job: Job
    balance_after: int
    queue_position: int  # 1: the next job to be sent to the provider
    at_provider: int = 0  # jobs at the provider when this one was accepted
    campaign: Campaign | None = None
    from_campaign: int = 0  # credits taken from the campaign wallet (the rest from own credits)
