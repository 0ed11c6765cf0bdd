"""The errors the ModelsLab client raises: one hierarchy, no aiohttp exception ever escapes.

Every error carries two texts:

* ``str(error)`` is for logs: what went wrong, with the provider's own message. The client scrubs its
  API key from anything it copies out of a response, so these strings are safe to log.
* ``error.user_message`` is for the Discord member: plain words, no HTTP codes or provider jargon.

Callers pick their reaction by type: stop and alert on `InvalidKey`, `InsufficientFunds` and
`PlanRestricted`; wait `retry_after` on `QueueFull`; tell the member to fix the request on
`BadRequest`; refund on `ProviderFailed`; and on `Transient` check `request_may_have_arrived` before
even thinking of repeating a paid submit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "BadRequest",
    "InsufficientFunds",
    "InvalidKey",
    "JobNotFound",
    "ModelsLabError",
    "OutputUnavailable",
    "PlanRestricted",
    "ProviderFailed",
    "QueueFull",
    "Transient",
    "UnknownModel",
    "UnsafeURL",
]

# The wait ModelsLab documents for a full queue; used when a 429 names none.
DEFAULT_RETRY_AFTER = 30.0


class ModelsLabError(Exception):
    """Base of every error the ModelsLab client and downloader raise.

    ``http_status`` is the HTTP status of the response that caused it, when there was one.
    """

    default_user_message: ClassVar[str] = "The video service had a problem. Please try again later."

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status

    @property
    def user_message(self) -> str:
        """What to tell the Discord member, in plain words."""
        return self.default_user_message

    def __str__(self) -> str:
        if self.http_status is None:
            return self.message
        return f"{self.message} (HTTP {self.http_status})"


class InvalidKey(ModelsLabError):
    """ModelsLab refused the API key (HTTP 401, or a message about the key)."""

    default_user_message = "The video service is not set up correctly right now. Please tell a server admin."


class InsufficientFunds(ModelsLabError):
    """The ModelsLab account has run out of credit (HTTP 402, or a message about credits or balance).

    This is the bot operator's wallet at ModelsLab, not the member's credits in the bot.
    """

    default_user_message = "The video service has run out of funds for now. Please tell a server admin."


class PlanRestricted(ModelsLabError):
    """The ModelsLab plan does not include this model or feature (HTTP 403)."""

    default_user_message = "This video model is not available right now. Please pick another model."


class QueueFull(ModelsLabError):
    """The account already has as many jobs in flight as its plan allows (HTTP 429, or a text
    such as "Rate limit exceeded. Maximum 5 queued requests allowed.").

    ``retry_after`` is how many seconds to wait before trying again: the body's ``retry_after``,
    else the ``Retry-After`` header, else ``X-RateLimit-Reset``, else `DEFAULT_RETRY_AFTER`; always
    finite and within ``[0, MAX_PROVIDER_DELAY]`` (see `videobot.modelslab.delays`), so callers
    only clamp it to their own minimum. ``queue_limit`` is the account's real queue size when the
    message names it ("Maximum 5 queued requests"), else None.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float = DEFAULT_RETRY_AFTER,
        queue_limit: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.retry_after = retry_after
        self.queue_limit = queue_limit

    @property
    def user_message(self) -> str:
        """Tell the member roughly how long the wait is."""
        seconds = max(1, round(self.retry_after))
        return f"The video service is busy right now. Please try again in about {seconds} seconds."

    def __str__(self) -> str:
        limit = "" if self.queue_limit is None else f", queue limit {self.queue_limit}"
        return f"{super().__str__()} [retry after {self.retry_after:g} s{limit}]"


class BadRequest(ModelsLabError):
    """ModelsLab rejected the request itself: a missing or invalid field, an unknown model, or an
    input image it could not fetch.

    ``field_errors`` maps a request field to the provider's complaints about it, when it named any.
    """

    def __init__(
        self,
        message: str,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        *,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.field_errors: dict[str, list[str]] = {k: list(v) for k, v in (field_errors or {}).items()}

    @property
    def user_message(self) -> str:
        """Point the member at what to change, as far as the provider said."""
        lowered = self.message.lower()
        if "image" in lowered and ("fetch" in lowered or "download" in lowered):
            return "The video service could not open the image. Please upload it again."
        if "audio" in lowered and ("fetch" in lowered or "download" in lowered):
            return "The video service could not open the audio file. Please upload it again."
        if "model" in lowered and "not found" in lowered:
            return "This video model is not available right now. Please pick another model."
        if "prompt" in self.field_errors:
            return "The video service did not accept the prompt. Please reword it and try again."
        return "The video service did not accept these settings. Please change them and try again."


class UnknownModel(BadRequest):
    """ModelsLab does not know the model id ("Model not found", or HTTP 404 on model search).

    A `BadRequest`, so code that handles refused requests handles this one too.
    """

    @property
    def user_message(self) -> str:
        """The model is the problem, not the member's settings."""
        return "This video model is not available right now. Please pick another model."


class JobNotFound(ModelsLabError):
    """ModelsLab does not know the job we asked about (HTTP 404 on fetch, or a "not found" text).

    Right after a submit this can be the provider's own lag rather than a lost job: the caller
    decides with a grace period. It is never raised for 5xx answers or network failures, which are
    `Transient`.
    """

    default_user_message = "The video service lost track of this video."

    def __init__(
        self,
        message: str,
        *,
        provider_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.provider_id = provider_id


class ProviderFailed(ModelsLabError):
    """The job itself failed at ModelsLab (status ``failed`` or ``error`` when fetching it, or an
    ``error`` answer to a submit that fits no more specific error)."""

    default_user_message = "The video could not be made. Please try a different prompt or image."

    def __init__(
        self,
        message: str,
        *,
        provider_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.provider_id = provider_id


class Transient(ModelsLabError):
    """A failure that may go away by itself: HTTP 5xx, a timeout, a broken connection, or a body
    that is not the JSON ModelsLab speaks.

    ``request_may_have_arrived`` is False only when no connection to ModelsLab could be made at all.
    When it is True after a submit, the job may exist (and cost money): do not submit again blindly.
    """

    default_user_message = "The video service is not responding right now. Please try again in a few minutes."

    def __init__(
        self,
        message: str,
        *,
        request_may_have_arrived: bool = True,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.request_may_have_arrived = request_may_have_arrived

    def __str__(self) -> str:
        arrived = "may have arrived" if self.request_may_have_arrived else "never sent"
        return f"{super().__str__()} [request {arrived}]"


class OutputUnavailable(ModelsLabError):
    """None of a finished job's output URLs served a video (404 pages, HTML, other non-MP4 bodies)."""

    default_user_message = "The finished video could not be downloaded from the video service."


class UnsafeURL(OutputUnavailable):
    """Every output URL was refused before or while connecting: not http(s), or pointing at a
    private, loopback, link-local or otherwise non-public address (directly, through DNS or through
    a redirect) that is not the configured ModelsLab endpoint itself.

    ``str()`` names the URLs without their query strings, never a credential.
    """
