"""A campaign in time: reading the times moderators type, and where a campaign stands now."""

from __future__ import annotations

import contextlib
import enum
import re
from datetime import UTC, datetime, timedelta

from storage.tables import Campaign
from videobot.campaigns.refusals import CampaignError
from videobot.maxima import MAX_CAMPAIGN_DAYS

_RELATIVE = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
# Larger numbers than this (in weeks, days, hours or minutes) are all "too far ahead"; clipping them
# first keeps `timedelta` from overflowing on "999999999d".
_FAR = 100_000
_ABSOLUTE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


class CampaignStatus(enum.StrEnum):
    """Where a campaign is in time."""

    UPCOMING = "upcoming"
    RUNNING = "running"
    ENDED = "ended"


def status_of(campaign: Campaign, now: datetime) -> CampaignStatus:
    """Upcoming before its start, running in its window, ended after it (or once closed)."""
    if campaign.closed_at is not None or now >= campaign.ends_at:
        return CampaignStatus.ENDED
    return CampaignStatus.UPCOMING if now < campaign.starts_at else CampaignStatus.RUNNING


def parse_when(text: str, now: datetime) -> datetime:
    """A moment from ``now``, a relative time (``2h``, ``7d``, ``1d12h``, ``90m``, ``1w``) or an
    absolute UTC date and time (``2026-10-31 18:00``, ``2026-10-31``, or ISO 8601 with an offset)."""
    value = text.strip().lower().replace(" ", "") if looks_relative(text) else text.strip()
    if value.lower() == "now":
        return now
    match = _RELATIVE.fullmatch(value)
    if match and any(match.groups()):
        weeks, days, hours, minutes = (int(g) if g else 0 for g in match.groups())
        total = timedelta(weeks=min(weeks, _FAR), days=min(days, _FAR), hours=min(hours, _FAR * 24))
        return _within_reach(text, now, now + total + timedelta(minutes=min(minutes, _FAR * 1440)))
    with contextlib.suppress(ValueError):
        parsed = datetime.fromisoformat(value)
        return _within_reach(
            text, now, parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        )
    for fmt in _ABSOLUTE_FORMATS:
        with contextlib.suppress(ValueError):
            parsed = datetime.strptime(value.removesuffix(" UTC"), fmt).replace(tzinfo=UTC)
            return _within_reach(text, now, parsed)
    raise CampaignError(
        f"I can't read the time `{text}`. Use a relative time like `2h`, `7d` or `1d12h`, "
        "or a UTC date and time like `2026-10-31 18:00`."
    )


def _within_reach(text: str, now: datetime, when: datetime) -> datetime:
    if when - now > timedelta(days=MAX_CAMPAIGN_DAYS):
        raise CampaignError(
            f"`{text}` is too far ahead: a campaign is at most {MAX_CAMPAIGN_DAYS} days away."
        )
    return when


def looks_relative(text: str) -> bool:
    """Whether the text is a relative time (``2h``, ``1d12h``) rather than a date."""
    return bool(re.fullmatch(r"[\d\swdhm]+", text.strip().lower()))
