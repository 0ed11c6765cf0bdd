"""The ModelsLab video-fusion API client.

Every call goes through `ModelsLabClient._request`, which owns the request, the timeout and the
reading of the body; `videobot.modelslab.classify` maps every failure to the `videobot.modelslab.errors`
hierarchy, so callers never handle aiohttp exceptions or raw envelopes. Observers (metrics, owner
alerts) hear how each call ended. The wire contract, with its quirks, is described
in docs/modelslab-api.md.
"""

from __future__ import annotations

import base64
import contextvars
import functools
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Concatenate, Final, Literal, ParamSpec, Protocol, TypeVar
from urllib.parse import quote, quote_plus

import aiohttp
from yarl import URL

from videobot.modelslab import wire
from videobot.modelslab.classify import Call, ErrorClassifier, Reply
from videobot.modelslab.envelope import (
    ERROR_STATUSES,
    JobStatus,
    ProviderJob,
    is_http_url,
    parse_job,
    raw_status,
)
from videobot.modelslab.errors import (
    ModelsLabError,
    Transient,
)
from videobot.modelslab.model_search import ModelInfo, parse_model_info

__all__ = [
    "DEFAULT_BASE_URL",
    "GENERATION_ENDPOINTS",
    "HOSTED_FILE_LIFETIME",
    "HostedFile",
    "ModelsLabClient",
    "ModelsLabObserver",
]

log = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")

DEFAULT_BASE_URL: Final = "https://modelslab.com/api"
GENERATION_ENDPOINTS: Final = frozenset({"text-to-video", "image-to-video"})
# base64_to_url documents 24 hours of validity for the URLs it hands out.
HOSTED_FILE_LIFETIME: Final = timedelta(hours=24)
# A job envelope is a few kilobytes (meta echoes the request); anything far bigger is not the API.
MAX_RESPONSE_BYTES: Final = 2 * 1024 * 1024
# Connecting gets its own, shorter limit so that a timeout while connecting is recognised as
# "the request never left" (aiohttp raises ConnectionTimeoutError) rather than a timeout mid-request.
_CONNECT_TIMEOUT_CAP: Final = 15.0

# Secrets of the current call besides the key: the webhook URL of a submit, whose path is the bot's
# webhook secret. A context variable, so concurrent submits in other tasks never see each other's.
_CALL_SECRETS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("_CALL_SECRETS", default=())


# Message texts the API uses when it answers HTTP 200 with {"status": "error"} instead of a 4xx.
@dataclass(frozen=True)
class HostedFile:
    """A file ModelsLab hosts for us (``base64_to_url``), valid until ``expires_at`` (aware UTC)."""

    url: str
    expires_at: datetime


class ModelsLabObserver(Protocol):
    """Told how every call ends (``call``: submit, fetch, host_file, wallet_balance, model_search)."""

    def modelslab_answered(self, call: str) -> None:
        """The call succeeded."""

    def modelslab_failed(self, call: str, error: ModelsLabError) -> None:
        """The call raised ``error`` (already typed and scrubbed of secrets)."""


