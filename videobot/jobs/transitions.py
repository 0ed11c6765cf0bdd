"""How a job's row changes: every change guarded by the job's lease, every write waiting out a
database outage, and the one way a job ends refunded (with the note owed to its owner).

The submit, follow and deliver steps (`videobot.jobs.submitting`, `.following`, `.delivering`) change
a job only through these.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import jobs as job_queries
from storage.engine import SessionFactory
from storage.states import JobState
from storage.tables import Job
from videobot.errors import is_outage
from videobot.jobs.book import refund
from videobot.jobs.delivery import NETWORK_ERRORS, DeliveryError, DeliveryImpossible, JobPresenter
from videobot.jobs.pacing import RunnerConfig
from videobot.modelslab import InsufficientFunds, InvalidKey, ModelsLabError, PlanRestricted

log = logging.getLogger(__name__)

# Member-facing reasons. The provider's own words go to the log, not to the member.
REASON_UNCERTAIN_SUBMIT = (
    "The video service did not confirm that it accepted the job, so it was not sent again "
    "(that could have rendered it twice)."
)
REASON_TIMEOUT = "The video took longer than the time limit to render."
REASON_DOWNLOAD = "The finished video could not be downloaded from the video service."
REASON_UNDELIVERABLE = "The video could not be posted here (the channel is gone or the bot lost access)."
REASON_MODEL_GONE = "This model is no longer offered by the bot."
# The provider's text is often technical: members get a plain sentence, the log gets the text.
REASON_PROVIDER_FAILED = "The video service could not make this video. Try a different prompt or image."
REASON_TOO_MANY_RETRIES = "The video service stayed busy for too long."
REASON_REFUND_FAILED = "The credits could not be given back automatically: ask a moderator to return them."
REASON_DISCORD_FAILING = "Discord kept failing when the video was posted, so it could not be delivered."

_T = TypeVar("_T")
# How long a job waits, at most, between two tries of a write while the database is away.
_OUTAGE_RETRY_CAP = 5.0


class LeaseLost(Exception):
    """Another process owns the job now (or its state changed under us): stop touching it."""


class JobTransitions:
    """The state changes of jobs owned by this process (``owner``)."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        presenter: JobPresenter,
        config: RunnerConfig,
        owner: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._presenter = presenter
        self._config = config
        self._owner = owner
        self._clock = clock

    async def update(self, job: Job, states: Sequence[JobState], **values: Any) -> Job:
        """Change the job if it is still ours and in one of ``states``; LeaseLost otherwise."""
        assert job.id is not None
        job_id = job.id

        async def change(session: AsyncSession) -> Job | None:
            return await job_queries.update_owned(
                session, job_id=job_id, owner=self._owner, states=list(states), **values
            )

        updated = await self.write(job_id, change)
        if updated is None:
            raise LeaseLost
        return updated

    async def write(self, job_id: int, change: Callable[[AsyncSession], Awaitable[_T]]) -> _T:
        """Run one transaction, waiting through database outages instead of giving up.

        What a job learns (the provider's id after a paid submit, the result's URLs) exists only in
        memory until it is written: dropping it because the database was away for a minute would
        turn a paid render into a refund. The guarded update still refuses if the job changed hands.
        """
        delay = 0.5
        while True:
            try:
                return await asyncio.shield(self._transaction(change))
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.warning("job %s: waiting for the database (%r); retrying in %.0f s", job_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _OUTAGE_RETRY_CAP)

    async def _transaction(self, change: Callable[[AsyncSession], Awaitable[_T]]) -> _T:
        # Shielded by `_write`: a job cancelled at shutdown must not leave its transaction half-way
        # (on SQLite the connection would keep the write lock until garbage collection, and the
        # leases handed back at shutdown would wait 30 s for it). The write finishes or never began.
        async with self._sessions() as session, session.begin():
            return await change(session)

    async def reload(self, job: Job) -> Job:
        """The job as stored now; LeaseLost when it is no longer ours or has moved on."""
        assert job.id is not None
        async with self._sessions() as session:
            current = await job_queries.get_job(session, job_id=job.id)
        if current is None or current.lease_owner != self._owner or current.state != job.state:
            raise LeaseLost
        return current

    async def end_refunded(
        self, job: Job, state: JobState, reason: str, *, without_provider_id: bool = False
    ) -> None:
        """End the job in a refunded state, give the credits back and owe the owner a note, in one
        transaction; then tell them. The note survives a crash: it is posted on resume.

        ``without_provider_id``: only if no webhook named the job's provider id meanwhile
        (LeaseLost otherwise)."""
        assert job.id is not None
        now = self._clock()
        job_id, from_state = job.id, job.state

        async def end(session: AsyncSession, failure_reason: str) -> Job:
            ended = await job_queries.update_owned(
                session,
                job_id=job_id,
                owner=self._owner,
                states=[from_state],
                without_provider_id=without_provider_id,
                state=state,
                failure_reason=failure_reason,
                finished_at=now,
                failure_note_pending=True,
                # Still ours until the note is posted, so no other process posts it too.
                lease_expires_at=now + timedelta(seconds=self._config.lease_seconds),
            )
            if ended is None:
                raise LeaseLost
            return ended

        async def end_and_refund(session: AsyncSession) -> Job:
            ended = await end(session, reason)
            await refund(session, ended, reason=state.value)
            return ended

        async def end_only(session: AsyncSession) -> Job:
            return await end(session, f"{reason} {REASON_REFUND_FAILED}")

        try:
            ended = await self.write(job_id, end_and_refund)
        except LeaseLost:
            raise
        except Exception:
            # The refund itself failed (a bug, or data the ledger refuses). The job must still end:
            # a job left at the provider's stage would hold a slot of every server's queue forever.
            log.exception(
                "job %s: the refund of %s credits failed; ending the job without it", job_id, job.cost
            )
            ended = await self.write(job_id, end_only)
        log.info("job %s ended %s and was refunded %s credits", job.id, state.value, job.cost)
        await self.show(ended)
        await self.announce(ended)

    async def announce(self, job: Job) -> None:
        """Post the failure note owed to the owner, then record that it is posted."""
        assert job.id is not None
        try:
            await self._presenter.announce_failure(job)
        except DeliveryImpossible as exc:
            log.warning("job %s: no way to tell the owner about the refund: %s", job.id, exc)
        except (DeliveryError, *NETWORK_ERRORS) as exc:
            # Posted again once this lease lapses, by this process or another.
            log.warning("job %s: could not post the failure note yet: %s", job.id, exc)
            return
        job_id = job.id

        async def posted(session: AsyncSession) -> None:
            await job_queries.note_posted(session, job_id=job_id, owner=self._owner)

        await self.write(job_id, posted)

    async def show(self, job: Job) -> None:
        """Have the status message show the job (best effort)."""
        try:
            await self._presenter.show_state(job)
        except Exception:
            # The status message is a courtesy; the job goes on without it.
            log.warning("job %s: could not update the status message", job.id, exc_info=True)

    @staticmethod
    def log_provider_refusal(job: Job, exc: ModelsLabError) -> None:
        """Log a provider's refusal: as an error when the owner's account needs attention."""
        if isinstance(exc, InvalidKey | InsufficientFunds | PlanRestricted):
            log.error("job %s: the ModelsLab account needs attention: %s", job.id, exc)
        else:
            log.warning("job %s refused by the provider: %s", job.id, exc)
