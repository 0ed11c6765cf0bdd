"""Judging ModelsLab's answers: which typed error an HTTP status or an error body means.

The HTTP status decides when it is an error status; otherwise the body's ``status`` and the words of
its message do (docs/modelslab-api.md, "Errors"). Every text copied into an error goes through the
client's scrubber first, so no key or webhook secret leaves in an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from videobot.modelslab.envelope import extract_field_errors, extract_message, parse_retry_after, raw_status
from videobot.modelslab.errors import (
    DEFAULT_RETRY_AFTER,
    BadRequest,
    InsufficientFunds,
    InvalidKey,
    JobNotFound,
    ModelsLabError,
    PlanRestricted,
    ProviderFailed,
    QueueFull,
    Transient,
    UnknownModel,
)

Call = Literal["submit", "fetch", "host_file", "wallet_balance", "model_search"]

_KEY_TEXT = re.compile(r"\bkey\b|api[\s_-]?key|apikey|unauthori[sz]ed", re.IGNORECASE)
_FUNDS_TEXT = re.compile(r"credit|balance|wallet|insufficient funds|payment required", re.IGNORECASE)
_PLAN_TEXT = re.compile(r"\bplan\b|subscription|upgrade", re.IGNORECASE)
# A full queue, and only that: "Rate limit exceeded. Maximum 5 queued requests allowed.", "Too many
# requests", "Queue is full". A bare "limit" is not enough: "Prompt exceeds the character limit" is
# a validation error, and waiting would not fix it.
_QUEUE_TEXT = re.compile(
    r"rate[\s_-]*limit"
    r"|queued\s+(?:requests?|jobs?|tasks?)"
    r"|too\s+many\s+(?:requests|queued|concurrent|simultaneous|parallel|running|pending|jobs)"
    r"|queue\s+(?:is\s+)?(?:full|limit)"
    r"|concurren(?:t|cy)\s+(?:request\s+|job\s+)?limit",
    re.IGNORECASE,
)
# The account's queue size as the message states it: "Maximum 5 queued requests allowed",
# "max 10 concurrent jobs", "queue limit of 15", "queue limit: 15".
_QUEUE_LIMIT_TEXT = (
    re.compile(
        r"(?:maximum|max\.?|up\s+to|limit\s+(?:of|is)?)\s*:?\s*(\d{1,5})\s+"
        r"(?:queued|concurrent|simultaneous|parallel|pending|running|active)\s+"
        r"(?:requests?|jobs?|tasks?|generations?)",
        re.IGNORECASE,
    ),
    re.compile(r"queue\s+limit\s*(?:of|is|:)?\s*(\d{1,5})\b", re.IGNORECASE),
)
_NOT_FOUND_TEXT = re.compile(r"not found|does not exist|no such|unknown (?:request|job|id)", re.IGNORECASE)
_MODEL_TEXT = re.compile(r"\bmodel\b", re.IGNORECASE)
_MODEL_NOT_FOUND_TEXT = re.compile(
    r"model\b.*\b(?:not found|does not exist|unknown|invalid)|(?:unknown|invalid)\s+model", re.IGNORECASE
)
# An "error" answer to a fetch that blames the service, not the job: poll again later. A "failed"
# job is over whatever its message says.
_TRANSIENT_TEXT = re.compile(
    r"internal server error|server error|service unavailable|temporarily unavailable|bad gateway"
    r"|gateway time-?out|timed out|time-?out|try again later|overloaded|maintenance",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, read and decoded but not yet judged."""

    http_status: int
    body: dict[str, object] | None  # None when the body is not a JSON object
    snippet: str  # the start of the raw body, for error messages about non-JSON answers
    # The wait the headers ask for (Retry-After, else X-RateLimit-Reset), already bounded.
    header_delay: float | None


