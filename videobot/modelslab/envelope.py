"""Reading ModelsLab's response envelope, in every shape the API has been seen to send.

Generation, fetch and webhook payloads share one loosely typed envelope in which any field may be
missing (see docs/modelslab-api.md). These functions are pure: they take the decoded JSON and never
raise on odd shapes; a field that cannot be read is treated as absent. Deciding which error an
``error`` envelope means is the client's job, because that depends on the HTTP status and the call.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

from videobot.modelslab.delays import bound_delay

__all__ = [
    "ERROR_STATUSES",
    "JobStatus",
    "ProviderJob",
    "extract_field_errors",
    "extract_message",
    "extract_urls",
    "job_id",
    "job_urls",
    "parse_eta",
    "parse_job",
    "parse_provider_id",
    "parse_retry_after",
    "parse_track_id",
    "provider_id_from_fetch_result",
    "raw_status",
]

# Statuses that end a job badly. ``failed`` is the asynchronous failure of a running job; ``error``
# is what the API answers when it refused or lost the request.
ERROR_STATUSES = frozenset({"error", "failed"})

# Where the human-readable text has been seen, in order of preference. "messege" is a misspelling
# the API really sends; "error"/"errors" come from some gateways in front of it.
_MESSAGE_KEYS = ("message", "messege", "error", "errors")

# What a job id or track id may look like once read: short, printable, no separators that could
# change the meaning of a URL path. Anything else is not an id we would ever have handed out.
_ID_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class JobStatus(enum.Enum):
    """Where a ModelsLab job stands, reduced to the three states the bot acts on."""

    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"


@dataclass(frozen=True)
class ProviderJob:
    """One job as ModelsLab describes it in a submit, fetch or webhook answer.

    ``output_urls`` lists the result files without duplicates, best first: ``output``, then the
    ``proxy_links`` mirrors, then ``output_url``, then (only on ``success``) ``future_links``, so
    a downloader can fall back along the list. ``status`` is SUCCESS only when there is at least
    one URL: a "success" without any is still processing as far as the bot is concerned.
    ``eta_seconds`` follows the policy of `videobot.modelslab.delays` (None or 0..1 hour).
    ``track_id`` is our own correlation id when the provider echoed it.
    """

    status: JobStatus
    provider_id: str | None
    eta_seconds: float | None
    output_urls: tuple[str, ...]
    message: str | None
    track_id: str | None = None


def raw_status(body: Mapping[str, object]) -> str | None:
    """The ``status`` field lower-cased and trimmed, or None when it is missing or not text."""
    value = body.get("status")
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value or None


def parse_provider_id(value: object) -> str | None:
    """A job id as text: the API sends integers or strings (and, rarely, integral floats)."""
    if isinstance(value, bool):  # bool is an int subclass; True is no job id
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip() or None
    return None


def provider_id_from_fetch_result(value: object) -> str | None:
    """The job id at the end of a ``fetch_result`` URL (``.../video-fusion/fetch/<id>``).

    A trailing slash, a query string or a fragment are ignored. None when the value is not a URL
    with a path, when the last path segment is the ``fetch`` route itself (no id after it), or when
    that segment does not look like an id.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        url = URL(value.strip())
    except ValueError:
        return None
    segments = [segment for segment in url.path.split("/") if segment]
    if not segments or segments[-1].lower() == "fetch":
        return None
    candidate = segments[-1]
    return candidate if _ID_TEXT.fullmatch(candidate) else None


