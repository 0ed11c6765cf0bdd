"""Finding the campaign a command or an entry names (names are unique per server, ignoring case)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import campaigns as queries
from storage.tables import Campaign
from videobot.campaigns.refusals import CampaignError
from videobot.campaigns.timing import CampaignStatus, status_of


async def named(session: AsyncSession, guild_id: int, name: str) -> Campaign:
    """The server's campaign called ``name`` (ignoring case and spacing), or a refusal listing them."""
    campaign = await queries.by_name(session, guild_id=guild_id, name_key=" ".join(name.split()).casefold())
    if campaign is None:
        names = [c.name for c in await queries.guild_campaigns(session, guild_id=guild_id)]
        known = f" Campaigns here: {', '.join(names)}." if names else " This server has no campaigns yet."
        raise CampaignError(f"There is no campaign called “{name}”.{known}")
    return campaign


async def pick(
    session: AsyncSession,
    guild_id: int,
    name: str | None,
    now: datetime,
    *,
    statuses: Sequence[CampaignStatus],
) -> Campaign:
    """The named campaign if it is in one of ``statuses``; without a name, the one running (or the
    latest of those in ``statuses``). A refusal says why there is none."""
    if name:
        campaign = await named(session, guild_id, name)
        if status_of(campaign, now) not in statuses:
            state = status_of(campaign, now)
            when = "has not started yet" if state is CampaignStatus.UPCOMING else "has ended"
            raise CampaignError(f"“{campaign.name}” {when}.")
        return campaign
    candidates = [
        c for c in await queries.guild_campaigns(session, guild_id=guild_id) if status_of(c, now) in statuses
    ]
    running = [c for c in candidates if status_of(c, now) is CampaignStatus.RUNNING]
    if len(running) == 1:
        return running[0]
    if len(running) > 1:
        raise CampaignError(f"Several campaigns are running: {', '.join(c.name for c in running)}. Name one.")
    if candidates:
        return max(candidates, key=lambda c: c.ends_at)
    raise CampaignError("No campaign is running in this server right now.")