class ErrorClassifier:
    """Turns answers into typed errors; ``scrub`` removes secrets from any text it copies."""

    def __init__(self, scrub: Callable[[str], str]) -> None:
        self._scrub = scrub

    def _scrub_fields(self, fields: Mapping[str, list[str]]) -> dict[str, list[str]]:
        return {self._scrub(k): [self._scrub(e) for e in v] for k, v in fields.items()}

    def json_body(self, reply: Reply, call: Call) -> dict[str, object]:
        """The JSON object of a non-error reply; anything else is a broken answer, so `Transient`."""
        if reply.body is None or not 200 <= reply.http_status < 300:
            raise Transient(
                f"ModelsLab {call}: unexpected answer (HTTP {reply.http_status}): "
                f"{self._scrub(reply.snippet)!r}",
                http_status=reply.http_status,
            )
        return reply.body

    def from_http(self, reply: Reply, call: Call, *, job_id: str | None = None) -> ModelsLabError:
        """Map a 4xx/5xx answer to an error. The HTTP status decides; the body only explains."""
        status = reply.http_status
        body = reply.body or {}
        message = self._scrub(extract_message(body) or reply.snippet.strip() or f"HTTP {status}")
        text = f"ModelsLab {call}: {message}"
        if status >= 500 or status == 408:
            return Transient(text, http_status=status)
        if status == 400:
            return self.bad_request(text, message, body, status)
        if status == 401:
            return InvalidKey(text, http_status=status)
        if status == 402:
            return InsufficientFunds(text, http_status=status)
        if status == 403:
            return PlanRestricted(text, http_status=status)
        if status == 429:
            return QueueFull(
                text,
                retry_after=self.retry_after(body, reply.header_delay),
                queue_limit=queue_limit(message),
                http_status=status,
            )
        if status == 404:
            if call == "fetch":
                return JobNotFound(text, http_status=status, provider_id=job_id)
            if call == "model_search" or _MODEL_TEXT.search(message):
                return UnknownModel(text, self._scrub_fields(extract_field_errors(body)), http_status=status)
            # A 404 anywhere else means the endpoint does not exist: a wrong base URL.
            return ModelsLabError(f"{text} (is MODELSLAB_BASE_URL right?)", http_status=status)
        status_text = raw_status(body)
        known = self.from_text(
            extract_message(body), call, status_text, status, body, header_delay=reply.header_delay
        )
        return known or self.bad_request(text, message, body, status)

    def bad_request(
        self, text: str, message: str, body: Mapping[str, object], http_status: int
    ) -> BadRequest:
        fields = self._scrub_fields(extract_field_errors(body))
        if _MODEL_NOT_FOUND_TEXT.search(message):
            return UnknownModel(text, fields, http_status=http_status)
        return BadRequest(text, fields, http_status=http_status)

    def from_body(
        self,
        body: Mapping[str, object],
        call: Call,
        status_text: str | None,
        http_status: int,
        *,
        job_id: str | None = None,
        header_delay: float | None = None,
    ) -> ModelsLabError:
        """Map an HTTP 2xx answer whose ``status`` is ``error`` or ``failed``, by its message."""
        message = extract_message(body)
        known = self.from_text(message, call, status_text, http_status, body, header_delay=header_delay)
        if known is not None:
            return known
        scrubbed = self._scrub(message or f"status {status_text}")
        text = f"ModelsLab {call}: {scrubbed}"
        if call == "fetch":
            if message and _NOT_FOUND_TEXT.search(message):
                return JobNotFound(text, http_status=http_status, provider_id=job_id)
            if status_text == "error" and message and _TRANSIENT_TEXT.search(message):
                return Transient(text, http_status=http_status)
            return ProviderFailed(text, provider_id=job_id, http_status=http_status)
        if call == "model_search":
            if message and (_NOT_FOUND_TEXT.search(message) or _MODEL_NOT_FOUND_TEXT.search(message)):
                return UnknownModel(text, http_status=http_status)
            return ModelsLabError(text, http_status=http_status)
        if call == "wallet_balance":
            return ModelsLabError(text, http_status=http_status)
        return self.bad_request(text, scrubbed, body, http_status)

    def from_text(
        self,
        message: str | None,
        call: Call,
        status_text: str | None,
        http_status: int,
        body: Mapping[str, object],
        header_delay: float | None = None,
    ) -> ModelsLabError | None:
        """The error a message names (queue, key, credits, plan), or None when it names none."""
        if not message:
            return None
        text = f"ModelsLab {call}: {self._scrub(message)}"
        # The queue comes first: its wording is narrow, and a queue message may well mention the
        # key or an upgrade ("Rate limit exceeded for this API key; upgrade your plan").
        # A job that "failed" is over; whatever its reason says, waiting will not revive it.
        if _QUEUE_TEXT.search(message) and not (call == "fetch" and status_text == "failed"):
            return QueueFull(
                text,
                retry_after=self.retry_after(body, header_delay),
                queue_limit=queue_limit(message),
                http_status=http_status,
            )
        if _KEY_TEXT.search(message):
            return InvalidKey(text, http_status=http_status)
        if _FUNDS_TEXT.search(message):
            return InsufficientFunds(text, http_status=http_status)
        if _PLAN_TEXT.search(message):
            return PlanRestricted(text, http_status=http_status)
        return None

    def retry_after(self, body: Mapping[str, object], header_delay: float | None) -> float:
        """The body's ``retry_after``, else the headers' wait, else the documented 30 s."""
        from_body = parse_retry_after(body)
        if from_body is not None:
            return from_body
        if header_delay is not None:
            return header_delay
        return DEFAULT_RETRY_AFTER


def queue_limit(message: str) -> int | None:
    """The account's queue size when a queue-full message states it, else None."""
    for pattern in _QUEUE_LIMIT_TEXT:
        match = pattern.search(message)
        if match:
            limit = int(match.group(1))
            return limit if 0 < limit <= 10_000 else None
    return None
