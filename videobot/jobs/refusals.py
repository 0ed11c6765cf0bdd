"""Why a video job is refused: each text is the member's message, and nothing was charged."""

from __future__ import annotations

from datetime import datetime

from storage.tables import Job
from videobot.errors import Refused


class JobError(Refused):
    """A job refused for a reason of its own (nothing was charged)."""


class NotEnoughCredits(JobError):
    """The member cannot pay; nothing was charged."""

    def __init__(self, balance: int, cost: int, campaign_credits: int = 0) -> None:
        have = (
            f"{balance}"
            if not campaign_credits
            else f"{campaign_credits} campaign credits and {balance} of your own"
        )
        super().__init__(
            f"This video costs {cost} credits and you have {have}. Nothing was charged; "
            "ask a moderator for credits or pick a shorter or cheaper option."
        )
        self.balance = balance
        self.cost = cost


class ChannelNotAllowed(JobError):
    """Videos may not be made in this channel; ``allowed`` are the channels where they may."""

    def __init__(self, allowed: list[int]) -> None:
        super().__init__("Videos can't be made here.")
        self.allowed = allowed


class CapReached(JobError):
    """A daily credit cap (the server's or the bot owner's) is reached; it resets at ``resets_at``."""

    def __init__(self, message: str, resets_at: datetime) -> None:
        super().__init__(message)
        self.resets_at = resets_at


class CooldownActive(JobError):
    """The member made a video moments ago; the next one may start at ``ready_at``."""

    def __init__(self, ready_at: datetime) -> None:
        super().__init__("You just made a video. Nothing was charged; you can make the next one")
        self.ready_at = ready_at


class DuplicateRequest(JobError):
    """The same interaction arrived twice; the first one's job stands and was charged once."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"This request was already accepted as job #{job.id}; it was charged once.")
        self.job = job
