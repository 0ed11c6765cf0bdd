"""One job's way from where it stands to its end: submit (`videobot.jobs.submitting`), follow while it
renders (`.following`), download and deliver (`.delivering`), or end it refunded with a reason the
member understands (`.transitions`).

Every step is persisted before and after it happens, and every change is guarded by the job's lease
(``UPDATE ... WHERE lease_owner = me``), so a process that lost the job cannot overwrite the work of
the one that took over. Webhooks are hints: one wakes the job for a fetch now, and the fetch decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from storage import jobs as job_queries
from storage.engine import SessionFactory
from storage.states import JobState
from storage.tables import Job
from storage.types import utcnow
from videobot import logcontext
from videobot.catalog import Catalog
from videobot.errors import is_outage
from videobot.jobs.delivering import Deliverer
from videobot.jobs.delivery import JobPresenter
from videobot.jobs.following import Follower
from videobot.jobs.pacing import Backoff, ProviderLimit, RunnerConfig, SubmitPause
from videobot.jobs.submitting import Submitter
from videobot.jobs.transitions import JobTransitions, LeaseLost
from videobot.jobs.webhooks import WebhookInbox
from videobot.modelslab import ModelsLabClient, allowed_private_hosts

log = logging.getLogger(__name__)

_S = JobState


class JobLifecycle:
    """Drives one job at a time through its states; the runner calls `run` in a task per job."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        catalog: Catalog,
        modelslab: ModelsLabClient,
        http: aiohttp.ClientSession,
        presenter: JobPresenter,
        config: RunnerConfig,
        owner: str,
        provider_limit: ProviderLimit | None = None,
        pause: SubmitPause | None = None,
        webhooks: WebhookInbox | None = None,
        webhook_url: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``webhook_url`` (with ``webhooks``, the inbox its route feeds) turns webhooks on: every
        submit carries it, and the job waits for a webhook rather than polling often."""
        self._sessions = sessions
        self._config = config
        self._owner = owner
        self._clock = clock
        self._webhooks = webhooks if webhook_url is not None else None
        backoff = Backoff(config.poll_min, config.poll_max)
        self._steps = JobTransitions(
            sessions=sessions, presenter=presenter, config=config, owner=owner, clock=clock
        )
        self._submitter = Submitter(
            steps=self._steps,
            sessions=sessions,
            catalog=catalog,
            modelslab=modelslab,
            config=config,
            backoff=backoff,
            provider_limit=provider_limit or ProviderLimit(config.max_at_provider),
            pause=pause or SubmitPause(config.funds_probe_seconds, clock=clock),
            webhooks=self._webhooks,
            webhook_url=webhook_url,
            clock=clock,
        )
        self._follower = Follower(
            steps=self._steps,
            modelslab=modelslab,
            config=config,
            backoff=backoff,
            webhooks=self._webhooks,
            clock=clock,
        )
        self._deliverer = Deliverer(
            steps=self._steps,
            sessions=sessions,
            presenter=presenter,
            http=http,
            config=config,
            backoff=backoff,
            allowed_private=allowed_private_hosts(modelslab.base_url),
            clock=clock,
        )

    async def run(self, job: Job) -> None:
        """Take the job (claimed under our lease) as far as it goes; never raises but cancellation."""
        assert job.id is not None
        logcontext.bind(job=job.id, guild=job.guild_id)  # each job runs in a task of its own
        if self._webhooks is not None:
            # From before the submit: a webhook can overtake the submit's own reply.
            self._webhooks.listen(job.id)
        try:
            current: Job | None = job
            if job.state.is_final:
                # Resumed only to tell the owner why it was refunded (the note was owed). The process
                # that ended it may have died before its status message said so, too.
                if job.failure_note_pending:
                    await self._steps.show(job)
                    await self._steps.announce(job)
                return
            if current is not None and current.state == _S.SUBMITTING:
                current = await self._submitter.submit(current)
            if current is not None and current.state == _S.PROCESSING:
                current = await self._follower.follow(current)
            if current is not None and current.state == _S.DELIVERING:
                await self._deliverer.deliver(current)
        except LeaseLost:
            log.info("job %s is no longer ours; leaving it", job.id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # An outage or a bug: keep the job, and let it be taken up again after a lease period.
            if is_outage(exc):
                log.warning("job %s: the database is unreachable (%r); it will be resumed", job.id, exc)
            else:
                log.exception("job %s hit an unexpected error; it will be retried", job.id)
            with contextlib.suppress(SQLAlchemyError, OSError):
                async with self._sessions() as session, session.begin():
                    await job_queries.release_leases(
                        session,
                        owner=self._owner,
                        job_ids=[job.id],
                        retry_at=self._clock() + timedelta(seconds=self._config.lease_seconds),
                    )
        finally:
            if self._webhooks is not None:
                self._webhooks.forget(job.id)
