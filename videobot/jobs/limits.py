"""Limits checked where the debit happens: videos in progress per member, and daily credit caps."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import jobs as job_queries
from videobot.jobs.refusals import CapReached, CooldownActive, JobError
from videobot.jobs.requests import JobRequest
from videobot.rulebook import ServerRules


async def check_limits(
    session: AsyncSession,
    request: JobRequest,
    rules: ServerRules,
    *,
    global_daily_cap: int | None,
    cooldown: timedelta,
    now: datetime,
    lock: bool = True,
) -> None:
    """Refuse the job if the member has too many videos in progress or made one moments ago, or if a
    daily cap would be passed.

    Runs inside the debit's transaction: the caps are checked and debited under one lock, so
    concurrent commands cannot overshoot them. ``lock=False`` for an early, read-only look.
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
    if cooldown:
        last = await job_queries.last_created(session, guild_id=request.guild_id, user_id=request.user_id)
        if last is not None and now < last + cooldown:
            raise CooldownActive(last + cooldown)
    day_start = datetime.combine(now.date(), time.min, tzinfo=UTC)
    resets_at = day_start + timedelta(days=1)
    video = request.video
    if rules.daily_credit_cap is not None:
        # The server's own cap counts its own prices: the credits its members spend.
        spent = await job_queries.spent_since(session, since=day_start, guild_id=request.guild_id)
        if spent + video.cost > rules.daily_credit_cap:
            raise CapReached(
                f"This server has used {spent} of its {rules.daily_credit_cap} credits for today, and this "
                f"video costs {video.cost}. Nothing was charged; the budget resets at midnight UTC.",
                resets_at,
            )
    if global_daily_cap is not None:
        # The owner's cap counts what the owner pays: the catalog's price, never a server's own
        # price (a server pricing a model at 1 credit must not buy 200 full-price renders).
        if lock:
            await job_queries.lock_spending(session, guild_id=None)
        spent = await job_queries.spent_since(session, since=day_start, at_catalog_price=True)
        if spent + video.catalog_cost > global_daily_cap:
            raise CapReached(
                "The bot has reached its owner's budget for today. Nothing was charged; the budget "
                "resets at midnight UTC.",
                resets_at,
            )
