"""Running campaigns: creating and ending them (moderators), joining, the overview, and votes.

A campaign wallet is a ledger account like any other (``account.wallet`` = the campaign's id), so
every credit a campaign gives, spends, refunds or voids goes through `storage.ledger.move_credits`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from storage import campaigns as queries
from storage import ledger
from storage.engine import SessionFactory
from storage.states import EntryKind
from storage.tables import Campaign, Job
from storage.types import utcnow
from videobot.campaigns import lookup
from videobot.campaigns.refusals import CampaignError
from videobot.campaigns.timing import CampaignStatus, looks_relative, parse_when, status_of
from videobot.catalog import Catalog, UnknownModel
from videobot.maxima import MAX_CAMPAIGN_ENTRIES, MAX_CREDITS
from videobot.moderation import check_not_blocked

log = logging.getLogger(__name__)

NAME_MAX = 100
THEME_MAX = 300


@dataclass(frozen=True)
class CampaignSpec:
    """What a moderator asked for in ``/campaign create``."""

    name: str
    ends: str
    credits_per_member: int
    starts: str | None = None
    allowed_models: str | None = None  # comma-separated ids; None: all
    prompt_prefix: str | None = None
    prompt_suffix: str | None = None
    gallery_channel_id: int | None = None
    budget: int | None = None
    max_entries_per_member: int | None = None


@dataclass(frozen=True)
class JoinResult:
    """What joining gave the member."""

    campaign: Campaign
    credits: int
    already_joined: bool


@dataclass(frozen=True)
class CampaignOverview:
    """A campaign as one member sees it."""

    campaign: Campaign
    status: CampaignStatus
    wallet: int | None  # the member's campaign credits left; None: not joined
    entries: int  # the member's entries


@dataclass(frozen=True)
class VoteResult:
    """The entry's votes after a press, and whether the member's vote is now counted."""

    votes: int
    counted: bool


class Campaigns:
    """Creating, ending, joining and listing campaigns, and votes for their entries."""

    def __init__(
        self,
        sessions: SessionFactory,
        catalog: Catalog,
        *,
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        # Called when a campaign's end moved (created, ended early): the closer looks again at once.
        self._on_change = on_change
        self._clock = clock

    # -- moderators ---------------------------------------------------------------------------

    async def create(
        self, guild_id: int, *, actor_id: int, announce_channel_id: int, spec: CampaignSpec
    ) -> Campaign:
        """Create a campaign after checking every field; the refusal names what is wrong."""
        try:
            return await self._create(guild_id, actor_id, announce_channel_id, spec)
        except CampaignError as exc:
            raise CampaignError(f"{exc} Nothing was created.") from None

    async def _create(
        self, guild_id: int, actor_id: int, announce_channel_id: int, spec: CampaignSpec
    ) -> Campaign:
        now = self._clock()
        name = " ".join(spec.name.split())
        if not name or len(name) > NAME_MAX:
            raise CampaignError(f"A campaign needs a name of 1 to {NAME_MAX} characters.")
        starts = parse_when(spec.starts, now) if spec.starts else now
        ends = parse_when(spec.ends, starts if looks_relative(spec.ends) else now)
        if ends <= starts:
            raise CampaignError("The campaign must end after it starts.")
        if ends <= now:
            raise CampaignError("The campaign's end is already in the past.")
        if not 0 <= spec.credits_per_member <= MAX_CREDITS:
            raise CampaignError(f"Credits per participant must be between 0 and {MAX_CREDITS:,}.")
        for value, what, most in (
            (spec.budget, "budget", MAX_CREDITS),
            (spec.max_entries_per_member, "entries per member", MAX_CAMPAIGN_ENTRIES),
        ):
            if value is not None and not 1 <= value <= most:
                raise CampaignError(f"The {what} must be between 1 and {most:,} (or left out).")
        models = self._check_models(spec.allowed_models)
        for theme in (spec.prompt_prefix, spec.prompt_suffix):
            if theme and len(theme) > THEME_MAX:
                raise CampaignError(f"A prompt prefix or suffix can be at most {THEME_MAX} characters.")
        campaign = Campaign(
            guild_id=guild_id,
            name=name,
            name_key=name.casefold(),
            starts_at=starts,
            ends_at=ends,
            credits_per_member=spec.credits_per_member,
            allowed_models=models,
            prompt_prefix=(spec.prompt_prefix or "").strip() or None,
            prompt_suffix=(spec.prompt_suffix or "").strip() or None,
            gallery_channel_id=spec.gallery_channel_id,
            announce_channel_id=announce_channel_id,
            budget=spec.budget,
            max_entries_per_member=spec.max_entries_per_member,
            created_by=actor_id,
            created_at=now,
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(campaign)
        except IntegrityError:
            raise CampaignError(f"This server already has a campaign called “{name}”.") from None
        log.info("campaign %s (%s) created in guild %s by %s", campaign.id, name, guild_id, actor_id)
        self._on_change()
        return campaign

    async def end_now(self, guild_id: int, name: str, *, actor_id: int) -> Campaign:
        """End a running or upcoming campaign now; the watcher closes it at once."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            campaign = await lookup.named(session, guild_id, name)
            if status_of(campaign, now) is CampaignStatus.ENDED:
                raise CampaignError(f"“{campaign.name}” has already ended.")
            campaign.ends_at = now
            campaign.starts_at = min(campaign.starts_at, now)
            session.add(campaign)
        log.info("campaign %s ended early by %s", campaign.id, actor_id)
        self._on_change()
        return campaign

    def _check_models(self, text: str | None) -> list[str]:
        if not text or not text.strip() or text.strip().lower() == "all":
            return []
        models = []
        for part in re.split(r"[,\s]+", text.strip()):
            if not part:
                continue
            try:
                models.append(self._catalog.get(part).id)
            except UnknownModel as exc:
                raise CampaignError(str(exc)) from None
        return sorted(set(models))

    # -- members ------------------------------------------------------------------------------

    async def join(self, guild_id: int, user_id: int, name: str | None) -> JoinResult:
        """Give the member the campaign's credits, once, in the campaign wallet (not to a member a
        moderator blocked)."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            await check_not_blocked(session, guild_id=guild_id, user_id=user_id, now=now)
            campaign = await lookup.pick(session, guild_id, name, now, statuses=(CampaignStatus.RUNNING,))
            assert campaign.id is not None
            existing = await queries.wallet_id(
                session, guild_id=guild_id, user_id=user_id, campaign_id=campaign.id
            )
            if existing is not None:
                return JoinResult(campaign, 0, already_joined=True)
            account_id = await ledger.ensure_account(
                session, guild_id=guild_id, user_id=user_id, starting_balance=0, at=now, wallet=campaign.id
            )
            if campaign.credits_per_member:
                await ledger.move_credits(
                    session,
                    account_id=account_id,
                    amount=campaign.credits_per_member,
                    kind=EntryKind.CAMPAIGN,
                    reason=f"joined {campaign.name}",
                    at=now,
                )
        log.info("member %s joined campaign %s", user_id, campaign.id)
        return JoinResult(campaign, campaign.credits_per_member, already_joined=False)

    async def overview(self, guild_id: int, user_id: int) -> list[CampaignOverview]:
        """Every campaign of the server, running first, with the member's wallet and entries."""
        now = self._clock()
        async with self._sessions() as session:
            rows = []
            for campaign in await queries.guild_campaigns(session, guild_id=guild_id):
                assert campaign.id is not None
                wallet = await queries.wallet_balance(
                    session, guild_id=guild_id, user_id=user_id, campaign_id=campaign.id
                )
                entries = await queries.count_entries(session, campaign_id=campaign.id, user_id=user_id)
                rows.append(CampaignOverview(campaign, status_of(campaign, now), wallet, entries))
        order = {CampaignStatus.RUNNING: 0, CampaignStatus.UPCOMING: 1, CampaignStatus.ENDED: 2}
        return sorted(rows, key=lambda r: (order[r.status], r.campaign.ends_at))

    async def find(self, guild_id: int, name: str | None) -> Campaign:
        """A campaign by name, or without a name the one running (or the latest) in the server."""
        async with self._sessions() as session:
            return await lookup.pick(session, guild_id, name, self._clock(), statuses=tuple(CampaignStatus))

    # -- votes --------------------------------------------------------------------------------

    async def vote(self, job_id: int, voter_id: int) -> VoteResult:
        """Toggle a member's vote for an entry: one per member, never for one's own entry, not by a
        member a moderator blocked."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            job = await session.get(Job, job_id)
            if job is None or job.campaign_id is None:
                raise CampaignError("That video is not a campaign entry.")
            await check_not_blocked(session, guild_id=job.guild_id, user_id=voter_id, now=now)
            campaign = await session.get(Campaign, job.campaign_id)
            assert campaign is not None
            if campaign.closed_at is not None:
                raise CampaignError(f"Voting in “{campaign.name}” has closed.")
            if job.user_id == voter_id:
                raise CampaignError("You can't vote for your own entry.")
            counted = await queries.toggle_vote(session, job_id=job_id, voter_id=voter_id, at=now)
            votes = await queries.count_votes(session, job_id=job_id)
        return VoteResult(votes, counted)
