"""The states and kinds stored in the database, shared by every layer that reads or writes them.

They live in `storage` (the bottom layer) so that queries, the domain and the Discord side all use the
same enum instead of spelling ``"delivered"`` by hand.
"""

from __future__ import annotations

import enum


class JobState(enum.StrEnum):
    """Where a job is in its life. Stored as text in ``job.state``."""

    QUEUED = "queued"  # charged, waiting for a provider slot
    SUBMITTING = "submitting"  # being sent to ModelsLab
    PROCESSING = "processing"  # rendering at ModelsLab
    DELIVERING = "delivering"  # rendered; being downloaded and posted
    DELIVERED = "delivered"
    FAILED = "failed"  # refunded
    CANCELLED = "cancelled"  # refunded
    TIMED_OUT = "timed_out"  # refunded

    @property
    def is_final(self) -> bool:
        """True once nothing more will happen to the job."""
        return self in FINAL_STATES

    @property
    def label(self) -> str:
        """The state in words for members."""
        return _LABELS[self]


FINAL_STATES = frozenset({JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED, JobState.TIMED_OUT})
# Ended with the credits given back; such a job does not count as spending or as a campaign entry.
REFUNDED_STATES = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.TIMED_OUT})
# Occupying a slot of the provider's queue.
AT_PROVIDER = (JobState.SUBMITTING, JobState.PROCESSING)
# Worked on by a process holding a lease; resumed by another when that lease expires.
RESUMABLE = (JobState.SUBMITTING, JobState.PROCESSING, JobState.DELIVERING)
# Not ended yet.
ACTIVE_STATES = (JobState.QUEUED, *RESUMABLE)

_LABELS = {
    JobState.QUEUED: "Waiting in line",
    JobState.SUBMITTING: "Sending to the renderer",
    JobState.PROCESSING: "Rendering",
    JobState.DELIVERING: "Uploading the video",
    JobState.DELIVERED: "Done",
    JobState.FAILED: "Failed (refunded)",
    JobState.CANCELLED: "Cancelled (refunded)",
    JobState.TIMED_OUT: "Timed out (refunded)",
}


class EntryKind(enum.StrEnum):
    """Why a balance changed. Stored as text in ``ledger_entry.kind``."""

    START = "start"  # the server's starting balance, on a member's first action
    DEBIT = "debit"  # a job was charged
    REFUND = "refund"  # a job failed, timed out or was cancelled
    GRANT = "grant"  # a moderator added credits
    REVOKE = "revoke"  # a moderator took credits
    SET = "set"  # a moderator set the balance
    ALLOWANCE = "allowance"  # the daily allowance
    CAMPAIGN = "campaign"  # a campaign's credits, given on joining (campaign wallet)
    EXPIRE = "expire"  # campaign credits left when the campaign ended (campaign wallet)


class AllowanceMode(enum.StrEnum):
    """How a server's daily allowance works. Stored as text in ``guild_settings.allowance_mode``."""

    OFF = "off"
    FLOOR = "floor"  # top the balance up to the amount
    ADD = "add"  # add the amount each day, up to a cap

    def describe(self, amount: int, cap: int | None) -> str:
        """The mode in words, for settings displays."""
        if self is AllowanceMode.FLOOR:
            return f"tops balances up to {amount} credits each day"
        if self is AllowanceMode.ADD:
            limit = f", up to {cap}" if cap is not None else ""
            return f"adds {amount} credits each day{limit}"
        return "off"


class ModerationActionKind(enum.StrEnum):
    """What a moderator did. Stored as text in ``moderation_action.action``."""

    BLOCKLIST_ADD = "blocklist_add"  # a term was added to the server's blocked terms
    BLOCKLIST_REMOVE = "blocklist_remove"
    BLOCK = "block"  # a member was blocked from the bot (``expires_at``: until when; None: until lifted)
    UNBLOCK = "unblock"
    DELETE_VIDEO = "delete_video"  # a moderator deleted a member's video
    DISMISS_REPORT = "dismiss_report"  # a moderator dismissed a member's report of a video


class ReportStatus(enum.StrEnum):
    """Where a member's report of a video stands. Stored as text in ``video_report.status``."""

    OPEN = "open"  # waiting for a moderator
    DELETED = "deleted"  # a moderator deleted the video
    DISMISSED = "dismissed"  # a moderator found nothing wrong
