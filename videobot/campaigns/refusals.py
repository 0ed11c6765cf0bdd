"""Why a campaign action is refused: each text is the message for the member or moderator."""

from __future__ import annotations

from videobot.errors import Refused


class CampaignError(Refused):
    """A refused campaign action; ``str()`` is the message, and nothing was changed."""
