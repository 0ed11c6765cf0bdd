"""A loopback fake of the ModelsLab API that speaks the real wire protocol over HTTP.

It serves the calls the bot makes (video-fusion text-to-video, image-to-video and fetch,
``/v6/base64_to_url``, ``/wallet_balance``, ``GET /v6/model-search/{model_id}``) plus the output
files, with every response shape and error style described in docs/modelslab-api.md, and it POSTs
webhooks when a job carrying ``webhook`` finishes. Tests drive it four ways:

* ``quirks``: switch on a wire variant for the rest of a test (``messege`` spelling, HTTP 200
  errors, string ids, ``proxy_links`` as an object, no ``id`` in processing replies, the result URL
  only in ``output_url``/``proxy_links``/``future_links``, ...);
* ``fail_next_submit`` / ``fail_next_fetch`` / ``fail_next_wallet``: a fault for the next call(s);
* attributes for standing behaviour: ``queue_limit``, ``balance``, ``wire_eta`` (any value, absurd
  ones included), ``retry_after`` / ``retry_after_header`` / ``rate_limit_reset`` on 429s,
  ``not_found_for_seconds`` (fetch 404s right after submit), ``webhook_mode`` / ``webhook_delay``,
  ``default_output_mode`` / ``default_proxy_mode`` (redirects, HEIC/AVIF, moov at the end, ...);
* ``finish`` / ``fail_job`` / ``serve_output`` and the ``jobs`` dict: decide or inspect a job's fate.

Everything it received is in ``requests`` (API calls), ``input_fetches`` (the ``init_image`` /
``init_audio`` downloads it made, which prove the bot handed over a URL that really works),
``file_requests`` (output downloads), ``webhook_deliveries`` and ``refused_submits``.

Run it alone with ``python -m tests.fakes.modelslab_server [--port N]`` for manual tries.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import json
import logging
import math
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

TEXT_TO_VIDEO = "text-to-video"
IMAGE_TO_VIDEO = "image-to-video"
LARGE_VIDEO_SIZE = 12 * 1024 * 1024
# base64_to_url documents files up to 5 MB.
UPLOAD_LIMIT = 5 * 1000 * 1000
_INPUT_LIMIT = 20 * 1024 * 1024
_FIRST_ID = 155262350

# How an output URL answers: the video; an HTML 404; an HTML page with 200; a 302 redirect (to
# ``FakeJob.redirect_to``, by default the fake's own /files/ copy); an HEIC or AVIF image (both start
# with ftyp); a valid MP4 with moov after mdat; an ftyp+mdat file with no moov; an MP4 cut off
# halfway.
OutputMode = Literal["ok", "404", "html", "redirect", "heic", "avif", "moov_at_end", "no_moov", "truncated"]
OUTPUT_MODES: frozenset[str] = frozenset(
    {"ok", "404", "html", "redirect", "heic", "avif", "moov_at_end", "no_moov", "truncated"}
)
WebhookMode = Literal["once", "twice", "never"]

SUBMIT_FAULTS = frozenset(
    {
        "http_500",
        "http_503",
        "timeout",
        "queue_full",
        "insufficient_credits",
        "invalid_key",
        "plan_gate",
        "bad_request",
        "model_not_found",
        "connection_drop",
        "not_json",
        "no_id",
        "prompt_too_long",
    }
)
FETCH_FAULTS = frozenset(
    {
        "http_500",
        "http_503",
        "timeout",
        "connection_reset",
        "not_found",
        "failed",
        "error",
        "rate_limited",
        "output_404",
        "not_mp4",
    }
)
WALLET_FAULTS = frozenset({"insufficient_credits", "invalid_key", "http_500"})


@dataclass(frozen=True)
class ModelSpec:
    """What the fake checks for one model; None means "any value" (no public list)."""

    endpoint: str
    required: tuple[str, ...] = ("prompt",)
    durations: frozenset[int] | None = None
    aspect_ratios: frozenset[str] | None = None
    resolutions: frozenset[str] | None = None


_I2V = ("prompt", "init_image")
_VEO_DURATIONS = frozenset({4, 6, 8})
_VEO_ASPECTS = frozenset({"16:9", "9:16"})
_WAN_DURATIONS = frozenset({5, 10})
_WAN_RESOLUTIONS = frozenset({"720p", "1080p"})

# Model ids are case-sensitive, exactly as ModelsLab spells them.
MODELS: dict[str, ModelSpec] = {
    "veo-3.1-fast": ModelSpec(TEXT_TO_VIDEO, durations=_VEO_DURATIONS, aspect_ratios=_VEO_ASPECTS),
    "veo-3.1": ModelSpec(TEXT_TO_VIDEO, durations=_VEO_DURATIONS, aspect_ratios=_VEO_ASPECTS),
    "wan2.6-t2v": ModelSpec(TEXT_TO_VIDEO, durations=_WAN_DURATIONS, resolutions=_WAN_RESOLUTIONS),
    "wan2.5-t2v": ModelSpec(TEXT_TO_VIDEO),
    "sora-2": ModelSpec(TEXT_TO_VIDEO, durations=frozenset({4, 8, 12})),
    "kling-v2-5-turbo-t2v": ModelSpec(
        TEXT_TO_VIDEO, durations=frozenset({5, 10}), aspect_ratios=frozenset({"16:9", "9:16", "1:1"})
    ),
    "seedance-t2v": ModelSpec(
        TEXT_TO_VIDEO,
        aspect_ratios=frozenset({"16:9", "4:3", "1:1", "9:21"}),
        resolutions=frozenset({"720p", "480p"}),
    ),
    "Hailuo-2.3-t2v": ModelSpec(TEXT_TO_VIDEO),
    "wan2.6-i2v": ModelSpec(
        IMAGE_TO_VIDEO, required=_I2V, durations=_WAN_DURATIONS, resolutions=_WAN_RESOLUTIONS
    ),
    "wan2.6-i2v-flash": ModelSpec(IMAGE_TO_VIDEO, required=_I2V),
    "wan2.5-i2v": ModelSpec(IMAGE_TO_VIDEO, required=_I2V),
    "Kling-V2-5-Turbo-i2v": ModelSpec(IMAGE_TO_VIDEO, required=_I2V, durations=frozenset({5, 10})),
    "kling-v2-1-master-i2v": ModelSpec(IMAGE_TO_VIDEO, required=_I2V, durations=frozenset({5, 10})),
    "Hailuo-2.3-i2v": ModelSpec(IMAGE_TO_VIDEO, required=_I2V, durations=frozenset({6, 10})),
    "seedance-i2v": ModelSpec(IMAGE_TO_VIDEO, required=_I2V),
    "omni-human-1.5": ModelSpec(IMAGE_TO_VIDEO, required=(*_I2V, "init_audio")),
}
_BOOLEAN_FIELDS = ("generate_audio", "enhance_prompt", "camera_fixed")


@dataclass
class Quirks:
    """Wire variants the real API has been seen to send; all off by default, set per test."""

    messege_spelling: bool = False  # "messege" instead of "message", everywhere
    http200_errors: bool = False  # 4xx errors come as HTTP 200 with {"status": "error"}
    string_ids: bool = False  # "id": "155262350" instead of 155262350
    float_eta: bool = False  # "eta": 1.5 instead of 2
    proxy_links_as_object: bool = False  # "proxy_links": {"0": url}
    output_empty_string_while_processing: bool = False  # "output": "" instead of []
    immediate_success: bool = False  # submit answers "success" with output at once
    queued_status_first: bool = False  # "queued" on submit and on the first fetch
    unknown_status_first: bool = False  # "starting" (a status nobody documented) likewise
    error_key_instead_of_message: bool = False  # errors say {"error": ...} instead of "message"
    # Processing replies (submit and fetch) carry no "id", only "fetch_result" and "future_links",
    # as in the third-party capture in the docs.
    processing_without_id: bool = False
    # How fetch_result ends: "plain" (.../fetch/<id>), "trailing_slash" (.../fetch/<id>/),
    # "query" (.../fetch/<id>?source=queue).
    fetch_result_style: str = "plain"
    # Where a success reply puts the result URL: "output" (output + proxy_links, the usual),
    # "output_url" (only a string output_url), "proxy_links" (output [] and only proxy_links),
    # "future_links" (output [] and only future_links).
    success_url_field: str = "output"
    # Where base64_to_url puts the hosted URL: "output" (a list), "output_str", "url", "link",
    # "data.url".
    upload_url_field: str = "output"


@dataclass(frozen=True)
class RecordedRequest:
    """One API call the fake received. ``json`` includes the key, as sent; ``time`` is monotonic.

    ``query`` holds the query string (model search sends the key there).
    """

    path: str
    json: dict[str, Any] | None
    time: float
    method: str = "POST"
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook POST the fake made (``forged`` when a test sent it with `send_webhook`).

    ``http_status`` is the receiver's answer, None when none came (refused, timed out).
    """

    url: str
    payload: dict[str, Any]
    http_status: int | None
    time: float
    forged: bool = False


