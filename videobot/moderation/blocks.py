"""Blocking members from the bot: how long, the check every member action makes, and what a block does
to the member's videos still waiting in line."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import jobs as job_queries
from storage import moderation as queries
from storage.ledger import refund_job
from storage.states import JobState, ModerationActionKind
from storage.tables import Job, MemberBlock
from videobot.moderation import actions
from videobot.moderation.refusals import MemberBlocked, ModerationError

log = logging.getLogger(__name__)

MAX_BLOCK = timedelta(days=365)
REASON_MAX = 200
CANCELLED_REASON = "Cancelled: a moderator blocked its owner from the bot."

_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


def parse_duration(text: str) -> timedelta:
    """A block's length as moderators type it: ``30m``, ``2h``, ``7d``, ``1w``, ``1d12h``."""
    value = text.strip().lower().replace(" ", "")
    match = _DURATION.fullmatch(value)
    if not value or match is None or not any(match.groups()):
        raise ModerationError(
            f"I can't read the duration `{text}`. Use `30m`, `2h`, `7d`, `1w` or a mix like `1d12h`, "
            "or leave it out to block until you unblock. Nothing was changed."
        )
    weeks, days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    length = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    if length <= timedelta(0):
        raise ModerationError("A block must last at least a minute. Nothing was changed.")
    if length > MAX_BLOCK:
        raise ModerationError(
            "A block with a duration can last at most 365 days; leave the duration out to block until "
            "you unblock. Nothing was changed."
        )
    return length


def check_reason(reason: str | None) -> str | None:
    """A moderator's reason, tidied, or a refusal when it is too long."""
    text = " ".join((reason or "").split())
    if len(text) > REASON_MAX:
        raise ModerationError(f"Keep the reason under {REASON_MAX} characters. Nothing was changed.")
    return text or None


async def check_not_blocked(session: AsyncSession, *, guild_id: int, user_id: int, now: datetime) -> None:
    """Refuse (`MemberBlocked`, saying until when) if a moderator blocked the member in this server."""
    block = await queries.active_block(session, guild_id=guild_id, user_id=user_id, now=now)
    if block is not None:
        raise MemberBlocked(block.expires_at)


@dataclass(frozen=True)
class BlockResult:
    """A block as it now stands, what it replaced, and the member's waiting videos it cancelled."""

    block: MemberBlock
    previous_until: datetime | None  # the end of the block it replaced
    replaced: bool  # the member was already blocked; the new block replaces that one
    cancelled: list[Job]  # waiting videos cancelled and refunded


async def block_member(
    session: AsyncSession,
    *,
    guild_id: int,
    user_id: int,
    actor_id: int,
    reason: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> BlockResult:
    """Block a member (or replace their block), cancel and refund their videos still waiting in line,
    and record it in the moderation log, in the caller's transaction.

    Videos already claimed by the job runner are not touched: they may be at the provider already, and
    the member paid for them before the block.
    """
    # Taken by every job acceptance too: a video accepted while the block is made is either refused
    # by it or waiting in line when the waiting videos are cancelled, never in between.
    await job_queries.lock_spending(session, guild_id=guild_id)
    existing = await queries.block_of(session, guild_id=guild_id, user_id=user_id)
    replaced = existing is not None and (existing.expires_at is None or existing.expires_at > now)
    previous_until = existing.expires_at if replaced and existing is not None else None
    block = existing or MemberBlock(guild_id=guild_id, user_id=user_id, created_by=actor_id)
    block.reason = reason
    block.created_by = actor_id
    block.created_at = now
    block.expires_at = expires_at
    session.add(block)
    cancelled = await cancel_waiting(session, guild_id=guild_id, user_id=user_id, now=now)
    await actions.record(
        session,
        guild_id=guild_id,
        actor_id=actor_id,
        action=ModerationActionKind.BLOCK,
        target_user_id=user_id,
        reason=reason,
        expires_at=expires_at,
        at=now,
    )
    await session.flush()
    return BlockResult(block, previous_until, replaced, cancelled)


async def cancel_waiting(session: AsyncSession, *, guild_id: int, user_id: int, now: datetime) -> list[Job]:
    """Cancel and refund a member's videos still waiting in line, as `/video cancel` does."""
    cancelled = []
    for job_id in await queries.queued_job_ids(session, guild_id=guild_id, user_id=user_id):
        # The same guarded change as `/video cancel`: only a queued job nobody holds a lease on.
        job = await job_queries.update_unowned(
            session,
            job_id=job_id,
            states=[JobState.QUEUED],
            state=JobState.CANCELLED,
            failure_reason=CANCELLED_REASON,
            finished_at=now,
        )
        if job is None:
            continue  # claimed by a runner meanwhile: it goes on
        await refund_job(session, job_id=job_id, reason="cancelled", at=now)
        cancelled.append(job)
    if cancelled:
        log.info("cancelled and refunded jobs %s of blocked member %s", [j.id for j in cancelled], user_id)
    return cancelled