def parse_track_id(value: object) -> str | None:
    """Our correlation id as echoed back (``track_id``): text or an integer, or None if unusable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _ID_TEXT.fullmatch(value) else None


def parse_eta(body: Mapping[str, object]) -> float | None:
    """Seconds until the job is likely done (``eta``), bounded by `bound_delay`; None if unusable."""
    return bound_delay(body.get("eta"))


def parse_retry_after(body: Mapping[str, object]) -> float | None:
    """Seconds to wait before the next request (``retry_after`` on a 429), bounded like ``eta``."""
    return bound_delay(body.get("retry_after"))


def extract_urls(value: object) -> tuple[str, ...]:
    """URLs from an ``output`` or ``proxy_links`` value: a list, one string, or ``{"0": url}``.

    Empty strings, non-text entries and duplicates are dropped; order is kept (object keys are taken
    in numeric order when they are numbers, since "10" must come after "2").
    """
    items: list[object]
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    elif isinstance(value, Mapping):
        items = [value[k] for k in sorted(value, key=_index_key)]
    else:
        items = []
    urls: list[str] = []
    for item in items:
        if isinstance(item, str):
            url = item.strip()
            if url and url not in urls:
                urls.append(url)
    return tuple(urls)


def is_http_url(text: str) -> bool:
    """True for an absolute http(s) URL with a host: the only kind of link we follow."""
    try:
        url = URL(text)
    except ValueError:
        return False
    return url.scheme in ("http", "https") and bool(url.host)


def _index_key(key: object) -> tuple[int, int, str]:
    text = str(key)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def _flatten_message(value: object) -> tuple[str | None, dict[str, list[str]]]:
    """Turn one message value into text plus the per-field errors it contained."""
    if isinstance(value, str):
        return (value.strip() or None), {}
    if isinstance(value, list | tuple):
        parts = [text for item in value if (text := _flatten_message(item)[0])]
        return ("; ".join(parts) or None), {}
    if isinstance(value, Mapping):
        # {"message": "..."} nested one level down is a wrapper, not a field called "message".
        if set(value) == {"message"}:
            return _flatten_message(value["message"])
        fields: dict[str, list[str]] = {}
        for key, errors in value.items():
            entries = errors if isinstance(errors, list | tuple) else [errors]
            texts = [text for entry in entries if (text := _flatten_message(entry)[0])]
            if texts:
                fields[str(key)] = texts
        text = "; ".join(f"{field}: {error}" for field, errors in fields.items() for error in errors)
        return (text or None), fields
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value), {}
    return None, {}


def extract_message(body: Mapping[str, object]) -> str | None:
    """The human-readable message, wherever and however the API put it.

    Looks at ``message``, ``messege``, ``error`` and ``errors`` in that order and takes the first
    that says something. Validation messages shaped ``{field: [errors]}`` become
    ``"field: error; field: error"``.
    """
    for key in _MESSAGE_KEYS:
        text, _ = _flatten_message(body.get(key))
        if text:
            return text
    return None


def extract_field_errors(body: Mapping[str, object]) -> dict[str, list[str]]:
    """The per-field validation errors from the first message field shaped ``{field: [errors]}``."""
    for key in _MESSAGE_KEYS:
        text, fields = _flatten_message(body.get(key))
        if fields:
            return fields
        if text:
            return {}
    return {}


def job_urls(body: Mapping[str, object]) -> tuple[str, ...]:
    """Every result URL in the envelope, best first, without duplicates.

    ``output`` (list, text or ``{"0": url}``), then ``proxy_links``, then ``output_url``; then
    ``future_links``, but only when the status is ``success``: before that they point at files that
    do not exist yet.
    """
    urls = (
        extract_urls(body.get("output"))
        + extract_urls(body.get("proxy_links"))
        + extract_urls(body.get("output_url"))
    )
    if raw_status(body) == "success":
        urls += extract_urls(body.get("future_links"))
    return tuple(dict.fromkeys(urls))


def job_id(body: Mapping[str, object]) -> str | None:
    """The job id from ``id``, or else from the end of ``fetch_result``; None when neither has one."""
    provider_id = parse_provider_id(body.get("id"))
    if provider_id is not None:
        return provider_id
    return provider_id_from_fetch_result(body.get("fetch_result"))


def parse_job(body: Mapping[str, object], *, default_id: str | None = None) -> ProviderJob:
    """Read a job envelope into a `ProviderJob`.

    Status mapping: ``success`` with at least one result URL is SUCCESS; ``error`` and ``failed``
    are FAILED; everything else (``processing``, ``queued``, unknown or missing values, and
    ``success`` without any URL) is PROCESSING, because the only safe reaction to an unknown state
    is to keep polling. The id comes from ``id``, else from ``fetch_result``, else ``default_id``
    (a fetch knows which job it asked about).
    """
    output_urls = job_urls(body)
    status_text = raw_status(body)
    if status_text in ERROR_STATUSES:
        status = JobStatus.FAILED
    elif status_text == "success" and output_urls:
        status = JobStatus.SUCCESS
    else:
        status = JobStatus.PROCESSING
    provider_id = job_id(body)
    return ProviderJob(
        status=status,
        provider_id=provider_id if provider_id is not None else default_id,
        eta_seconds=parse_eta(body),
        output_urls=output_urls,
        message=extract_message(body),
        track_id=parse_track_id(body.get("track_id")),
    )