@dataclass(frozen=True)
class InputFetch:
    """One ``init_image`` / ``init_audio`` download the fake made at submit time."""

    field: str
    url: str
    http_status: int | None  # None when no HTTP answer came at all
    size: int
    ok: bool


@dataclass
class FakeJob:
    """A generation job. It succeeds ``render_seconds`` after submit unless forced otherwise."""

    provider_id: str
    endpoint: str
    payload: dict[str, Any]
    created_at: float  # time.monotonic()
    ready_at: float
    output_url: str
    proxy_url: str
    polls: int = 0
    outcome: Literal["success", "failed"] | None = None  # set by finish() / fail_job()
    failure_message: str | None = None
    output_mode: OutputMode = "ok"
    proxy_mode: OutputMode = "ok"
    redirect_to: str | None = None  # where "redirect" mode points; None: the fake's /files/ copy
    webhook: str | None = None
    webhook_mode: WebhookMode = "once"
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set when finish()/fail_job() decide

    @property
    def state(self) -> Literal["processing", "success", "failed"]:
        """Where the job stands now."""
        if self.outcome is not None:
            return self.outcome
        return "success" if time.monotonic() >= self.ready_at else "processing"

    @property
    def output_name(self) -> str:
        """The file name shared by the output and proxy URLs."""
        return self.output_url.rsplit("/", 1)[-1]

    def settle(self, outcome: Literal["success", "failed"], message: str | None = None) -> None:
        """Decide the job's fate now (and wake its webhook, if any)."""
        self.outcome = outcome
        if message is not None:
            self.failure_message = message
        self.changed.set()


@dataclass(frozen=True)
class _Fault:
    kind: str
    options: dict[str, Any] = field(default_factory=dict)


def make_mp4(size: int | None = None, *, moov_at_end: bool = False, large_mdat: bool = False) -> bytes:
    """A small structurally valid MP4 (``ftyp`` + ``moov``/``mvhd`` + ``mdat``), padded to ``size``.

    ``moov_at_end`` puts ``moov`` after ``mdat`` (a file not optimised for streaming);
    ``large_mdat`` writes the ``mdat`` size as a 64-bit largesize (``size == 1``).
    """
    if moov_at_end or large_mdat:
        moov = _moov()
        ftyp = _ftyp()
        header = 16 if large_mdat else 8
        payload = 64 if size is None else size - len(ftyp) - len(moov) - header
        if payload < 0:
            raise ValueError("too small for an MP4")
        if large_mdat:
            mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + payload) + bytes(payload)
        else:
            mdat = _box(b"mdat", bytes(payload))
        return ftyp + (mdat + moov if moov_at_end else moov + mdat)
    prefix = _mp4_prefix(size)
    total = len(prefix) + 64 if size is None else size
    return prefix + bytes(total - len(prefix))


def make_heif(brand: str = "heic") -> bytes:
    """A minimal HEIF-family image: ``ftyp`` (``heic`` or ``avif``, with ``mif1``) + ``meta`` + ``mdat``.

    It starts like an MP4 (``ftyp`` at byte 4), which is exactly why it must be refused by brand.
    """
    compatible = {"heic": b"mif1heic", "avif": b"avifmif1miafMA1B"}[brand]
    ftyp = _box(b"ftyp", brand.encode() + bytes(4) + compatible)
    meta = _box(b"meta", bytes(4) + _box(b"hdlr", bytes(8) + b"pict" + bytes(13)))
    return ftyp + meta + _box(b"mdat", bytes(256))


def make_no_moov() -> bytes:
    """``ftyp`` with video brands and an ``mdat``, but no ``moov``: no player can play it."""
    return _ftyp() + _box(b"mdat", bytes(512))


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _ftyp() -> bytes:
    return _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")


def _moov() -> bytes:
    matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, 1000)  # version, flags, times, timescale, 1 s
        + struct.pack(">IH10x", 0x00010000, 0x0100)  # rate 1.0, volume 1.0
        + matrix
        + bytes(24)
        + struct.pack(">I", 2),  # next track id
    )
    return _box(b"moov", mvhd)


