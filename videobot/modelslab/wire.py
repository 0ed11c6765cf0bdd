"""Reading ModelsLab's answers off the wire: bounded bodies, decoded envelopes, header waits, and the
small texts and numbers the client needs (hosted URLs, balances, secrets to scrub, log summaries)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

import aiohttp
from yarl import URL

from videobot.modelslab.classify import Reply
from videobot.modelslab.delays import delay_from_rate_limit_reset, delay_from_retry_after_header
from videobot.modelslab.envelope import extract_urls, is_http_url
from videobot.modelslab.errors import Transient

#: What a secret is replaced with in texts copied out of answers and exceptions.
REDACTED: Final = "[redacted]"


async def read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read the body, refusing more than ``limit`` bytes so a runaway answer cannot fill memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise Transient(f"ModelsLab answered with more than {limit} bytes", http_status=response.status)
        chunks.append(chunk)
    return b"".join(chunks)


def decode(http_status: int, raw: bytes, header_delay: float | None) -> Reply:
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed: object = json.loads(text)
    except (ValueError, RecursionError):
        parsed = None
    body = parsed if isinstance(parsed, dict) else None
    snippet = " ".join(text[:200].split())
    return Reply(http_status=http_status, body=body, snippet=snippet, header_delay=header_delay)


def query_form(text: str) -> str:
    """``text`` as aiohttp/yarl put it in a query string."""
    return URL("http://h/").with_query(k=text).raw_query_string[2:]


def header_delay(headers: Mapping[str, str]) -> float | None:
    """The wait the headers ask for: ``Retry-After``, else ``X-RateLimit-Reset`` (bounded)."""
    now = datetime.now(UTC)
    retry_after = delay_from_retry_after_header(headers.get("Retry-After"), now=now)
    if retry_after is not None:
        return retry_after
    return delay_from_rate_limit_reset(headers.get("X-RateLimit-Reset"), now=now)


def as_number(value: object) -> float | None:
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


def hosted_url(body: Mapping[str, object]) -> str | None:
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


def webhook_secrets(url: str) -> tuple[str, ...]:
    """The forms in which a webhook URL's secret can show up in a text: whole, or just its path."""
    forms = [url]
    try:
        path = URL(url).raw_path
    except ValueError:
        path = ""
    if len(path) >= 8:  # a path that short carries no secret, and scrubbing "/" would garble text
        forms.append(path)
    return tuple(sorted(forms, key=len, reverse=True))


def describe(fields: Mapping[str, object]) -> str:
    """The request fields for a debug log: never the key nor the webhook's path (a secret), long
    values (base64 uploads) shortened."""
    shown: dict[str, object] = {}
    for name, value in fields.items():
        if name == "key":
            continue
        if name == "webhook" and isinstance(value, str):
            try:
                shown[name] = f"{URL(value).origin()}/{REDACTED}"
            except ValueError:
                shown[name] = REDACTED
        elif isinstance(value, str) and len(value) > 120:
            shown[name] = f"{value[:60]}...({len(value)} chars)"
        else:
            shown[name] = value
    return json.dumps(shown, default=str)
