"""Reading a ModelsLab webhook as what it is: a hint that a job may have changed.

ModelsLab can POST the job envelope to a ``webhook`` URL given at submit time (docs: best effort,
may arrive more than once, no signature). Anyone who learns the URL can post anything to it, so a
webhook never decides a job's fate: it only tells the runner which job to fetch now. That is why
`WebhookHint` carries identifiers and the claimed status, and deliberately no output URLs: the
URLs to download come from a fetch, never from an unauthenticated POST.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from videobot.modelslab.envelope import ERROR_STATUSES, JobStatus, job_id, parse_track_id, raw_status

__all__ = ["WebhookHint", "parse_webhook"]


@dataclass(frozen=True)
class WebhookHint:
    """Which job a webhook is about and what it claims, to be checked with a fetch.

    ``track_id`` is our own correlation id (what we sent as ``track_id``), ``provider_id`` the
    ModelsLab job id; at least one of them is set. ``status`` is the claim: SUCCESS for
    ``success``, FAILED for ``failed`` and ``error``, PROCESSING for anything else (a missing or
    unknown status). Unlike `ProviderJob`, a claimed SUCCESS needs no output URL: it is unchecked.
    """

    track_id: str | None
    provider_id: str | None
    status: JobStatus


def parse_webhook(body: object) -> WebhookHint | None:
    """Read a webhook body; None when it names no job we could look up (junk, wrong shape).

    ``body`` is the decoded JSON, of any type (a list or a number is junk, not an error).
    Accepts the documented success (``{"status": "success", "id", "output", "track_id", ...}``) and
    failure (``{"status": "failed", "id", "message", "track_id"}``) payloads and every envelope
    variant the client reads elsewhere (string or integer ids, the id only in ``fetch_result``).
    Never raises on odd input.
    """
    if not isinstance(body, Mapping):
        return None
    try:
        track_id = parse_track_id(body.get("track_id"))
        provider_id = job_id(body)
        status_text = raw_status(body)
    except (TypeError, ValueError):  # a Mapping with odd keys: still only junk
        return None
    if track_id is None and provider_id is None:
        return None
    if status_text == "success":
        status = JobStatus.SUCCESS
    elif status_text in ERROR_STATUSES:
        status = JobStatus.FAILED
    else:
        status = JobStatus.PROCESSING
    return WebhookHint(track_id=track_id, provider_id=provider_id, status=status)