def _mp4_prefix(total_size: int | None) -> bytes:
    """Every box but the ``mdat`` payload; the ``mdat`` header says how much payload follows."""
    head = _ftyp() + _moov()
    payload = 64 if total_size is None else total_size - len(head) - 8
    if payload < 0:
        raise ValueError(f"an MP4 needs at least {len(head) + 8} bytes")
    return head + struct.pack(">I", 8 + payload) + b"mdat"


def _is_image(data: bytes) -> bool:
    # PNG, JPEG and WebP: the formats the API documents for init_image.
    return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


_NOT_FOUND_PAGE = (
    "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>Not Found</body></html>"
)
_ERROR_PAGE = "<!DOCTYPE html><html><head><title>Oops</title></head><body>Something went wrong</body></html>"
_UNAVAILABLE_PAGE = "<html><body><h1>503 Service Unavailable</h1></body></html>"


class FakeModelsLab:
    """The fake ModelsLab: an aiohttp app on 127.0.0.1, on a free port picked at `start`.

    ``queue_limit`` is the account's in-flight job limit (more → 429 "Rate limit exceeded. Maximum
    N queued requests allowed."; 5 by default, the pay-as-you-go plan); ``render_seconds`` is how
    long a job takes; ``retry_after`` is what a queue-full 429 asks for in its body (any value, sent
    as is: ``math.inf`` goes out as the JSON token ``Infinity``, "soon" as text).
    """

    def __init__(
        self,
        *,
        api_key: str = "test-modelslab-key",
        queue_limit: int = 5,
        render_seconds: float = 2.0,
        retry_after: float = 30,
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.queue_limit = queue_limit
        self.render_seconds = render_seconds
        self.retry_after = retry_after
        self.quirks = Quirks()
        self.requests: list[RecordedRequest] = []
        self.jobs: dict[str, FakeJob] = {}
        self.input_fetches: list[InputFetch] = []
        self.file_requests: list[str] = []  # paths of output/upload GETs
        self.file_hosts: list[str] = []  # the Host header of each output GET, in the same order
        self.hosted_files: dict[str, tuple[bytes, str]] = {}  # name -> (bytes, content type)
        self.balance = 43.6
        # Check that init_image really is PNG/JPEG/WebP, as the real service must to use it.
        self.strict_inputs = True
        self.input_fetch_timeout = 10.0
        # Send Content-Length with output files (off: chunked, so only counting bytes tells size).
        self.send_content_length = True
        # Submits refused with 429 because the queue was full (natural or injected).
        self.refused_submits = 0
        # Refuse prompts longer than this with 400 "Prompt exceeds the character limit" (None: any).
        self.prompt_limit: int | None = None
        # Send this as "eta" in every processing reply instead of the real remaining time (any JSON
        # value: math.inf, math.nan, -5, 0, 1e12, "soon"); None sends the real one.
        self.wire_eta: Any = None
        # Headers sent with every 429 (None leaves them out): raw text, absurd values welcome.
        self.retry_after_header: str | None = None
        self.rate_limit_reset: str | None = None
        # Fetches of a job younger than this answer 404 "Request not found", as a provider whose
        # job store lags behind its submit endpoint would.
        self.not_found_for_seconds = 0.0
        # Webhooks: how many times a finished job's webhook is POSTed ("once", "twice" for the
        # documented duplicates, "never" for a lost one), after how long, with what timeout.
        self.webhook_mode: WebhookMode = "once"
        self.webhook_delay = 0.0
        self.webhook_timeout = 30.0
        self.webhook_deliveries: list[WebhookDelivery] = []
        # How new jobs' output and proxy URLs answer (see OutputMode); per job: serve_output().
        self.default_output_mode: OutputMode = "ok"
        self.default_proxy_mode: OutputMode = "ok"
        self._port = port
        self._wallet_faults: list[_Fault] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._video = make_mp4()
        self._video_size: int | None = None
        self._submit_faults: list[_Fault] = []
        self._fetch_faults: list[_Fault] = []
        self._next_id = _FIRST_ID
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._closing = asyncio.Event()
        self._base = ""

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind to 127.0.0.1 and start serving."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/api/v7/video-fusion/text-to-video", self._submit)
        app.router.add_post("/api/v7/video-fusion/image-to-video", self._submit)
        app.router.add_post("/api/v7/video-fusion/fetch/{id}", self._fetch)
        app.router.add_post("/api/v6/base64_to_url", self._base64_to_url)
        app.router.add_post("/api/wallet_balance", self._wallet_balance)
        app.router.add_get("/api/v6/model-search/{model_id}", self._model_search)
        app.router.add_get("/generations/{name}", self._output_file)
        app.router.add_get("/proxy/{name}", self._output_file)
        app.router.add_get("/files/{name}", self._plain_file)
        app.router.add_get("/uploads/{name}", self._hosted_file)
        # Handlers are cancelled when the client hangs up, so a stalled "timeout" answer does not
        # outlive the test that caused it; access logs are off to keep test output readable.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self._base = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession()
        log.debug("Fake ModelsLab listening on %s", self._base)

    async def close(self) -> None:
        """Stop serving; stalled answers and pending webhooks are released first so shutdown is quick."""
        self._closing.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeModelsLab:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """The API root to configure as MODELSLAB_BASE_URL: ``http://127.0.0.1:PORT/api``."""
        if not self._base:
            raise RuntimeError("FakeModelsLab.start() has not run")
        return f"{self._base}/api"

    @property
    def server_url(self) -> str:
        """The server root (output files and uploads live outside ``/api``)."""
        return self._base

    # -- test controls ----------------------------------------------------------------------------

    def fail_next_submit(self, kind: str, **options: Any) -> None:
        """Queue a one-shot fault for the next generation call.

        Kinds and options:
        ``http_500`` (JSON body), ``http_503`` (HTML body);
        ``timeout`` (``delay`` s, default 3600, longer than any client timeout; ``create_job=True``
        creates the job first, modelling "the job may exist");
        ``queue_full`` (429, ``retry_after``); ``insufficient_credits`` (402); ``invalid_key`` (401);
        ``plan_gate`` (403); ``bad_request`` (400, ``field_errors`` dict or ``message`` text);
        ``model_not_found`` (400); ``connection_drop`` (hang up without answering; ``create_job``);
        ``not_json`` (HTTP 200 with an HTML page, as a proxy or captive portal would send);
        ``no_id`` (a "processing" envelope without an id; the job is created but cannot be polled;
        ``keep_fetch_result=True`` keeps ``fetch_result``, from which the id can still be read);
        ``prompt_too_long`` (400 "Prompt exceeds the character limit": a validation error that
        mentions a limit and must not be taken for a full queue).
        ``queue_full`` takes ``retry_after`` (any value, sent as is; None leaves it out of the
        body), ``retry_after_header`` and ``rate_limit_reset`` (header texts; default: the fake's
        attributes of those names).
        Error kinds take ``http200=True`` to answer HTTP 200 with the same body (default: follow
        ``quirks.http200_errors``) and ``message`` to change the text.
        """
        if kind not in SUBMIT_FAULTS:
            raise ValueError(f"unknown submit fault {kind!r}; choose from {sorted(SUBMIT_FAULTS)}")
        self._submit_faults.append(_Fault(kind, options))

    def fail_next_wallet(self, kind: str, **options: Any) -> None:
        """Queue a one-shot fault for the next ``/wallet_balance`` call.

        Kinds: ``insufficient_credits`` (402), ``invalid_key`` (401), ``http_500``; ``http200=True``
        answers HTTP 200 with the error body; ``message`` changes the text.
        """
        if kind not in WALLET_FAULTS:
            raise ValueError(f"unknown wallet fault {kind!r}; choose from {sorted(WALLET_FAULTS)}")
        self._wallet_faults.append(_Fault(kind, options))

    def fail_next_fetch(self, kind: str, **options: Any) -> None:
        """Queue a one-shot fault for the next fetch.

        Kinds: ``http_500`` (JSON body), ``http_503`` (HTML body); ``timeout`` (``delay``);
        ``connection_reset`` (hang up without answering); ``not_found`` (404); ``failed`` and
        ``error`` (the job fails for good, ``message``); ``rate_limited`` (429, ``retry_after``,
        ``in_body=False`` to send it only as a Retry-After header, ``retry_after=None`` to send none,
        ``retry_after_header`` / ``rate_limit_reset`` to send those header texts as given);
        ``output_404`` (the job finishes now and its output URL answers an HTML 404 while the proxy
        works); ``not_mp4`` (the job finishes now and its output answers HTML with 200; the proxy
        too unless ``proxy_ok=True``).
        ``times=N`` queues the same fault for the next N fetches (default 1).
        """
        if kind not in FETCH_FAULTS:
            raise ValueError(f"unknown fetch fault {kind!r}; choose from {sorted(FETCH_FAULTS)}")
        times = int(options.pop("times", 1))
        if times < 1:
            raise ValueError("times must be at least 1")
        self._fetch_faults.extend(_Fault(kind, options) for _ in range(times))

    def finish(self, provider_id: str) -> None:
        """Make a job succeed now."""
        self.jobs[str(provider_id)].settle("success")

    def fail_job(self, provider_id: str, message: str) -> None:
        """Make a job fail now; fetch will answer ``{"status": "failed", "message": message}``."""
        self.jobs[str(provider_id)].settle("failed", message)

    def serve_output(
        self,
        provider_id: str,
        mode: OutputMode,
        *,
        proxy_mode: OutputMode | None = None,
        redirect_to: str | None = None,
    ) -> None:
        """Choose how a job's output URL (and its proxy, when ``proxy_mode`` is given) answers.

        ``redirect`` answers 302 to ``redirect_to`` (default: the fake's own ``/files/`` copy of the
        video, on the same host and port); see `OutputMode` for the others.
        """
        for chosen in (mode, proxy_mode):
            if chosen is not None and chosen not in OUTPUT_MODES:
                raise ValueError(f"unknown output mode {chosen!r}; choose from {sorted(OUTPUT_MODES)}")
        job = self.jobs[str(provider_id)]
        job.output_mode = mode
        if proxy_mode is not None:
            job.proxy_mode = proxy_mode
        job.redirect_to = redirect_to

    def webhook_payload(self, provider_id: str) -> dict[str, Any]:
        """The documented webhook body for a finished job (success or failure), as the fake sends it.

        Success: ``{"status": "success", "id", "output", "generationTime", "track_id", "meta"}``;
        failure: ``{"status": "failed", "id", "message", "track_id"}``. A test may alter the result
        and post it with `send_webhook` to forge one.
        """
        job = self.jobs[str(provider_id)]
        payload: dict[str, Any]
        if job.state == "failed":
            payload = {"status": "failed", "id": self._wire_id(job)}
            payload[self._message_key()] = job.failure_message or "Processing failed"
        else:
            payload = {
                "status": "success",
                "id": self._wire_id(job),
                "output": [job.output_url],
                "generationTime": round(time.monotonic() - job.created_at, 2),
                "meta": self._meta(job),
            }
        if "track_id" in job.payload:
            payload["track_id"] = job.payload["track_id"]
        return payload

    async def send_webhook(self, url: str, payload: Any) -> int | None:
        """POST ``payload`` (any JSON value) to ``url`` as a webhook, the way anyone who knows the
        URL could: no signature, nothing that proves it came from ModelsLab. Returns the receiver's
        HTTP status (None when it did not answer) and records the delivery as ``forged``."""
        return await self._post_webhook(url, payload, forged=True)

    async def wait_for_webhooks(self, count: int, timeout: float = 5.0) -> list[WebhookDelivery]:
        """Wait until at least ``count`` webhooks (forged ones included) were delivered or tried."""
        async with asyncio.timeout(timeout):
            while len(self.webhook_deliveries) < count:
                await asyncio.sleep(0.01)
        return list(self.webhook_deliveries)

    def submits(self) -> list[RecordedRequest]:
        """The generation calls received (text-to-video and image-to-video), in order."""
        return [r for r in self.requests if r.path.endswith((f"/{TEXT_TO_VIDEO}", f"/{IMAGE_TO_VIDEO}"))]

    def fetches(self, provider_id: str | None = None) -> list[RecordedRequest]:
        """The fetch calls received, optionally only those for one job."""
        prefix = "/api/v7/video-fusion/fetch/"
        return [
            r
            for r in self.requests
            if r.path.startswith(prefix) and (provider_id is None or r.path == prefix + str(provider_id))
        ]

    def model_searches(self) -> list[RecordedRequest]:
        """The model-search calls received, in order."""
        return [r for r in self.requests if r.path.startswith("/api/v6/model-search/")]

    def active_jobs(self) -> list[FakeJob]:
        """Jobs not finished yet: what counts against ``queue_limit``."""
        return [job for job in self.jobs.values() if job.state == "processing"]

    def host(self, data: bytes, content_type: str) -> str:
        """Serve ``data`` at a URL on the fake (as base64_to_url would) and return the URL."""
        name = f"{uuid.uuid4().hex}{_extension(content_type)}"
        self.hosted_files[name] = (data, content_type)
        return f"{self._base}/uploads/{name}"

    @property
    def video_bytes(self) -> bytes:
        """The MP4 served for outputs (materialised on demand when a large size is set)."""
        return self._video if self._video_size is None else make_mp4(self._video_size)

    @video_bytes.setter
    def video_bytes(self, data: bytes) -> None:
        self._video = data
        self._video_size = None

    @property
    def video_size(self) -> int:
        """The size in bytes of the video the outputs serve."""
        return len(self._video) if self._video_size is None else self._video_size

    def use_large_video(self, size: int = LARGE_VIDEO_SIZE) -> None:
        """Serve an MP4 of ``size`` bytes, generated while streaming (never held in memory)."""
        self._video_size = size

    # -- API handlers -----------------------------------------------------------------------------

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        endpoint = request.path.rsplit("/", 1)[-1]
        if body is None:
            return self._error(400, "Invalid JSON body")
        if self._submit_faults:
            fault = self._submit_faults.pop(0)
            return await self._submit_fault(request, fault, endpoint, body)
        if body.get("key") != self.api_key:
            return self._error(401, "Invalid API key")

        model_id = body.get("model_id")
        if not isinstance(model_id, str) or not model_id:
            return self._error(400, {"model_id": ["The model id field is required."]})
        spec = MODELS.get(model_id)
        if spec is None or spec.endpoint != endpoint:
            return self._error(400, f"Model not found: {model_id}")
        problems = _validate(spec, body)
        if problems:
            return self._error(400, problems)
        prompt = body.get("prompt")
        if self.prompt_limit is not None and isinstance(prompt, str) and len(prompt) > self.prompt_limit:
            return self._error(400, f"Prompt exceeds the character limit of {self.prompt_limit} characters.")
        webhook = body.get("webhook")
        if webhook is not None and not (
            isinstance(webhook, str) and webhook.startswith(("http://", "https://"))
        ):
            return self._error(400, {"webhook": ["The webhook must be a valid URL."]})
        if self.balance <= 0:
            return self._error(402, "Insufficient credits. Please add more credits to continue.")

        if len(self.active_jobs()) >= self.queue_limit:
            return self._queue_full(self.retry_after)

        for name in ("init_image", "init_audio"):
            if isinstance(body.get(name), str):
                problem = await self._fetch_input(name, body[name])
                if problem:
                    return self._error(400, problem)

        job = self._create_job(endpoint, body)
        if self.quirks.immediate_success:
            job.settle("success")
            return web.json_response(self._success_envelope(job))
        return web.json_response(self._processing_envelope(job, first=True))

    async def _submit_fault(
        self, request: web.Request, fault: _Fault, endpoint: str, body: dict[str, Any]
    ) -> web.StreamResponse:
        options = fault.options
        http200 = options.get("http200")
        message = options.get("message")
        model_id = body.get("model_id")
        if fault.kind == "http_500":
            return web.json_response({"status": "error", "message": "Internal Server Error"}, status=500)
        if fault.kind == "http_503":
            return web.Response(status=503, text=_UNAVAILABLE_PAGE, content_type="text/html")
        if fault.kind == "timeout":
            job = self._create_job(endpoint, body) if options.get("create_job") else None
            await self._stall(options.get("delay", 3600.0))
            if job is None:
                return self._error(500, "Request timed out")
            return web.json_response(self._processing_envelope(job, first=True))
        if fault.kind == "connection_drop":
            if options.get("create_job"):
                self._create_job(endpoint, body)
            return _hang_up(request)
        if fault.kind == "queue_full":
            return self._queue_full(
                options.get("retry_after", self.retry_after),
                message,
                http200,
                retry_after_header=options.get("retry_after_header", self.retry_after_header),
                rate_limit_reset=options.get("rate_limit_reset", self.rate_limit_reset),
            )
        if fault.kind == "prompt_too_long":
            return self._error(400, message or "Prompt exceeds the character limit", http200=http200)
        if fault.kind == "insufficient_credits":
            text = message or "Insufficient credits. Please add more credits to continue."
            return self._error(402, text, http200=http200)
        if fault.kind == "invalid_key":
            return self._error(401, message or "Invalid API key", http200=http200)
        if fault.kind == "plan_gate":
            text = message or "This model is not available on your current plan. Please upgrade to access it."
            return self._error(403, text, http200=http200)
        if fault.kind == "bad_request":
            detail = message or options.get("field_errors") or {"prompt": ["The prompt field is required."]}
            return self._error(400, detail, http200=http200)
        if fault.kind == "model_not_found":
            return self._error(400, message or f"Model not found: {model_id}", http200=http200)
        if fault.kind == "not_json":
            return web.Response(status=200, text=_ERROR_PAGE, content_type="text/html")
        if fault.kind == "no_id":
            envelope = self._processing_envelope(self._create_job(endpoint, body), first=True)
            envelope.pop("id", None)
            if not options.get("keep_fetch_result"):
                del envelope["fetch_result"]
            return web.json_response(envelope)
        raise AssertionError(fault.kind)

    async def _fetch(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        provider_id = request.match_info["id"]
        job = self.jobs.get(provider_id)
        fault = self._fetch_faults.pop(0) if self._fetch_faults else None
        if fault is not None:
            answer = await self._fetch_fault(request, fault, job)
            if answer is not None:
                return answer
        if body is None:
            return self._error(400, "Invalid JSON body")
        if body.get("key") != self.api_key:
            return self._error(401, "Invalid API key")
        if job is None or time.monotonic() - job.created_at < self.not_found_for_seconds:
            return self._error(404, "Request not found")
        job.polls += 1
        if job.state == "failed":
            failed: dict[str, Any] = {"status": "failed", "id": self._wire_id(job)}
            failed[self._message_key()] = job.failure_message or "Processing failed"
            return web.json_response(failed)
        if job.state == "success":
            return web.json_response(self._success_envelope(job))
        return web.json_response(self._processing_envelope(job, first=job.polls == 1))

    async def _fetch_fault(
        self, request: web.Request, fault: _Fault, job: FakeJob | None
    ) -> web.StreamResponse | None:
        """Answer a fetch fault, or return None when the fault only changes the job."""
        options = fault.options
        if fault.kind == "http_500":
            return web.json_response({"status": "error", "message": "Internal Server Error"}, status=500)
        if fault.kind == "http_503":
            return web.Response(status=503, text=_UNAVAILABLE_PAGE, content_type="text/html")
        if fault.kind == "timeout":
            await self._stall(options.get("delay", 3600.0))
            return self._error(500, "Request timed out")
        if fault.kind == "connection_reset":
            return _hang_up(request)
        if fault.kind == "not_found":
            return self._error(
                404, options.get("message", "Request not found"), http200=options.get("http200")
            )
        if fault.kind == "rate_limited":
            retry_after = options.get("retry_after", 10)
            in_body = options.get("in_body", True) and retry_after is not None
            extra = {"retry_after": retry_after} if in_body else {}
            text = options.get("message", "Too many requests. Please slow down.")
            response = self._error(429, text, extra=extra, http200=options.get("http200"))
            header = options.get("retry_after_header", self.retry_after_header)
            if header is None and retry_after is not None:
                header = str(retry_after)
            self._rate_headers(response, header, options.get("rate_limit_reset", self.rate_limit_reset))
            return response
        if job is None:
            return None
        if fault.kind in ("failed", "error"):
            default = "Processing failed: the video could not be generated."
            job.settle("failed", options.get("message", default))
            answer: dict[str, Any] = {"status": fault.kind, "id": self._wire_id(job)}
            answer[self._message_key()] = job.failure_message
            return web.json_response(answer)
        if fault.kind == "output_404":
            job.output_mode = "404"
            job.settle("success")
            return None
        if fault.kind == "not_mp4":
            job.settle("success")
            job.output_mode = "html"
            job.proxy_mode = "ok" if options.get("proxy_ok") else "html"
            return None
        raise AssertionError(fault.kind)

    async def _base64_to_url(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        if body is None:
            return self._error(400, "Invalid JSON body")
        if body.get("key") != self.api_key:
            return self._error(401, "Invalid API key")
        data_url = body.get("base64_string")
        if not isinstance(data_url, str) or not data_url:
            return self._error(400, {"base64_string": ["The base64 string field is required."]})
        match = re.fullmatch(r"data:([\w.+-]+/[\w.+-]+);base64,(.*)", data_url, flags=re.DOTALL)
        if match is None:
            return self._error(400, "Invalid base64 string")
        try:
            data = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            return self._error(400, "Invalid base64 string")
        if len(data) > UPLOAD_LIMIT:
            return self._error(400, "File size exceeds the 5 MB limit")
        url = self.host(data, match.group(1))
        shape = self.quirks.upload_url_field
        answer: dict[str, Any] = {"status": "success"}
        if shape == "output":
            answer["output"] = [url]
        elif shape == "output_str":
            answer["output"] = url
        elif shape in ("url", "link"):
            answer[shape] = url
        elif shape == "data.url":
            answer["data"] = {"url": url}
        else:
            raise AssertionError(f"unknown upload_url_field {shape!r}")
        return web.json_response(answer)

    async def _wallet_balance(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        if self._wallet_faults:
            fault = self._wallet_faults.pop(0)
            http200 = fault.options.get("http200")
            message = fault.options.get("message")
            if fault.kind == "insufficient_credits":
                text = message or "Insufficient credits. Please add more credits to continue."
                return self._error(402, text, http200=http200)
            if fault.kind == "invalid_key":
                return self._error(401, message or "Invalid API key", http200=http200)
            return web.json_response({"status": "error", "message": "Internal Server Error"}, status=500)
        if body is None:
            return self._error(400, "Invalid JSON body")
        if body.get("key") != self.api_key:
            return self._error(401, "Invalid API key")
        return web.json_response({"status": "success", "data": {"balance": self.balance, "currency": "USD"}})

    async def _model_search(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        if request.query.get("key") != self.api_key:
            return self._error(401, "Invalid API key")
        model_id = request.match_info["model_id"]
        spec = MODELS.get(model_id)
        if spec is None:
            return self._error(404, "Model not found")
        return web.json_response({"status": "success", "data": _model_description(model_id, spec)})

    # -- files ------------------------------------------------------------------------------------

    async def _output_file(self, request: web.Request) -> web.StreamResponse:
        self.file_requests.append(request.path)
        self.file_hosts.append(request.host)
        name = request.match_info["name"]
        job = next((j for j in self.jobs.values() if j.output_name == name), None)
        # future_links answer 404 until the job is done.
        if job is None or job.state != "success":
            return web.Response(status=404, text=_NOT_FOUND_PAGE, content_type="text/html")
        mode = job.proxy_mode if request.path.startswith("/proxy/") else job.output_mode
        if mode == "404":
            return web.Response(status=404, text=_NOT_FOUND_PAGE, content_type="text/html")
        if mode == "html":
            return web.Response(status=200, text=_ERROR_PAGE, content_type="text/html")
        if mode == "redirect":
            location = job.redirect_to or f"{self._base}/files/{name}"
            raise web.HTTPFound(location)
        if mode in ("heic", "avif"):
            return web.Response(body=make_heif(mode), content_type=f"image/{mode}")
        if mode == "moov_at_end":
            return web.Response(body=make_mp4(4096, moov_at_end=True), content_type="video/mp4")
        if mode == "no_moov":
            return web.Response(body=make_no_moov(), content_type="video/mp4")
        if mode == "truncated":
            whole = make_mp4(4096)
            return web.Response(body=whole[: len(whole) // 2], content_type="video/mp4")
        return await self._send_video(request)

    async def _plain_file(self, request: web.Request) -> web.StreamResponse:
        """The video of a finished job, whatever its output mode: the target of "redirect"."""
        self.file_requests.append(request.path)
        self.file_hosts.append(request.host)
        name = request.match_info["name"]
        job = next((j for j in self.jobs.values() if j.output_name == name), None)
        if job is None or job.state != "success":
            return web.Response(status=404, text=_NOT_FOUND_PAGE, content_type="text/html")
        return await self._send_video(request)

    async def _send_video(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        if self.send_content_length:
            response.content_length = self.video_size
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        if self._video_size is None:
            await response.write(self._video)
        else:
            async for chunk in _stream_mp4(self._video_size):
                await response.write(chunk)
        await response.write_eof()
        return response

    async def _hosted_file(self, request: web.Request) -> web.StreamResponse:
        self.file_requests.append(request.path)
        stored = self.hosted_files.get(request.match_info["name"])
        if stored is None:
            return web.Response(status=404, text=_NOT_FOUND_PAGE, content_type="text/html")
        data, content_type = stored
        return web.Response(body=data, content_type=content_type)

    # -- helpers ----------------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> dict[str, Any] | None:
        parsed: Any = None
        if request.can_read_body:
            try:
                parsed = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                parsed = None
        body = parsed if isinstance(parsed, dict) else None
        self.requests.append(
            RecordedRequest(
                path=request.path,
                json=body,
                time=time.monotonic(),
                method=request.method,
                query=dict(request.query),
            )
        )
        # Never the body: it carries the key, and tests assert that no log record does.
        log.debug("Fake ModelsLab got %s %s", request.method, request.path)
        return body

    def _create_job(self, endpoint: str, payload: dict[str, Any]) -> FakeJob:
        provider_id = str(self._next_id)
        self._next_id += 1
        name = f"{uuid.uuid4()}.mp4"
        now = time.monotonic()
        job = FakeJob(
            provider_id=provider_id,
            endpoint=endpoint,
            payload=dict(payload),
            created_at=now,
            ready_at=now + self.render_seconds,
            output_url=f"{self._base}/generations/{name}",
            proxy_url=f"{self._base}/proxy/{name}",
            output_mode=self.default_output_mode,
            proxy_mode=self.default_proxy_mode,
        )
        self.jobs[provider_id] = job
        webhook = payload.get("webhook")
        if isinstance(webhook, str):
            job.webhook = webhook
            job.webhook_mode = self.webhook_mode
            self._spawn(self._webhook_when_done(job))
        return job

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _webhook_when_done(self, job: FakeJob) -> None:
        """POST the job's webhook once it finishes, as many times as its mode says."""
        while job.state == "processing":
            remaining = job.ready_at - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.changed.wait(), max(remaining, 0.001))
            job.changed.clear()
        if self.webhook_delay > 0:
            await asyncio.sleep(self.webhook_delay)
        assert job.webhook is not None
        payload = self.webhook_payload(job.provider_id)
        for _ in range({"once": 1, "twice": 2, "never": 0}[job.webhook_mode]):
            await self._post_webhook(job.webhook, payload, forged=False)

    async def _post_webhook(self, url: str, payload: Any, *, forged: bool) -> int | None:
        assert self._http is not None
        status: int | None = None
        try:
            async with self._http.post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=self.webhook_timeout)
            ) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            status = None
        delivery = WebhookDelivery(
            url=url, payload=payload, http_status=status, time=time.monotonic(), forged=forged
        )
        self.webhook_deliveries.append(delivery)
        # Never the URL: its path carries the bot's webhook secret.
        log.debug("Fake ModelsLab webhook delivery answered %s", status)
        return status

    async def _fetch_input(self, name: str, url: str) -> str | None:
        """GET an input URL the way ModelsLab does; return the error message when it fails."""
        kind = "image" if name == "init_image" else "audio"
        failure = f"Unable to fetch {kind} from provided URL"
        assert self._http is not None
        status: int | None = None
        data = b""
        try:
            async with self._http.get(
                url, timeout=aiohttp.ClientTimeout(total=self.input_fetch_timeout)
            ) as response:
                status = response.status
                if status == 200:
                    data = await response.content.read(_INPUT_LIMIT)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            pass
        ok = status == 200 and bool(data)
        if ok and kind == "image" and self.strict_inputs:
            ok = _is_image(data)
        self.input_fetches.append(InputFetch(field=name, url=url, http_status=status, size=len(data), ok=ok))
        return None if ok else failure

    async def _stall(self, delay: float) -> None:
        # Ends early when the fake closes; a client hanging up cancels the handler instead.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)

    def _message_key(self) -> str:
        if self.quirks.messege_spelling:
            return "messege"
        return "message"

    def _error(
        self,
        http_status: int,
        message: str | Mapping[str, list[str]],
        *,
        http200: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> web.Response:
        """An error envelope; 4xx become HTTP 200 under the http200 quirk (or ``http200=True``)."""
        key = "error" if self.quirks.error_key_instead_of_message else self._message_key()
        body: dict[str, Any] = {"status": "error", key: message, **(extra or {})}
        as_200 = self.quirks.http200_errors if http200 is None else http200
        status = 200 if as_200 and http_status < 500 else http_status
        return web.json_response(body, status=status)

    def _queue_full(
        self,
        retry_after: Any,
        message: str | None = None,
        http200: bool | None = None,
        *,
        retry_after_header: str | None = None,
        rate_limit_reset: str | None = None,
    ) -> web.Response:
        self.refused_submits += 1
        text = message or f"Rate limit exceeded. Maximum {self.queue_limit} queued requests allowed."
        extra = {} if retry_after is None else {"retry_after": retry_after}
        response = self._error(429, text, http200=http200, extra=extra)
        self._rate_headers(
            response,
            retry_after_header if retry_after_header is not None else self.retry_after_header,
            rate_limit_reset if rate_limit_reset is not None else self.rate_limit_reset,
        )
        return response

    @staticmethod
    def _rate_headers(response: web.Response, retry_after: str | None, reset: str | None) -> None:
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        if reset is not None:
            response.headers["X-RateLimit-Reset"] = str(reset)

    def _wire_id(self, job: FakeJob) -> int | str:
        return job.provider_id if self.quirks.string_ids else int(job.provider_id)

    def _processing_envelope(self, job: FakeJob, *, first: bool) -> dict[str, Any]:
        status = "processing"
        if first and self.quirks.queued_status_first:
            status = "queued"
        elif first and self.quirks.unknown_status_first:
            status = "starting"
        remaining = max(0.0, job.ready_at - time.monotonic())
        eta: Any = round(remaining, 2) if self.quirks.float_eta else math.ceil(remaining)
        if self.wire_eta is not None:
            eta = self.wire_eta
        fetch_result = f"{self.base_url}/v7/video-fusion/fetch/{job.provider_id}"
        style = self.quirks.fetch_result_style
        if style == "trailing_slash":
            fetch_result += "/"
        elif style == "query":
            fetch_result += "?source=queue"
        elif style != "plain":
            raise AssertionError(f"unknown fetch_result_style {style!r}")
        envelope: dict[str, Any] = {
            "status": status,
            "id": self._wire_id(job),
            "eta": eta,
            "fetch_result": fetch_result,
            "future_links": [job.output_url],
            "output": "" if self.quirks.output_empty_string_while_processing else [],
            self._message_key(): "Request processing in background, you can fetch it later.",
            "tip": "Get 20x faster generation with a dedicated server.",
            "meta": self._meta(job),
        }
        if "track_id" in job.payload:
            envelope["track_id"] = job.payload["track_id"]
        if self.quirks.processing_without_id:
            del envelope["id"]
        return envelope

    def _success_envelope(self, job: FakeJob) -> dict[str, Any]:
        proxy: list[str] | dict[str, str] = [job.proxy_url]
        if self.quirks.proxy_links_as_object:
            proxy = {"0": job.proxy_url}
        envelope: dict[str, Any] = {
            "status": "success",
            "id": self._wire_id(job),
            "output": [job.output_url],
            "proxy_links": proxy,
            "generationTime": round(time.monotonic() - job.created_at, 2),
            "meta": self._meta(job),
        }
        where = self.quirks.success_url_field
        if where == "output_url":
            del envelope["output"], envelope["proxy_links"]
            envelope["output_url"] = job.output_url
        elif where == "proxy_links":
            envelope["output"] = []
        elif where == "future_links":
            del envelope["proxy_links"]
            envelope["output"] = []
            envelope["future_links"] = [job.output_url]
        elif where != "output":
            raise AssertionError(f"unknown success_url_field {where!r}")
        if "track_id" in job.payload:
            envelope["track_id"] = job.payload["track_id"]
        return envelope

    def _meta(self, job: FakeJob) -> dict[str, Any]:
        # The real API echoes the request here, key included; the client must not leak it.
        return {**job.payload, "endpoint": job.endpoint}


_DEFAULT_DURATIONS = {TEXT_TO_VIDEO: 8, IMAGE_TO_VIDEO: 5}


def _model_description(model_id: str, spec: ModelSpec) -> dict[str, Any]:
    """What model search answers for a known model: its endpoint with a parameters JSON Schema."""
    properties: dict[str, Any] = {
        "model_id": {"type": "string", "enum": [model_id]},
        "prompt": {"type": "string", "maxLength": 2000},
        "negative_prompt": {"type": ["string", "null"], "default": None},
    }
    if spec.endpoint == IMAGE_TO_VIDEO:
        properties["init_image"] = {"type": "string", "format": "uri"}
    properties["init_audio"] = {"type": "string", "format": "uri"}
    if spec.durations is not None:
        choices = sorted(spec.durations)
        default = _DEFAULT_DURATIONS[spec.endpoint]
        properties["duration"] = {
            "type": "string",
            "enum": [str(d) for d in choices],
            "default": str(default if default in choices else choices[0]),
        }
    if spec.aspect_ratios is not None:
        ratios = sorted(spec.aspect_ratios)
        properties["aspect_ratio"] = {
            "type": "string",
            "enum": ratios,
            "default": "16:9" if "16:9" in ratios else ratios[0],
        }
    if spec.resolutions is not None:
        resolutions = sorted(spec.resolutions)
        properties["resolution"] = {
            "type": "string",
            "enum": resolutions,
            "default": "720p" if "720p" in resolutions else resolutions[0],
        }
    if model_id.startswith("veo-"):
        properties["generate_audio"] = {"type": "boolean", "default": True}
        properties["enhance_prompt"] = {"type": "boolean", "default": True}
    if model_id.startswith("seedance-"):
        properties["camera_fixed"] = {"type": "boolean", "default": False}
    return {
        "model_id": model_id,
        "model_name": model_id.replace("-", " ").title(),
        "feature": "video",
        "endpoints": [
            {
                "endpoint": f"/v7/video-fusion/{spec.endpoint}",
                "method": "POST",
                "parameters": {
                    "type": "object",
                    "required": ["model_id", *spec.required],
                    "properties": properties,
                },
            }
        ],
    }


def _validate(spec: ModelSpec, body: Mapping[str, Any]) -> dict[str, list[str]]:
    """Laravel-style validation messages, ``{field: [errors]}``, as the API sends them."""
    problems: dict[str, list[str]] = {}
    for name in spec.required:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.setdefault(name, []).append(f"The {name.replace('_', ' ')} field is required.")
    for name in ("init_image", "init_audio"):
        value = body.get(name)
        if isinstance(value, str) and value and not value.startswith(("http://", "https://")):
            problems.setdefault(name, []).append(f"The {name.replace('_', ' ')} must be a valid URL.")
    if "duration" in body and spec.durations is not None:
        duration = body["duration"]
        number = None
        if isinstance(duration, int) and not isinstance(duration, bool):
            number = duration
        elif isinstance(duration, str) and duration.isdigit():
            number = int(duration)
        if number not in spec.durations:
            problems.setdefault("duration", []).append("The selected duration is invalid.")
    if (
        "aspect_ratio" in body
        and spec.aspect_ratios is not None
        and body["aspect_ratio"] not in spec.aspect_ratios
    ):
        problems.setdefault("aspect_ratio", []).append("The selected aspect ratio is invalid.")
    if "resolution" in body and spec.resolutions is not None and body["resolution"] not in spec.resolutions:
        problems.setdefault("resolution", []).append("The selected resolution is invalid.")
    for name in _BOOLEAN_FIELDS:
        if name in body and not isinstance(body[name], bool):
            problems.setdefault(name, []).append(f"The {name.replace('_', ' ')} field must be true or false.")
    negative = body.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        problems.setdefault("negative_prompt", []).append("The negative prompt must be a string.")
    return problems


def _hang_up(request: web.Request) -> web.Response:
    """Close the connection without an answer; the client sees a server disconnect."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


async def _stream_mp4(size: int) -> AsyncIterator[bytes]:
    """The bytes of ``make_mp4(size)`` in chunks, without ever building the whole file."""
    prefix = _mp4_prefix(size)
    yield prefix
    remaining = size - len(prefix)
    zeros = bytes(256 * 1024)
    while remaining > 0:
        step = min(remaining, len(zeros))
        yield zeros[:step] if step < len(zeros) else zeros
        remaining -= step
        await asyncio.sleep(0)  # let the loop breathe: a client may be counting bytes


def _extension(content_type: str) -> str:
    return {
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/webp": ".webp",
        "audio/mpeg": ".mp3",
        "audio/wav": ".wav",
        "audio/x-wav": ".wav",
        "video/mp4": ".mp4",
    }.get(content_type, ".bin")


async def _serve_forever(port: int) -> None:
    async with FakeModelsLab(port=port) as fake:
        print(f"Fake ModelsLab at {fake.base_url} (key {fake.api_key!r}); Ctrl-C stops it", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """Run the fake alone, for trying the bot by hand."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port))


if __name__ == "__main__":
    main()
