"""Server event campaigns: a time window, a wallet of credits per participant (spent before their own
credits and void at the end), rules for entries, a gallery with votes, and a report.

A campaign wallet is a ledger account like any other (``account.wallet`` = the campaign's id), so
every credit a campaign gives, spends, refunds or voids goes through `storage.ledger.move_credits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import enum
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import campaigns as queries
from storage import ledger
from storage.engine import SessionFactory
from storage.ledger import EntryKind
from storage.tables import Campaign, Job
from storage.types import utcnow
from videobot.catalog import Catalog, UnknownModel, ValidatedVideo

log = logging.getLogger(__name__)

NAME_MAX = 100
THEME_MAX = 300
TOP_ENTRIES = 5
_RELATIVE = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_ABSOLUTE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


class CampaignError(Exception):
    """A refused campaign action; ``str()`` is the message for the member or moderator."""


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
    value = text.strip().lower().replace(" ", "") if _looks_relative(text) else text.strip()
    if value.lower() == "now":
        return now
    match = _RELATIVE.fullmatch(value)
    if match and any(match.groups()):
        weeks, days, hours, minutes = (int(g) if g else 0 for g in match.groups())
        return now + timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    with contextlib.suppress(ValueError):
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    for fmt in _ABSOLUTE_FORMATS:
        with contextlib.suppress(ValueError):
            return datetime.strptime(value.removesuffix(" UTC"), fmt).replace(tzinfo=UTC)
    raise CampaignError(
        f"I can't read the time `{text}`. Use a relative time like `2h`, `7d` or `1d12h`, "
        "or a UTC date and time like `2026-10-31 18:00`."
    )


def _looks_relative(text: str) -> bool:
    return bool(re.fullmatch(r"[\d\swdhm]+", text.strip().lower()))


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
class RankedEntry:
    """An entry and its votes."""

    job: Job
    votes: int


@dataclass(frozen=True)
class CampaignReport:
    """Participants, entries, credits spent and the top entries by votes."""

    campaign: Campaign
    participants: int
    entries: int
    credits_spent: int
    top: list[RankedEntry]


@dataclass(frozen=True)
class VoteResult:
    """The entry's votes after a press, and whether the member's vote is now counted."""

    votes: int
    counted: bool


@dataclass(frozen=True)
class EntryPlan:
    """How a job takes part in a campaign: the themed video and the campaign credits it uses."""

    campaign: Campaign
    video: ValidatedVideo
    wallet_account_id: int
    from_wallet: int


class CampaignPresenter(Protocol):
    """What the campaign side needs from the chat side."""

    async def announce_campaign_end(self, campaign: Campaign, report: CampaignReport) -> int:
        """Post the end-of-campaign summary; return the message id. Idempotent per campaign."""


class Campaigns:
    """Creating, joining, listing, ending and reporting campaigns; entry rules; votes."""

    def __init__(self, sessions: SessionFactory, catalog: Catalog, *, clock: Callable[[], datetime] = utcnow):
        self._sessions = sessions
        self._catalog = catalog
        self._clock = clock
        self._wake = asyncio.Event()

    # -- moderators ---------------------------------------------------------------------------

    async def create(
        self, guild_id: int, *, actor_id: int, announce_channel_id: int, spec: CampaignSpec
    ) -> Campaign:
        """Create a campaign after checking every field; the error names what is wrong."""
        now = self._clock()
        name = " ".join(spec.name.split())
        if not name or len(name) > NAME_MAX:
            raise CampaignError(f"A campaign needs a name of 1 to {NAME_MAX} characters.")
        starts = parse_when(spec.starts, now) if spec.starts else now
        ends = parse_when(spec.ends, starts if _looks_relative(spec.ends) else now)
        if ends <= starts:
            raise CampaignError("The campaign must end after it starts.")
        if ends <= now:
            raise CampaignError("The campaign's end is already in the past.")
        if spec.credits_per_member < 0:
            raise CampaignError("Credits per participant cannot be negative.")
        for value, what in ((spec.budget, "budget"), (spec.max_entries_per_member, "entries per member")):
            if value is not None and value < 1:
                raise CampaignError(f"The {what} must be at least 1 (or left out).")
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
        self._wake.set()
        return campaign

    async def end_now(self, guild_id: int, name: str, *, actor_id: int) -> Campaign:
        """End a running or upcoming campaign now; the watcher closes it at once."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            campaign = await self._named(session, guild_id, name)
            if status_of(campaign, now) is CampaignStatus.ENDED:
                raise CampaignError(f"“{campaign.name}” has already ended.")
            campaign.ends_at = now
            campaign.starts_at = min(campaign.starts_at, now)
            session.add(campaign)
        log.info("campaign %s ended early by %s", campaign.id, actor_id)
        self._wake.set()
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
        """Give the member the campaign's credits, once, in the campaign wallet."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            campaign = await self._pick(session, guild_id, name, now, statuses=(CampaignStatus.RUNNING,))
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
            return await self._pick(session, guild_id, name, self._clock(), statuses=tuple(CampaignStatus))

    # -- entries (called by the job book inside its transaction) ----------------------------------

    async def plan_entry(
        self,
        session: AsyncSession,
        *,
        guild_id: int,
        user_id: int,
        video: ValidatedVideo,
        requested: str | None,
        now: datetime,
    ) -> EntryPlan | None:
        """Decide whether a new job is a campaign entry, and how it is paid.

        With ``requested`` (the member named a campaign), every rule is enforced with a clear
        refusal. Without it, the job joins the running campaign the member has joined whose rules
        it meets and whose wallet still holds credits; otherwise it is an ordinary job.
        """
        if requested:
            campaign = await self._named(session, guild_id, requested)
            return await self._plan(session, campaign, user_id, video, now, strict=True)
        for campaign in await queries.joined_running(session, guild_id=guild_id, user_id=user_id, now=now):
            plan = await self._plan(session, campaign, user_id, video, now, strict=False)
            if plan is not None and plan.from_wallet > 0:
                return plan
        return None

    async def _plan(
        self,
        session: AsyncSession,
        campaign: Campaign,
        user_id: int,
        video: ValidatedVideo,
        now: datetime,
        *,
        strict: bool,
    ) -> EntryPlan | None:
        assert campaign.id is not None

        def refuse(message: str) -> None:
            if strict:
                raise CampaignError(f"{message} Nothing was charged.")

        state = status_of(campaign, now)
        if state is not CampaignStatus.RUNNING:
            when = "has not started yet" if state is CampaignStatus.UPCOMING else "has ended"
            refuse(f"“{campaign.name}” {when}.")
            return None
        wallet_id = await queries.wallet_id(
            session, guild_id=campaign.guild_id, user_id=user_id, campaign_id=campaign.id
        )
        if wallet_id is None:
            refuse(f"Join “{campaign.name}” first with `/campaign join`.")
            return None
        if campaign.allowed_models and video.model.id not in campaign.allowed_models:
            refuse(f"“{campaign.name}” takes videos from {', '.join(campaign.allowed_models)} only.")
            return None
        if campaign.max_entries_per_member is not None:
            entries = await queries.count_entries(session, campaign_id=campaign.id, user_id=user_id)
            if entries >= campaign.max_entries_per_member:
                refuse(
                    f"You have made all {campaign.max_entries_per_member} entries “{campaign.name}” allows."
                )
                return None
        themed = self._themed(campaign, video, strict=strict)
        if themed is None:
            return None
        if campaign.budget is not None:
            spent = await queries.credits_spent(session, campaign_id=campaign.id)
            if spent + themed.cost > campaign.budget:
                left = campaign.budget - spent
                refuse(f"“{campaign.name}” has {left} credits of its budget left; this costs {themed.cost}.")
                return None
        balance, _ = await ledger.account_state(session, account_id=wallet_id)
        return EntryPlan(campaign, themed, wallet_id, min(balance, themed.cost))

    def _themed(self, campaign: Campaign, video: ValidatedVideo, *, strict: bool) -> ValidatedVideo | None:
        prompt = " ".join(p for p in (campaign.prompt_prefix, video.prompt, campaign.prompt_suffix) if p)
        if len(prompt) > video.model.max_prompt_length:
            room = video.model.max_prompt_length - (len(prompt) - len(video.prompt))
            if strict:
                raise CampaignError(
                    f"With “{campaign.name}”'s theme added, your prompt is too long: keep it under {room} "
                    "characters. Nothing was charged."
                )
            return None
        return replace(video, prompt=prompt)

    @staticmethod
    def untheme(campaign: Campaign, prompt: str) -> str:
        """The member's own prompt, without the campaign's prefix and suffix (for re-rolls)."""
        if campaign.prompt_prefix and prompt.startswith(campaign.prompt_prefix + " "):
            prompt = prompt[len(campaign.prompt_prefix) + 1 :]
        if campaign.prompt_suffix and prompt.endswith(" " + campaign.prompt_suffix):
            prompt = prompt[: -len(campaign.prompt_suffix) - 1]
        return prompt

    # -- votes --------------------------------------------------------------------------------

    async def vote(self, job_id: int, voter_id: int) -> VoteResult:
        """Toggle a member's vote for an entry: one per member, never for one's own entry."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            job = await session.get(Job, job_id)
            if job is None or job.campaign_id is None:
                raise CampaignError("That video is not a campaign entry.")
            campaign = await session.get(Campaign, job.campaign_id)
            assert campaign is not None
            if campaign.closed_at is not None:
                raise CampaignError(f"Voting in “{campaign.name}” has closed.")
            if job.user_id == voter_id:
                raise CampaignError("You can't vote for your own entry.")
            counted = await queries.toggle_vote(session, job_id=job_id, voter_id=voter_id, at=now)
            votes = await queries.count_votes(session, job_id=job_id)
        return VoteResult(votes, counted)

    async def votes(self, job_id: int) -> int:
        """An entry's votes."""
        async with self._sessions() as session:
            return await queries.count_votes(session, job_id=job_id)

    # -- closing and reports --------------------------------------------------------------------

    async def close_due(self) -> list[tuple[Campaign, CampaignReport]]:
        """Close every campaign past its end: void the wallets once and build the summaries still
        to be posted (also those closed by a process that stopped before posting)."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            for campaign in await queries.due_to_close(session, now=now):
                assert campaign.id is not None
                if await queries.mark_closed(session, campaign_id=campaign.id, at=now):
                    for account_id, balance in await queries.wallets(session, campaign_id=campaign.id):
                        if balance > 0:
                            await ledger.move_credits(
                                session,
                                account_id=account_id,
                                amount=-balance,
                                kind=EntryKind.EXPIRE,
                                reason=f"{campaign.name} ended",
                                at=now,
                            )
                    log.info("campaign %s closed", campaign.id)
            pending = await queries.closed_without_summary(session)
        return [(c, await self.report(c)) for c in pending]

    async def summary_posted(self, campaign_id: int, message_id: int) -> None:
        """Remember the summary message, so it is posted once."""
        async with self._sessions() as session, session.begin():
            await queries.set_summary(session, campaign_id=campaign_id, message_id=message_id)

    async def report(self, campaign: Campaign) -> CampaignReport:
        """Participants, entries, credits spent and the top entries by votes."""
        assert campaign.id is not None
        async with self._sessions() as session:
            entries = await queries.entries(session, campaign_id=campaign.id)
            votes = await queries.votes_by_entry(session, campaign_id=campaign.id)
            participants = await queries.participants(session, campaign_id=campaign.id)
        counted = [j for j in entries if queries.counts_as_entry(j)]
        ranked = sorted(
            (RankedEntry(j, votes.get(j.id or 0, 0)) for j in counted if j.state == "delivered"),
            key=lambda r: (-r.votes, r.job.id or 0),
        )
        return CampaignReport(
            campaign=campaign,
            participants=participants,
            entries=len(counted),
            credits_spent=sum(j.cost for j in counted),
            top=ranked[:TOP_ENTRIES],
        )

    async def entries_csv(self, campaign: Campaign) -> str:
        """Every entry as CSV: id, member, state, model, cost, votes, prompt, time, message link."""
        assert campaign.id is not None
        async with self._sessions() as session:
            entries = await queries.entries(session, campaign_id=campaign.id)
            votes = await queries.votes_by_entry(session, campaign_id=campaign.id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["job", "member", "state", "model", "cost", "votes", "prompt", "created_at", "message"]
        )
        for job in entries:
            where = job.thread_id or job.channel_id
            link = (
                f"https://discord.com/channels/{job.guild_id}/{where}/{job.result_message_id}"
                if job.result_message_id
                else ""
            )
            writer.writerow(
                [
                    job.id,
                    job.user_id,
                    job.state,
                    job.model_id,
                    job.cost,
                    votes.get(job.id or 0, 0),
                    job.prompt,
                    job.created_at.isoformat(),
                    link,
                ]
            )
        return out.getvalue()

    # -- the watcher ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Check for campaigns to close now (one was created or ended early)."""
        self._wake.set()

    async def watch(self, presenter: CampaignPresenter, *, interval: float) -> None:
        """Close campaigns as they end and post their summaries; runs until cancelled.

        Also closes, at start, campaigns that ended while no process was running.
        """
        while True:
            try:
                for campaign, report in await self.close_due():
                    assert campaign.id is not None
                    message_id = await presenter.announce_campaign_end(campaign, report)
                    await self.summary_posted(campaign.id, message_id)
            except (SQLAlchemyError, OSError):
                log.warning("could not close campaigns; retrying", exc_info=True)
            except Exception:
                log.exception("unexpected error while closing campaigns; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()

    # -- lookups --------------------------------------------------------------------------------

    async def _named(self, session: AsyncSession, guild_id: int, name: str) -> Campaign:
        campaign = await queries.by_name(
            session, guild_id=guild_id, name_key=" ".join(name.split()).casefold()
        )
        if campaign is None:
            names = [c.name for c in await queries.guild_campaigns(session, guild_id=guild_id)]
            known = f" Campaigns here: {', '.join(names)}." if names else " This server has no campaigns yet."
            raise CampaignError(f"There is no campaign called “{name}”.{known}")
        return campaign

    async def _pick(
        self,
        session: AsyncSession,
        guild_id: int,
        name: str | None,
        now: datetime,
        *,
        statuses: Sequence[CampaignStatus],
    ) -> Campaign:
        if name:
            campaign = await self._named(session, guild_id, name)
            if status_of(campaign, now) not in statuses:
                state = status_of(campaign, now)
                when = "has not started yet" if state is CampaignStatus.UPCOMING else "has ended"
                raise CampaignError(f"“{campaign.name}” {when}.")
            return campaign
        candidates = [
            c
            for c in await queries.guild_campaigns(session, guild_id=guild_id)
            if status_of(c, now) in statuses
        ]
        running = [c for c in candidates if status_of(c, now) is CampaignStatus.RUNNING]
        if len(running) == 1:
            return running[0]
        if len(running) > 1:
            raise CampaignError(
                f"Several campaigns are running: {', '.join(c.name for c in running)}. Name one."
            )
        if candidates:
            return max(candidates, key=lambda c: c.ends_at)
        raise CampaignError("No campaign is running in this server right now.")