def _observed(
    call: Call,
) -> Callable[
    [Callable[Concatenate[ModelsLabClient, _P], Awaitable[_T]]],
    Callable[Concatenate[ModelsLabClient, _P], Awaitable[_T]],
]:
    """Report the call's outcome to the client's observers, after the client has judged it."""

    def wrap(
        method: Callable[Concatenate[ModelsLabClient, _P], Awaitable[_T]],
    ) -> Callable[Concatenate[ModelsLabClient, _P], Awaitable[_T]]:
        @functools.wraps(method)
        async def observed(self: ModelsLabClient, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
            try:
                result = await method(self, *args, **kwargs)
            except ModelsLabError as error:
                self._tell(call, error)
                raise
            self._tell(call, None)
            return result

        return observed

    return wrap


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
        observers: Iterable[ModelsLabObserver] = (),
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
            {api_key, quote(api_key, safe=""), quote_plus(api_key), wire.query_form(api_key)},
            key=len,
            reverse=True,
        )
        self._base_url = base_url.rstrip("/")
        self._request_timeout = request_timeout
        self._timeout = aiohttp.ClientTimeout(
            total=request_timeout, connect=min(_CONNECT_TIMEOUT_CAP, request_timeout / 2)
        )
        self._classify = ErrorClassifier(self._scrub)
        self._observers: list[ModelsLabObserver] = list(observers)

    def observe(self, observer: ModelsLabObserver) -> None:
        """Tell ``observer`` how every call ends, from now on (metrics, owner alerts)."""
        self._observers.append(observer)

    def _tell(self, call: Call, error: ModelsLabError | None) -> None:
        for observer in self._observers:
            # An observer's bug must never change what the caller sees.
            try:
                if error is None:
                    observer.modelslab_answered(call)
                else:
                    observer.modelslab_failed(call, error)
            except Exception:
                log.exception("a ModelsLab observer failed")

    def __repr__(self) -> str:
        # Spelled out so the key can never end up in a log through repr().
        return f"ModelsLabClient(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        """The API root the client sends to, without a trailing slash."""
        return self._base_url

    @_observed("submit")
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
        token = _CALL_SECRETS.set(wire.webhook_secrets(hook) if isinstance(hook, str) else ())
        try:
            return await self._submit(endpoint, fields)
        finally:
            _CALL_SECRETS.reset(token)

    async def _submit(self, endpoint: str, fields: Mapping[str, object]) -> ProviderJob:
        reply = await self._post(f"/v7/video-fusion/{endpoint}", fields, call="submit")
        body = self._classify.json_body(reply, "submit")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._classify.from_body(
                body, "submit", status_text, reply.http_status, header_delay=reply.header_delay
            )
        job = self._scrubbed_job(parse_job(body))
        if job.status is JobStatus.SUCCESS:
            return job
        if job.provider_id is None:
            # Without an id there is nothing to poll. The job may still have been created, so this
            # must not look like a clean refusal that invites a resubmit.
            known = self._classify.from_text(
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

    @_observed("fetch")
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
        body = self._classify.json_body(reply, "fetch")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._classify.from_body(
                body, "fetch", status_text, reply.http_status, job_id=job_id, header_delay=reply.header_delay
            )
        job = self._scrubbed_job(parse_job(body, default_id=job_id))
        if status_text is None and "id" not in body and "fetch_result" not in body:
            # A bare {"message": "Invalid API key"} is an error in all but name.
            known = self._classify.from_text(
                job.message, "fetch", status_text, reply.http_status, body, header_delay=reply.header_delay
            )
            if known is not None:
                raise known
        return job

    @_observed("host_file")
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
        body = self._classify.json_body(reply, "host_file")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._classify.from_body(body, "host_file", status_text, reply.http_status)
        url = wire.hosted_url(body)
        if url is None:
            raise Transient("ModelsLab base64_to_url answered without a URL", http_status=reply.http_status)
        return HostedFile(url=url, expires_at=started + HOSTED_FILE_LIFETIME)

    @_observed("wallet_balance")
    async def wallet_balance(self) -> float:
        """The ModelsLab account balance in USD (``data.balance``), as a finite float.

        Raises `InvalidKey` (HTTP 401 or a key message), `InsufficientFunds` (HTTP 402 or a credit
        message), `Transient` when the answer carries no usable number, and the other typed errors
        like every call.
        """
        reply = await self._post("/wallet_balance", {}, call="wallet_balance")
        body = self._classify.json_body(reply, "wallet_balance")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._classify.from_body(body, "wallet_balance", status_text, reply.http_status)
        data = body.get("data")
        balance = wire.as_number(data.get("balance") if isinstance(data, Mapping) else body.get("balance"))
        if balance is None or not math.isfinite(balance):
            raise Transient(
                "ModelsLab wallet_balance answered without a usable balance", http_status=reply.http_status
            )
        return balance

    @_observed("model_search")
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
        body = self._classify.json_body(reply, "model_search")
        status_text = raw_status(body)
        if status_text in ERROR_STATUSES:
            raise self._classify.from_body(body, "model_search", status_text, reply.http_status)
        info = parse_model_info(body, wanted)
        if info is None:
            raise Transient(
                f"ModelsLab model_search answered without a model for {wanted!r}",
                http_status=reply.http_status,
            )
        return info

    # -- the one request method -------------------------------------------------------------------

    async def _post(
        self, path: str, fields: Mapping[str, object], *, call: Call, job_id: str | None = None
    ) -> Reply:
        """POST ``fields`` plus the key (in the JSON body) to ``path``; see `_request`."""
        return await self._request("POST", path, fields, call=call, job_id=job_id)

    async def _request(
        self,
        method: Literal["GET", "POST"],
        path: str,
        fields: Mapping[str, object] | None,
        *,
        call: Call,
        job_id: str | None = None,
    ) -> Reply:
        """Send one request to ``path``; return the decoded answer or raise.

        POST carries ``fields`` plus the key as JSON; GET carries the key in the query string
        (``model_search``), which is why nothing here ever logs or reports a full URL.
        HTTP 4xx/5xx answers are turned into errors here, by status. Timeouts and connection
        failures become `Transient`, marked as never sent only when no connection was made.
        """
        log.debug("ModelsLab %s: %s %s %s", call, method, path, self._scrub(wire.describe(fields or {})))
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
                raw = await wire.read_limited(response, MAX_RESPONSE_BYTES)
                http_status = response.status
                header_delay = wire.header_delay(response.headers)
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

        reply = wire.decode(http_status, raw, header_delay)
        log.debug(
            "ModelsLab %s: HTTP %s status=%s id=%s",
            call,
            http_status,
            raw_status(reply.body) if reply.body is not None else "(not JSON)",
            reply.body.get("id") if reply.body is not None else None,
        )
        if http_status >= 400:
            raise self._classify.from_http(reply, call, job_id=job_id)
        return reply

    # -- hygiene ----------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Remove the API key from text copied out of an answer or an exception (``meta`` and some
        messages echo it; a model_search URL carries it in the query string, URL-encoded), and the
        webhook URL of the submit under way (its path is the bot's webhook secret)."""
        for form in (*_CALL_SECRETS.get(), *self._key_forms):
            text = text.replace(form, wire.REDACTED)
        return text

    def _scrub_fields(self, fields: Mapping[str, list[str]]) -> dict[str, list[str]]:
        return {self._scrub(k): [self._scrub(e) for e in v] for k, v in fields.items()}

    def _scrubbed_job(self, job: ProviderJob) -> ProviderJob:
        if job.message is None:
            return job
        return replace(job, message=self._scrub(job.message))

    def _host(self) -> str:
        return URL(self._base_url).host or self._base_url
