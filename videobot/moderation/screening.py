"""The blocked-terms check a new job passes, inside the transaction that would charge it."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import moderation as queries
from storage.tables import Campaign
from videobot.moderation.blocklist import find_term
from videobot.moderation.refusals import TermNotAllowed


async def check_terms(
    session: AsyncSession,
    *,
    guild_id: int,
    prompt: str,
    negative_prompt: str | None,
    campaign: Campaign | None = None,
    themed_prompt: str | None = None,
) -> None:
    """Refuse (`TermNotAllowed`) a job whose prompt, negative prompt or campaign theme contains one of
    the server's blocked terms, as the list stands now (a re-roll applies today's list).

    ``themed_prompt`` is the prompt with the campaign's theme added, checked whole so that a phrase
    that only appears once the theme is added is found too.
    """
    terms = await queries.term_keys(session, guild_id=guild_id)
    if not terms:
        return
    parts: list[tuple[str, str | None]] = [("prompt", prompt), ("negative prompt", negative_prompt)]
    for part, text in parts:
        found = find_term(text, terms) if text else None
        if found is not None:
            raise TermNotAllowed(term=found, part=part)
    if campaign is not None and themed_prompt:
        found = find_term(themed_prompt, terms)
        if found is not None:
            raise TermNotAllowed(term=found, part="campaign theme", campaign=campaign.name)
