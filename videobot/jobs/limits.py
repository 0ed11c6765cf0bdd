"""Limits checked where the debit happens: videos in progress per member, and daily credit caps."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import jobs as job_queries
from storage.ledger import spent_since
from videobot.jobs.refusals import CapReached, JobError
from videobot.jobs.requests import JobRequest
from videobot.rulebook import ServerRules


async def check_limits(
    session: AsyncSession,
    request: JobRequest,
    rules: ServerRules,
    *,
    global_daily_cap: int | None,
    now: datetime,
) -> None:
    """Refuse the job if the member has too many videos in progress or a daily cap would be passed.

    Runs inside the debit's transaction: the caps are checked and debited under one lock, so
    concurrent commands cannot overshoot them.
    """
    if rules.max_jobs_per_member is not None:
        active = await job_queries.count_member_active(
            session, guild_id=request.guild_id, user_id=request.user_id
        )
        if active >= rules.max_jobs_per_member:
            limit = rules.max_jobs_per_member
            raise JobError(
                f"You have {active} videos in progress and this server allows {limit} at a time. "
                "Wait for one to finish. Nothing was charged."
            )
    caps = [(rules.daily_credit_cap, request.guild_id), (global_daily_cap, None)]
    if all(cap is None for cap, _ in caps):
        return
    day_start = datetime.combine(now.date(), time.min, tzinfo=UTC)
    resets_at = day_start + timedelta(days=1)
    for cap, guild_id in caps:
        if cap is None:
            continue
        await job_queries.lock_spending(session, guild_id=guild_id)
        spent = await spent_since(session, since=day_start, guild_id=guild_id)
        if spent + request.video.cost > cap:
            whose = "This server" if guild_id is not None else "The bot"
            raise CapReached(
                f"{whose} has used {spent} of its {cap} credits for today, and this video costs "
                f"{request.video.cost}. Nothing was charged; the budget resets at midnight UTC.",
                resets_at,
            )
