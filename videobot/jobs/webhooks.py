"""What a ModelsLab webhook does to our jobs: at most wake one, or name the provider's id of one.

A webhook is unsigned, best effort and may come twice (docs/modelslab-api.md), so it is a hint,
never a verdict: the job it names is fetched at once (fewer polls, faster delivery), and a job
whose submit reply was lost learns its provider id from it instead of being refunded blindly.
What the job became is always read from a fetch. A duplicate, a stale or a forged webhook changes
nothing: it names no job at the provider, or a job that already has another provider id.

Wakes are local to this process (an `asyncio.Event` per job a lifecycle is waiting on); an
adopted id is written to the database, so a process sharing it that holds the job finds it there.
"""

from __future__ import annotations

import asyncio
import logging
import re
from enum import StrEnum

from storage import jobs as job_queries
from storage.engine import SessionFactory
from storage.states import AT_PROVIDER, JobState
from videobot.modelslab.webhook import WebhookHint

__all__ = ["WebhookInbox", "WebhookOutcome", "job_id_of", "track_id_of"]

log = logging.getLogger(__name__)

_TRACK_ID = re.compile(r"job-([1-9][0-9]{0,18})")


def track_id_of(job_id: int) -> str:
    """The ``track_id`` a job is submitted with (ModelsLab echoes it in its replies and webhooks)."""
    return f"job-{job_id}"


def job_id_of(track_id: str | None) -> int | None:
    """Our job id in a ``track_id`` we sent (`track_id_of`); None for anything else."""
    if track_id is None:
        return None
    match = _TRACK_ID.fullmatch(track_id)
    return int(match.group(1)) if match else None


class WebhookOutcome(StrEnum):
    """What a webhook did (a metric label; never told to the sender)."""

    WOKE = "woke"  # a job at the provider: its follower fetches it now
    ADOPTED = "adopted"  # a job whose submit reply was lost: it has its provider id now
    UNKNOWN = "unknown"  # no job at the provider by that track id or provider id (stale, duplicate, junk)
    MISMATCH = "mismatch"  # the track id names a job that has another provider id (forged or confused)


class WebhookInbox:
    """Maps webhook hints to jobs and wakes the lifecycle waiting on them."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._listeners: dict[int, asyncio.Event] = {}

    def listen(self, job_id: int) -> asyncio.Event:
        """The event set whenever a webhook names ``job_id`` (the same event until `forget`)."""
        return self._listeners.setdefault(job_id, asyncio.Event())

    def forget(self, job_id: int) -> None:
        """Stop listening for ``job_id`` (its lifecycle ended here)."""
        self._listeners.pop(job_id, None)

    async def receive(self, hint: WebhookHint) -> WebhookOutcome:
        """Act on one webhook: adopt the provider id of an uncertain submit, and wake the job.

        Raises what the database raises (an outage): the caller answers the sender with an error.
        """
        async with self._sessions() as session, session.begin():
            job = None
            job_id = job_id_of(hint.track_id)
            if job_id is not None:
                job = await job_queries.get_job(session, job_id=job_id)
            if (job is None or job.state not in AT_PROVIDER) and hint.provider_id is not None:
                job = await job_queries.find_at_provider(session, provider_id=hint.provider_id)
            if job is None or job.id is None or job.state not in AT_PROVIDER:
                outcome = WebhookOutcome.UNKNOWN
            elif job.provider_id is not None:
                same = hint.provider_id is None or hint.provider_id == job.provider_id
                outcome = WebhookOutcome.WOKE if same else WebhookOutcome.MISMATCH
            elif hint.provider_id is None or job.state != JobState.SUBMITTING:
                outcome = WebhookOutcome.UNKNOWN
            elif await job_queries.adopt_provider_id(session, job_id=job.id, provider_id=hint.provider_id):
                outcome = WebhookOutcome.ADOPTED
            else:
                outcome = WebhookOutcome.UNKNOWN
        if outcome in (WebhookOutcome.WOKE, WebhookOutcome.ADOPTED):
            assert job is not None and job.id is not None
            if outcome is WebhookOutcome.ADOPTED:
                log.info("job %s: a webhook named its provider id %s", job.id, hint.provider_id)
            event = self._listeners.get(job.id)
            if event is not None:
                event.set()
        else:
            # Ids only: the sender's text is not ours to log.
            log.debug(
                "webhook ignored (%s): track id %r, provider id %r", outcome, hint.track_id, hint.provider_id
            )
        return outcome
