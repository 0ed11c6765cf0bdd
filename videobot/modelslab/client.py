"""The ModelsLab video-fusion API client.

Every call goes through `ModelsLabClient._post`, which owns the request, the timeout, the reading of
the body and the mapping of every failure to the `videobot.modelslab.errors` hierarchy, so callers
never handle aiohttp exceptions or raw envelopes. The wire contract, with its quirks, is described
in docs/modelslab-api.md.
"""

from __future__ import annotations

import base64
import contextvars
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from urllib.parse import quote, quote_plus

import aiohttp
from yarl import URL

from videobot.modelslab.delays import delay_from_rate_limit_reset, delay_from_retry_after_header
from videobot.modelslab.envelope import (
    ERROR_STATUSES,
    JobStatus,
    ProviderJob,
    extract_field_errors,
    extract_message,
    extract_urls,
    is_http_url,
    parse_job,
    parse_retry_after,
    raw_status,
)
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
from videobot.modelslab.model_search import ModelInfo, parse_model_info

__all__ = [
    "DEFAULT_BASE_URL",
    "GENERATION_ENDPOINTS",
    "HOSTED_FILE_LIFETIME",
    "HostedFile",
    "ModelsLabClient",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://modelslab.com/api"
GENERATION_ENDPOINTS: Final = frozenset({"text-to-video", "image-to-video"})
# base64_to_url documents 24 hours of validity for the URLs it hands out.
HOSTED_FILE_LIFETIME: Final = timedelta(hours=24)
# A job envelope is a few kilobytes (meta echoes the request); anything far bigger is not the API.
MAX_RESPONSE_BYTES: Final = 2 * 1024 * 1024
# Connecting gets its own, shorter limit so that a timeout while connecting is recognised as
# "the request never left" (aiohttp raises ConnectionTimeoutError) rather than a timeout mid-request.
_CONNECT_TIMEOUT_CAP: Final = 15.0
_REDACTED: Final = "[redacted]"

# Secrets of the current call besides the key: the webhook URL of a submit, whose path is the bot's
# webhook secret. A context variable, so concurrent submits in other tasks never see each other's.
_CALL_SECRETS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("_CALL_SECRETS", default=())

_Call = Literal["submit", "fetch", "host_file", "wallet_balance", "model_search"]

# Message texts the API uses when it answers HTTP 200 with {"status": "error"} instead of a 4xx.
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
class HostedFile:
    """A file ModelsLab hosts for us (``base64_to_url``), valid until ``expires_at`` (aware UTC)."""

    url: str
    expires_at: datetime


@dataclass(frozen=True)
class _Reply:
    """One HTTP answer, read and decoded but not yet judged."""

    http_status: int
    body: dict[str, object] | None  # None when the body is not a JSON object
    snippet: str  # the start of the raw body, for error messages about non-JSON answers
    # The wait the headers ask for (Retry-After, else X-RateLimit-Reset), already bounded.
    header_delay: float | None


class ModelsLabClient:
    """Talks to ModelsLab's video-fusion API over an injected aiohttp session.

    The session belongs to the caller (opened and closed in ``main()``); the client only borrows it.
    ``base_url`` is configurable so tests and end-to-end runs can point it at a loopback fake.
    ``request_timeout`` bounds each HTTP call, end to end, in seconds.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = 60.0,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        parsed = URL(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("base_url must be an absolute http(s) URL")
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        self._session = session
        self._api_key = api_key
        # Every spelling of the key that can turn up in a text: as is, and URL-encoded either way.
        self._key_forms = sorted(
            {api_key, quote(api_key, safe=""), quote_plus(api_key), _query_form(api_key)},
            key=len,
            reverse=True,
        )
        self._base_url = base_url.rstrip("/")
        self._request_timeout = request_timeout
        self._timeout = aiohttp.ClientTimeout(
            total=request_timeout, connect=min(_CONNECT_TIMEOUT_CAP, request_timeout / 2)
        )

    def __repr__(self) -> str:
        # Spelled out so the key can never end up in a log through repr().
        return f"ModelsLabClient(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        """The API root the client sends to, without a trailing slash."""
        return self._base_url

    async def submit(
        self,
        endpoint: str,
        payload: Mapping[str, object],
        *,
        track_id: str | None = None,
        webhook: str | None = None,
    ) -> ProviderJob:
        """Start a generation job on ``endpoint`` ("text-to-video" or "image-to-video").

        ``payload`` holds the model's fields (``model_id``, ``prompt``, ...) and is sent as given,
        ``track_id`` and ``webhook`` included; the key is added here. ``track_id`` and ``webhook``
        may instead be passed as arguments (a conflicting value in ``payload`` is a ValueError);
        ``webhook`` must be an absolute http(s) URL (ModelsLab only calls HTTPS ones).
        The request is sent exactly once and never retried: a repeated paid submit can create a
        second job. Usually returns a PROCESSING job with its ``provider_id`` (taken from ``id`` or
        ``fetch_result``); an immediate SUCCESS is possible. Raises a `ModelsLabError`; an ``error``
        answer is never returned as a job. On `Transient` with ``request_may_have_arrived`` the job
        may exist even though no id came back.
        """
        if endpoint not in GENERATION_ENDPOINTS:
            raise ValueError(f"unknown generation endpoint {endpoint!r}")
        fields = dict(payload)
        for name, value in (("track_id", track_id), ("webhook", webhook)):
            if value is None:
                continue
            if name in fields and fields[name] != value:
                raise ValueError(f"{name} given twice with different values")
            fields[name] = value
        hook = fields.get("webhook")
        if hook is not None and not (isinstance(hook, str) and is_http_url(hook)):
            raise ValueError("webhook must be an absolute http(s) URL")
        token = _CALL_SECRETS.set(_webhook_secrets(hook) if isinstance(hook, str) else ())
        try:
            return await self._submit(endpoint, fields)
        finally:
            _CALL_SECRETS.reset(token)

    async def _submit(self, endpoint: str, fields: Mapping[str, object]) -> ProviderJob:
        reply = await self._post(f"/v7/video-fusion/{endpoint}", fields, call="submit")
        body = self._json_body(reply, "submit")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._error_from_body(
                body, "submit", status_text, reply.http_status, header_delay=reply.header_delay
            )
        job = self._scrubbed_job(parse_job(body))
        if job.status is JobStatus.SUCCESS:
            return job
        if job.provider_id is None:
            # Without an id there is nothing to poll. The job may still have been created, so this
            # must not look like a clean refusal that invites a resubmit.
            known = self._error_from_text(
                job.message, "submit", status_text, reply.http_status, body, header_delay=reply.header_delay
            )
            if known is not None:
                raise known
            raise Transient(
                f"ModelsLab accepted the submit without a job id (status {status_text!r})",
                request_may_have_arrived=True,
                http_status=reply.http_status,
            )
        return job

    async def fetch(self, provider_job_id: str) -> ProviderJob:
        """Ask ModelsLab where job ``provider_job_id`` stands. Idempotent: safe to repeat.

        Returns PROCESSING (also for ``queued`` and unknown statuses, and for ``success`` without
        output) or SUCCESS with ``output_urls``. A failed job raises `ProviderFailed` rather than
        returning FAILED; an unknown job raises `JobNotFound`.
        """
        job_id = provider_job_id.strip()
        if not job_id:
            # Polling with an empty id is the official CLI's bug: it fetches nothing for minutes.
            raise ValueError("provider_job_id must not be empty")
        reply = await self._post(
            f"/v7/video-fusion/fetch/{quote(job_id, safe='')}", {}, call="fetch", job_id=job_id
        )
        body = self._json_body(reply, "fetch")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._error_from_body(
                body, "fetch", status_text, reply.http_status, job_id=job_id, header_delay=reply.header_delay
            )
        job = self._scrubbed_job(parse_job(body, default_id=job_id))
        if status_text is None and "id" not in body and "fetch_result" not in body:
            # A bare {"message": "Invalid API key"} is an error in all but name.
            known = self._error_from_text(
                job.message, "fetch", status_text, reply.http_status, body, header_delay=reply.header_delay
            )
            if known is not None:
                raise known
        return job

    async def host_file(self, data: bytes, mime: str) -> HostedFile:
        """Upload ``data`` through ``/v6/base64_to_url`` and return the URL ModelsLab hosts it at.

        This is how inputs such as ``init_image`` get a URL ModelsLab itself can fetch. The URL
        lasts 24 hours; ``expires_at`` counts from before the upload so it is never optimistic.
        """
        if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", mime):
            raise ValueError(f"not a MIME type: {mime!r}")
        if not data:
            raise ValueError("cannot host an empty file")
        started = datetime.now(UTC)
        encoded = base64.b64encode(data).decode("ascii")
        payload = {"base64_string": f"data:{mime};base64,{encoded}"}
        reply = await self._post("/v6/base64_to_url", payload, call="host_file")
        body = self._json_body(reply, "host_file")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._error_from_body(body, "host_file", status_text, reply.http_status)
        url = _hosted_url(body)
        if url is None:
            raise Transient("ModelsLab base64_to_url answered without a URL", http_status=reply.http_status)
        return HostedFile(url=url, expires_at=started + HOSTED_FILE_LIFETIME)

    async def wallet_balance(self) -> float:
        """The ModelsLab account balance in USD (``data.balance``), as a finite float.

        Raises `InvalidKey` (HTTP 401 or a key message), `InsufficientFunds` (HTTP 402 or a credit
        message), `Transient` when the answer carries no usable number, and the other typed errors
        like every call.
        """
        reply = await self._post("/wallet_balance", {}, call="wallet_balance")
        body = self._json_body(reply, "wallet_balance")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._error_from_body(body, "wallet_balance", status_text, reply.http_status)
        data = body.get("data")
        balance = _as_number(data.get("balance") if isinstance(data, Mapping) else body.get("balance"))
        if balance is None or not math.isfinite(balance):
            raise Transient(
                "ModelsLab wallet_balance answered without a usable balance", http_status=reply.http_status
            )
        return balance

    async def model_search(self, model_id: str) -> ModelInfo:
        """What ModelsLab says about ``model_id``: ``GET /v6/model-search/{model_id}?key=...``.

        Returns the model's parameters (names, types, enums, defaults) from its endpoint schemas,
        for checking the catalog against the provider; not meant to gate start-up. Raises
        `UnknownModel` when ModelsLab does not know the id (HTTP 404 or a "not found" answer),
        `Transient` when the answer describes no model, and the other typed errors like every call.
        The key travels in the query string here, so every error text is scrubbed of it (raw and
        URL-encoded) like the rest.
        """
        wanted = model_id.strip()
        if not wanted:
            raise ValueError("model_id must not be empty")
        reply = await self._request(
            "GET", f"/v6/model-search/{quote(wanted, safe='')}", None, call="model_search"
        )
        body = self._json_body(reply, "model_search")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._error_from_body(body, "model_search", status_text, reply.http_status)
        info = parse_model_info(body, wanted)
        if info is None:
            raise Transient(
                f"ModelsLab model_search answered without a model for {wanted!r}",
                http_status=reply.http_status,
            )
        return info

    # -- the one request method -------------------------------------------------------------------

    async def _post(
        self, path: str, fields: Mapping[str, object], *, call: _Call, job_id: str | None = None
    ) -> _Reply:
        """POST ``fields`` plus the key (in the JSON body) to ``path``; see `_request`."""
        return await self._request("POST", path, fields, call=call, job_id=job_id)

    async def _request(
        self,
        method: Literal["GET", "POST"],
        path: str,
        fields: Mapping[str, object] | None,
        *,
        call: _Call,
        job_id: str | None = None,
    ) -> _Reply:
        """Send one request to ``path``; return the decoded answer or raise.

        POST carries ``fields`` plus the key as JSON; GET carries the key in the query string
        (``model_search``), which is why nothing here ever logs or reports a full URL.
        HTTP 4xx/5xx answers are turned into errors here, by status. Timeouts and connection
        failures become `Transient`, marked as never sent only when no connection was made.
        """
        log.debug("ModelsLab %s: %s %s %s", call, method, path, self._scrub(_describe(fields or {})))
        url = self._base_url + path
        headers = {"Accept": "application/json"}
        data: str | None = None
        params: dict[str, str] | None = None
        if method == "POST":
            # The key is added last so that no caller field can replace it, and the body is encoded
            # here so that a value JSON cannot carry fails before anything is sent.
            data = json.dumps({**(fields or {}), "key": self._api_key})
            headers["Content-Type"] = "application/json"
        else:
            params = {"key": self._api_key}
        try:
            async with self._session.request(
                method, url, data=data, params=params, headers=headers, timeout=self._timeout
            ) as response:
                raw = await _read_limited(response, MAX_RESPONSE_BYTES)
                http_status = response.status
                header_delay = _header_delay(response.headers)
        except aiohttp.ConnectionTimeoutError as exc:
            raise Transient(
                f"ModelsLab {call}: timed out connecting to {self._host()}", request_may_have_arrived=False
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise Transient(
                f"ModelsLab {call}: could not connect to {self._host()}: {self._scrub(str(exc))}",
                request_may_have_arrived=False,
            ) from exc
        except TimeoutError as exc:
            raise Transient(
                f"ModelsLab {call}: no complete answer within {self._request_timeout:g} s"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            # Resets, disconnects, broken chunked bodies: the request may well have arrived.
            raise Transient(
                f"ModelsLab {call}: connection failed: {type(exc).__name__}: {self._scrub(str(exc))}"
            ) from exc

        reply = _decode(http_status, raw, header_delay)
        log.debug(
            "ModelsLab %s: HTTP %s status=%s id=%s",
            call,
            http_status,
            raw_status(reply.body) if reply.body is not None else "(not JSON)",
            reply.body.get("id") if reply.body is not None else None,
        )
        if http_status >= 400:
            raise self._error_from_http(reply, call, job_id=job_id)
        return reply

    # -- classification ---------------------------------------------------------------------------

    def _json_body(self, reply: _Reply, call: _Call) -> dict[str, object]:
        """The JSON object of a non-error reply; anything else is a broken answer, so `Transient`."""
        if reply.body is None or not 200 <= reply.http_status < 300:
            raise Transient(
                f"ModelsLab {call}: unexpected answer (HTTP {reply.http_status}): "
                f"{self._scrub(reply.snippet)!r}",
                http_status=reply.http_status,
            )
        return reply.body

    def _error_from_http(self, reply: _Reply, call: _Call, *, job_id: str | None = None) -> ModelsLabError:
        """Map a 4xx/5xx answer to an error. The HTTP status decides; the body only explains."""
        status = reply.http_status
        body = reply.body or {}
        message = self._scrub(extract_message(body) or reply.snippet.strip() or f"HTTP {status}")
        text = f"ModelsLab {call}: {message}"
        if status >= 500 or status == 408:
            return Transient(text, http_status=status)
        if status == 400:
            return self._bad_request(text, message, body, status)
        if status == 401:
            return InvalidKey(text, http_status=status)
        if status == 402:
            return InsufficientFunds(text, http_status=status)
        if status == 403:
            return PlanRestricted(text, http_status=status)
        if status == 429:
            return QueueFull(
                text,
                retry_after=self._retry_after(body, reply.header_delay),
                queue_limit=_queue_limit(message),
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
        known = self._error_from_text(
            extract_message(body), call, status_text, status, body, header_delay=reply.header_delay
        )
        return known or self._bad_request(text, message, body, status)

    def _bad_request(
        self, text: str, message: str, body: Mapping[str, object], http_status: int
    ) -> BadRequest:
        fields = self._scrub_fields(extract_field_errors(body))
        if _MODEL_NOT_FOUND_TEXT.search(message):
            return UnknownModel(text, fields, http_status=http_status)
        return BadRequest(text, fields, http_status=http_status)

    def _error_from_body(
        self,
        body: Mapping[str, object],
        call: _Call,
        status_text: str | None,
        http_status: int,
        *,
        job_id: str | None = None,
        header_delay: float | None = None,
    ) -> ModelsLabError:
        """Map an HTTP 2xx answer whose ``status`` is ``error`` or ``failed``, by its message."""
        message = extract_message(body)
        known = self._error_from_text(
            message, call, status_text, http_status, body, header_delay=header_delay
        )
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
        return self._bad_request(text, scrubbed, body, http_status)

    def _error_from_text(
        self,
        message: str | None,
        call: _Call,
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
                retry_after=self._retry_after(body, header_delay),
                queue_limit=_queue_limit(message),
                http_status=http_status,
            )
        if _KEY_TEXT.search(message):
            return InvalidKey(text, http_status=http_status)
        if _FUNDS_TEXT.search(message):
            return InsufficientFunds(text, http_status=http_status)
        if _PLAN_TEXT.search(message):
            return PlanRestricted(text, http_status=http_status)
        return None

    def _retry_after(self, body: Mapping[str, object], header_delay: float | None) -> float:
        """The body's ``retry_after``, else the headers' wait, else the documented 30 s."""
        from_body = parse_retry_after(body)
        if from_body is not None:
            return from_body
        if header_delay is not None:
            return header_delay
        return DEFAULT_RETRY_AFTER

    # -- hygiene ----------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Remove the API key from text copied out of an answer or an exception (``meta`` and some
        messages echo it; a model_search URL carries it in the query string, URL-encoded), and the
        webhook URL of the submit under way (its path is the bot's webhook secret)."""
        for form in (*_CALL_SECRETS.get(), *self._key_forms):
            text = text.replace(form, _REDACTED)
        return text

    def _scrub_fields(self, fields: Mapping[str, list[str]]) -> dict[str, list[str]]:
        return {self._scrub(k): [self._scrub(e) for e in v] for k, v in fields.items()}

    def _scrubbed_job(self, job: ProviderJob) -> ProviderJob:
        if job.message is None:
            return job
        return replace(job, message=self._scrub(job.message))

    def _host(self) -> str:
        return URL(self._base_url).host or self._base_url


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read the body, refusing more than ``limit`` bytes so a runaway answer cannot fill memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise Transient(f"ModelsLab answered with more than {limit} bytes", http_status=response.status)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(http_status: int, raw: bytes, header_delay: float | None) -> _Reply:
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed: object = json.loads(text)
    except (ValueError, RecursionError):
        parsed = None
    body = parsed if isinstance(parsed, dict) else None
    snippet = " ".join(text[:200].split())
    return _Reply(http_status=http_status, body=body, snippet=snippet, header_delay=header_delay)


def _query_form(text: str) -> str:
    """``text`` as aiohttp/yarl put it in a query string."""
    return URL("http://h/").with_query(k=text).raw_query_string[2:]


def _header_delay(headers: Mapping[str, str]) -> float | None:
    """The wait the headers ask for: ``Retry-After``, else ``X-RateLimit-Reset`` (bounded)."""
    now = datetime.now(UTC)
    retry_after = delay_from_retry_after_header(headers.get("Retry-After"), now=now)
    if retry_after is not None:
        return retry_after
    return delay_from_rate_limit_reset(headers.get("X-RateLimit-Reset"), now=now)


def _queue_limit(message: str) -> int | None:
    """The account's queue size when a queue-full message states it, else None."""
    for pattern in _QUEUE_LIMIT_TEXT:
        match = pattern.search(message)
        if match:
            limit = int(match.group(1))
            return limit if 0 < limit <= 10_000 else None
    return None


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _hosted_url(body: Mapping[str, object]) -> str | None:
    """The hosted file's URL: ``output`` (list or text), ``url``, ``link`` or ``data.url``/``data.link``."""
    data = body.get("data")
    candidates: list[object] = [body.get("output"), body.get("url"), body.get("link")]
    if isinstance(data, Mapping):
        candidates += [data.get("url"), data.get("link"), data.get("output")]
    else:
        candidates.append(data)
    for candidate in candidates:
        for url in extract_urls(candidate):
            if is_http_url(url):
                return url
    return None


def _webhook_secrets(url: str) -> tuple[str, ...]:
    """The forms in which a webhook URL's secret can show up in a text: whole, or just its path."""
    forms = [url]
    try:
        path = URL(url).raw_path
    except ValueError:
        path = ""
    if len(path) >= 8:  # a path that short carries no secret, and scrubbing "/" would garble text
        forms.append(path)
    return tuple(sorted(forms, key=len, reverse=True))


def _describe(fields: Mapping[str, object]) -> str:
    """The request fields for a debug log: never the key nor the webhook's path (a secret), long
    values (base64 uploads) shortened."""
    shown: dict[str, object] = {}
    for name, value in fields.items():
        if name == "key":
            continue
        if name == "webhook" and isinstance(value, str):
            try:
                shown[name] = f"{URL(value).origin()}/{_REDACTED}"
            except ValueError:
                shown[name] = _REDACTED
        elif isinstance(value, str) and len(value) > 120:
            shown[name] = f"{value[:60]}...({len(value)} chars)"
        else:
            shown[name] = value
    return json.dumps(shown, default=str)
