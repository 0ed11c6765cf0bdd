"""The job book: accepting a job (the charge and the job are one transaction), listing and cancelling."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import inputs as stored_inputs
from storage import jobs as job_queries
from storage.engine import SessionFactory
from storage.ledger import InsufficientCredits, move_credits, refund_job
from storage.states import EntryKind, JobState
from storage.tables import Campaign, Job
from storage.types import utcnow
from videobot.campaigns import entries
from videobot.catalog import Catalog, InvalidRequest, ValidatedVideo, VideoChoices, validate_choices
from videobot.credits import Member, open_account, pay_allowance, spendable
from videobot.jobs.limits import check_limits
from videobot.jobs.refusals import ChannelNotAllowed, DuplicateRequest, JobError, NotEnoughCredits
from videobot.jobs.requests import CreatedJob, InputFile, JobRequest
from videobot.maxima import MAX_JOB_ID
from videobot.moderation import check_not_blocked, check_terms
from videobot.rulebook import Rulebook, ServerRules

log = logging.getLogger(__name__)

# A new job waits until its status message exists, so that its first state changes are shown.
# If the process dies before that, the runner takes the job anyway once this grace has passed.
PRESENTATION_GRACE = timedelta(seconds=15)


class Jobs:
    """The job book: accept (charge + queue), list and cancel jobs."""

    def __init__(
        self,
        sessions: SessionFactory,
        catalog: Catalog,
        rulebook: Rulebook,
        *,
        global_daily_cap: int | None = None,
        input_retention_days: int = 7,
        cooldown: timedelta = timedelta(0),
        on_queued: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._rulebook = rulebook
        self._global_daily_cap = global_daily_cap
        self._cooldown = cooldown
        self._files_gone = (
            "The files of this video are no longer kept (the bot keeps them for "
            f"{input_retention_days} days), so it can't be re-rolled. Make a new one with /video image."
        )
        self._on_queued = on_queued or (lambda: None)
        self._clock = clock

    @staticmethod
    def check_channel(rules: ServerRules, channel_ids: Iterable[int]) -> None:
        """Refuse at once (before any download) where the server does not allow videos."""
        if not rules.allows_channel(channel_ids):
            raise ChannelNotAllowed(sorted(rules.allowed_channel_ids))

    async def check_not_blocked(self, guild_id: int, user_id: int) -> None:
        """Refuse a member a moderator has blocked, before anything else is said about a video."""
        async with self._sessions() as session:
            await check_not_blocked(session, guild_id=guild_id, user_id=user_id, now=self._clock())

    def price(self, rules: ServerRules, choices: VideoChoices) -> ValidatedVideo:
        """Validate the member's choices and price them with the server's overrides."""
        model_id = choices.model_id or self._catalog.default_model(choices.kind).id
        return validate_choices(self._catalog, choices, price_override=rules.price_overrides.get(model_id))

    async def precheck(self, request: JobRequest) -> None:
        """Refuse early what `create` would surely refuse (a block, a blocked term, a campaign rule,
        the limits, the credits), before the member's files are downloaded. Only reads: `create`
        checks everything again where it charges."""
        rules = await self._rulebook.rules(request.guild_id)
        now = self._clock()
        member = Member(request.guild_id, request.user_id, request.role_ids)
        async with self._sessions() as session:
            await check_not_blocked(session, guild_id=request.guild_id, user_id=request.user_id, now=now)
            # A named campaign's rules first: "this campaign takes wan only" says more than the price.
            plan = await entries.plan_entry(
                session,
                guild_id=request.guild_id,
                user_id=request.user_id,
                video=request.video,
                requested=request.campaign,
                now=now,
            )
            await check_terms(
                session,
                guild_id=request.guild_id,
                prompt=request.video.prompt,
                negative_prompt=request.video.negative_prompt,
                campaign=plan.campaign if plan else None,
                themed_prompt=plan.video.prompt if plan else request.video.prompt,
            )
            await check_limits(
                session,
                request,
                rules,
                global_daily_cap=self._global_daily_cap,
                cooldown=self._cooldown,
                now=now,
                lock=False,
            )
            have = await spendable(session, member, rules, now)
        if have < request.video.cost:
            raise NotEnoughCredits(balance=have, cost=request.video.cost)

    async def create(self, request: JobRequest) -> CreatedJob:
        """Charge the member and queue the job, atomically, once per interaction.

        Applies the server's rules in the same transaction: a moderator's block of the member, the
        blocked terms (prompt, negative prompt, campaign theme), the member's daily allowance, the
        jobs-per-member limit and the daily credit caps. Raises `MemberBlocked`, `TermNotAllowed`,
        `NotEnoughCredits`, `CapReached`, `JobError` (nothing charged) or `DuplicateRequest`
        (already charged once).
        """
        video = request.video
        rules = await self._rulebook.rules(request.guild_id)
        now = self._clock()
        try:
            async with self._sessions() as session, session.begin():
                existing = await job_queries.find_by_interaction(
                    session, interaction_id=request.interaction_id
                )
                if existing is not None:
                    # Detach it, or the rollback that the exception causes would expire it.
                    session.expunge(existing)
                    raise DuplicateRequest(existing)
                # Serialise this server's spending checks (caps, campaign budgets) with the debit.
                await job_queries.lock_spending(session, guild_id=request.guild_id)
                await check_not_blocked(session, guild_id=request.guild_id, user_id=request.user_id, now=now)
                member = Member(request.guild_id, request.user_id, request.role_ids)
                account_id = await open_account(session, member, rules, now)
                await pay_allowance(session, account_id, member, rules, now)
                plan = await entries.plan_entry(
                    session,
                    guild_id=request.guild_id,
                    user_id=request.user_id,
                    video=request.video,
                    requested=request.campaign,
                    now=now,
                )
                if plan is not None:
                    video = plan.video
                await check_terms(
                    session,
                    guild_id=request.guild_id,
                    prompt=request.video.prompt,
                    negative_prompt=request.video.negative_prompt,
                    campaign=plan.campaign if plan else None,
                    themed_prompt=video.prompt,
                )
                await check_limits(
                    session,
                    request,
                    rules,
                    global_daily_cap=self._global_daily_cap,
                    cooldown=self._cooldown,
                    now=now,
                )
                job = Job(
                    interaction_id=request.interaction_id,
                    guild_id=request.guild_id,
                    channel_id=request.channel_id,
                    user_id=request.user_id,
                    kind=video.model.kind,
                    model_id=video.model.id,
                    prompt=video.prompt,
                    settings=video.to_record(),
                    cost=video.cost,
                    catalog_cost=video.catalog_cost,
                    upload_limit=request.upload_limit,
                    state=JobState.QUEUED,
                    reroll_of=request.reroll_of,
                    campaign_id=plan.campaign.id if plan else None,
                    not_before=now + PRESENTATION_GRACE,
                    created_at=now,
                    updated_at=now,
                )
                session.add(job)
                await session.flush()
                assert job.id is not None
                from_campaign = plan.from_wallet if plan else 0
                if plan is not None and from_campaign:
                    await move_credits(
                        session,
                        account_id=plan.wallet_account_id,
                        amount=-from_campaign,
                        kind=EntryKind.DEBIT,
                        job_id=job.id,
                        at=now,
                    )
                # The campaign wallet pays first; own credits pay the rest (a zero debit still
                # records the job on the member's own ledger).
                movement = await move_credits(
                    session,
                    account_id=account_id,
                    amount=-(video.cost - from_campaign),
                    kind=EntryKind.DEBIT,
                    job_id=job.id,
                    at=now,
                )
                for item in request.inputs:
                    if item.data is not None:
                        await stored_inputs.store(
                            session, sha256=item.sha256, mime=item.mime, data=item.data, at=now
                        )
                    elif not await stored_inputs.is_stored(session, sha256=item.sha256):
                        raise JobError(self._files_gone)
                    await stored_inputs.attach(
                        session, job_id=job.id, role=item.role, filename=item.filename, sha256=item.sha256
                    )
                position, at_provider = await job_queries.queue_standing(session, job_id=job.id)
        except InsufficientCredits as exc:
            raise NotEnoughCredits(
                balance=exc.balance, cost=video.cost, campaign_credits=video.cost - exc.needed
            ) from None
        except IntegrityError:
            # Two deliveries of one interaction raced past the lookup; the unique interaction id let
            # exactly one of them in.
            async with self._sessions() as session:
                existing = await job_queries.find_by_interaction(
                    session, interaction_id=request.interaction_id
                )
            if existing is None:
                raise
            raise DuplicateRequest(existing) from None
        log.info(
            "job %s queued: guild=%s user=%s model=%s cost=%s",
            job.id,
            job.guild_id,
            job.user_id,
            job.model_id,
            job.cost,
        )
        return CreatedJob(
            job=job,
            balance_after=movement.balance_after,
            queue_position=position,
            at_provider=at_provider,
            campaign=plan.campaign if plan else None,
            from_campaign=from_campaign,
        )

    async def reroll_request(
        self,
        job_id: int,
        *,
        interaction_id: int,
        user_id: int,
        upload_limit: int,
        role_ids: tuple[int, ...] = (),
    ) -> JobRequest:
        """A request for a new job with the settings and files of an earlier one, priced anew."""
        async with self._sessions() as session:
            job = await job_queries.get_job(session, job_id=job_id)
            if job is None:
                raise JobError("That job no longer exists.")
            if job.deleted_at is not None:
                raise JobError(f"Video #{job_id} was deleted, so it can't be re-rolled.")
            files = await stored_inputs.job_files(session, job_id=job_id)
            campaign = await session.get(Campaign, job.campaign_id) if job.campaign_id else None
        # Re-validated against today's catalog and prices, so a re-roll pays today's price; an
        # entry's theme comes off here and is put back if the re-roll is an entry too.
        rules = await self._rulebook.rules(job.guild_id)
        try:
            choices = ValidatedVideo.from_record(self._catalog, job.settings).to_choices()
            if campaign is not None:
                choices = replace(choices, prompt=entries.untheme(campaign, choices.prompt))
            video = self.price(rules, choices)
        except (InvalidRequest, ValueError) as exc:
            raise JobError(f"This video can't be re-rolled: {exc}") from None
        if job.kind == "image" and not files:
            raise JobError(self._files_gone)
        return JobRequest(
            interaction_id=interaction_id,
            guild_id=job.guild_id,
            channel_id=job.channel_id,
            user_id=user_id,
            video=video,
            upload_limit=upload_limit,
            inputs=tuple(InputFile(i.role, f.mime, i.filename, f.sha256) for i, f in files),
            reroll_of=job.id,
            role_ids=role_ids,
        )

    async def set_presentation(
        self,
        job_id: int,
        *,
        status_channel_id: int | None,
        status_message_id: int | None,
        thread_id: int | None,
    ) -> Job | None:
        """Record where the job's status message and thread live, and release the job to the runner.

        Call it after `create` even when nothing could be posted (all None). Returns the job as it is
        now: if it ended while its status message was being posted (cancelled, a member blocked),
        that message still shows it waiting, and the caller shows the end.
        """
        async with self._sessions() as session, session.begin():
            job = await job_queries.set_presentation(
                session,
                job_id=job_id,
                status_channel_id=status_channel_id,
                status_message_id=status_message_id,
                thread_id=thread_id,
            )
        self._on_queued()
        return job

    async def get(self, job_id: int) -> Job | None:
        """One job by id (None for a number no job can have)."""
        if not 1 <= job_id <= MAX_JOB_ID:
            return None
        async with self._sessions() as session:
            return await job_queries.get_job(session, job_id=job_id)

    async def recent(self, *, guild_id: int, user_id: int, limit: int = 10) -> list[Job]:
        """A member's latest jobs in a server, newest first."""
        async with self._sessions() as session:
            return await job_queries.member_jobs(session, guild_id=guild_id, user_id=user_id, limit=limit)

    async def cancel(self, job_id: int, *, guild_id: int, user_id: int) -> Job:
        """Cancel a member's job that has not been sent to the provider yet, and refund it."""
        if not 1 <= job_id <= MAX_JOB_ID:
            raise JobError(f"You have no job #{job_id} in this server.")
        async with self._sessions() as session, session.begin():
            job = await job_queries.get_job(session, job_id=job_id)
            if job is None or job.guild_id != guild_id or job.user_id != user_id:
                raise JobError(f"You have no job #{job_id} in this server.")
            cancelled = await job_queries.update_unowned(
                session,
                job_id=job_id,
                states=[JobState.QUEUED],
                state=JobState.CANCELLED,
                failure_reason="Cancelled by its owner.",
                finished_at=self._clock(),
            )
            if cancelled is None:
                if job.state.is_final:
                    raise JobError(f"Job #{job_id} has already ended ({job.state.label.lower()}).")
                raise JobError(
                    f"Job #{job_id} has already been sent to the renderer, so it can no longer be cancelled."
                )
            await refund(session, cancelled, reason="cancelled")
        log.info("job %s cancelled by its owner", job_id)
        return cancelled


async def refund(session: AsyncSession, job: Job, *, reason: str) -> None:
    """Give a job's cost back to whoever paid it (once: the ledger refuses a second refund), and
    forget its files: a refunded job is never made, nor re-rolled."""
    assert job.id is not None
    await refund_job(session, job_id=job.id, reason=reason)
    await stored_inputs.purge_jobs(session, job_ids=[job.id])
