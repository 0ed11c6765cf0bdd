"""Why moderation refuses something: each text is the complete message for the member or moderator."""

from __future__ import annotations

from datetime import datetime

from videobot.errors import Refused


class ModerationError(Refused):
    """A refused moderation action (bad term, nobody to unblock, a report already handled...)."""


class TermNotAllowed(Refused):
    """A prompt, negative prompt or campaign theme contains one of the server's blocked terms.

    The member's message never names the term (that would teach how to get around it); ``term`` is
    for the moderators' audit line only, and ``part`` says where it was found.
    """

    def __init__(self, *, term: str, part: str, campaign: str | None = None) -> None:
        if campaign is not None:
            message = (
                f"The theme of “{campaign}” contains a term this server does not allow, so it takes no "
                "entries for now; tell a moderator. Nothing was charged."
            )
        else:
            message = (
                f"The {part} contains a term this server does not allow. Nothing was charged; "
                "change it and try again."
            )
        super().__init__(message)
        self.term = term
        self.part = part


class MemberBlocked(Refused):
    """A moderator blocked the member from the bot in this server, until ``until`` (None: until lifted)."""

    def __init__(self, until: datetime | None) -> None:
        super().__init__(self.describe(f"{until:%Y-%m-%d %H:%M} UTC" if until else None))
        self.until = until

    @staticmethod
    def describe(until: str | None) -> str:
        """The member's message, with ``until`` written as the front end shows times."""
        when = f"until {until}" if until else "until a moderator lifts the block"
        return (
            f"A moderator has blocked you from the video bot in this server {when}: no videos, "
            "re-rolls, campaign joins or votes. Nothing was charged or changed."
        )
