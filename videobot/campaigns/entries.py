"""Campaign entries: whether a new job is an entry, how it is paid, and its themed prompt.

Called by the job book inside the transaction that charges the job, so every rule is checked against
the same state the debit sees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import campaigns as queries
from storage import ledger
from storage.states import REFUNDED_STATES
from storage.tables import Campaign, Job
from videobot.campaigns import lookup
from videobot.campaigns.refusals import CampaignError
from videobot.campaigns.timing import CampaignStatus, status_of
from videobot.catalog import ValidatedVideo


@dataclass(frozen=True)
class EntryPlan:
    """How a job takes part in a campaign: the themed video and the campaign credits it uses."""

    campaign: Campaign
    video: ValidatedVideo
    wallet_account_id: int
    from_wallet: int


def counts_as_entry(job: Job) -> bool:
    """Whether a campaign job counts as an entry (it was not refunded)."""
    return job.state not in REFUNDED_STATES


async def plan_entry(
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
        campaign = await lookup.named(session, guild_id, requested)
        return await _plan(session, campaign, user_id, video, now, strict=True)
    for campaign in await queries.joined_running(session, guild_id=guild_id, user_id=user_id, now=now):
        plan = await _plan(session, campaign, user_id, video, now, strict=False)
        if plan is not None and plan.from_wallet > 0:
            return plan
    return None


async def _plan(
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
        made = await queries.count_entries(session, campaign_id=campaign.id, user_id=user_id)
        if made >= campaign.max_entries_per_member:
            refuse(f"You have made all {campaign.max_entries_per_member} entries “{campaign.name}” allows.")
            return None
    themed = _themed(campaign, video, strict=strict)
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


def _themed(campaign: Campaign, video: ValidatedVideo, *, strict: bool) -> ValidatedVideo | None:
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


def untheme(campaign: Campaign, prompt: str) -> str:
    """The member's own prompt, without the campaign's prefix and suffix (for re-rolls)."""
    if campaign.prompt_prefix and prompt.startswith(campaign.prompt_prefix + " "):
        prompt = prompt[len(campaign.prompt_prefix) + 1 :]
    if campaign.prompt_suffix and prompt.endswith(" " + campaign.prompt_suffix):
        prompt = prompt[: -len(campaign.prompt_suffix) - 1]
    return prompt
